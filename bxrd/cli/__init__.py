"""The ``bxrd`` command: one dispatcher, one rule.

The first word names the command and the command alone decides who parses the rest:

* ``bxrd predict FILE...``: answers for measured patterns (:mod:`bxrd.cli.predict`).
* ``bxrd fit|validate|test --config YAML``: LightningCLI in subclass mode
  (:mod:`bxrd.cli.lightning`); ``bxrd lightning-predict --config YAML`` is LightningCLI's
  ``predict`` over the data module's prediction set.
* ``bxrd report --checkpoint CKPT... --dataset H5``: the uncertainty report.
* ``bxrd data build|ter|simulate``: datasets (:func:`bxrd.data.jobs.data_main`).
* ``bxrd experiments --config YAML``: the experiment suite (:mod:`bxrd.evaluation.command`).

Every command is a ``main(argv) -> exit code`` imported only when called, so ``bxrd predict``
never pays for the training stack.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from dataclasses import dataclass

from bxrd.errors import BxrdInputError
from bxrd.heap import retain_freed_memory


@dataclass(frozen=True)
class Command:
    """A subcommand: where its ``main(argv) -> int`` lives and one line of help."""

    target: str
    usage: str
    help: str

    def load(self, name: str):  # noqa: ANN201 (a callable argv -> int)
        """Import the command's entry point; a missing optional module is a clear error."""
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            raise BxrdInputError(
                f"`bxrd {name}` is not available in this installation ({module_name} is missing)"
            ) from None
        return getattr(module, attr)


COMMANDS: dict[str, Command] = {
    "predict": Command(
        "bxrd.cli.predict:predict_main",
        "predict FILE...",
        "answer for measured patterns (default: the shipped model)",
    ),
    "fit": Command(
        "bxrd.cli.lightning:fit_main", "fit --config YAML", "train a model (LightningCLI)"
    ),
    "validate": Command(
        "bxrd.cli.lightning:validate_main",
        "validate --config YAML --ckpt_path CKPT",
        "score a checkpoint on the validation split",
    ),
    "test": Command(
        "bxrd.cli.lightning:test_main",
        "test --config YAML --ckpt_path CKPT",
        "score a checkpoint on the test split",
    ),
    "lightning-predict": Command(
        "bxrd.cli.lightning:predict_main",
        "lightning-predict --config YAML",
        "LightningCLI predict over the data module's prediction set",
    ),
    "report": Command(
        "bxrd.cli.report:report_main",
        "report --checkpoint CKPT... --dataset H5",
        "uncertainty report (HTML + PNG + JSON)",
    ),
    "data": Command(
        "bxrd.data.jobs:data_main",
        "data build|ter|simulate",
        "build datasets, TER structures, stick patterns",
    ),
    "experiments": Command(
        "bxrd.evaluation.command:main",
        "experiments --config YAML",
        "the experiment suite (tables and figures of docs/RESULTS.md)",
    ),
}


def overview() -> str:
    """Return the text of ``bxrd --help``."""
    rows = []
    for c in COMMANDS.values():
        rows.append(f"  {c.usage}")
        rows.append(f"      {c.help}")
    return (
        "usage: bxrd COMMAND [options]\n\n"
        "Bayesian deep learning on powder X-ray diffraction patterns.\n\n"
        "commands:\n" + "\n".join(rows) + "\n\n`bxrd COMMAND --help` lists every option of a "
        "command."
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bxrd`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # a dependency scripts a function at import time; the deprecation is not the user's concern
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are written to files, never shown
    retain_freed_memory()  # rendering's large temporaries reused, not page-faulted anew
    if not argv or argv[0] in ("-h", "--help"):
        print(overview())
        return 0
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"bxrd: error: unknown command {name!r}\n\n{overview()}", file=sys.stderr)
        return 2
    try:
        return int(command.load(name)(rest) or 0)
    except BxrdInputError as exc:
        print(f"bxrd: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): nothing to say
        return 141
    except OSError as exc:  # a path the command must write or read: one line, its name
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"bxrd: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bxrd: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console script ``bxrd``: :func:`main`, then exit with its code.

    ``bxrd predict FILE...`` leaves without tearing the interpreter down (``os._exit`` after
    flushing): unloading torch, Captum and matplotlib takes ~0.7 s on 2 cores, a sixth of a
    cold prediction, and that command holds no open file by then. Every other command exits
    normally so that loggers and HDF5 files close.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] == ["predict"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
