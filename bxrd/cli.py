"""The ``bxrd`` command.

* ``bxrd fit|validate|test|predict --config configs/<experiment>.yaml``: LightningCLI in
  subclass mode (the YAML picks the model with ``class_path``); after ``fit`` the post-hoc
  step of the model runs (Laplace posterior, temperature scaling) and ``final.ckpt`` is
  written next to the run's checkpoints.
* ``bxrd predict FILE... [--checkpoint CKPT]``: answer for measured patterns (without
  ``--config``); ``--json`` for machines.
* ``bxrd data build|ter|simulate``: datasets (jsonargparse, ``--config`` and
  ``--print_config`` everywhere).
* ``bxrd report --checkpoint CKPT... --dataset H5``: the uncertainty report.
"""

from __future__ import annotations

import os
import sys
import warnings

from bxrd.errors import BxrdInputError

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
OVERVIEW = """usage: bxrd COMMAND [options]

Bayesian deep learning on powder X-ray diffraction patterns.

commands:
  predict FILE...            answer for measured patterns (default: the shipped model)
  fit --config YAML          train a model (LightningCLI; YAML composed from configs/)
  validate|test --config YAML --ckpt_path CKPT
                             score a checkpoint on the validation / test split
  predict --config YAML      LightningCLI prediction over the data module's test set
  report --checkpoint CKPT... --dataset H5
                             uncertainty report (HTML + PNG + JSON)
  data build|ter|simulate    build datasets, TER structures, stick patterns

`bxrd COMMAND --help` lists every option of a command."""


def _wants_lightning(argv: list[str]) -> bool:
    if not argv or argv[0] not in LIGHTNING_COMMANDS:
        return False
    if argv[0] != "predict":
        return True
    return any(
        a.startswith(("--config", "--model", "--data", "--trainer", "--print_config"))
        for a in argv[1:]
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bxrd`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # a dependency scripts a function at import time; the deprecation is not the user's concern
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    if not argv or argv[0] in ("-h", "--help"):
        print(OVERVIEW)
        return 0
    try:
        if _wants_lightning(argv):
            from bxrd.lightning_cli import run_lightning

            run_lightning(argv)
            return 0
        if argv[0] == "predict":
            from bxrd.report.predict_command import predict_main

            return predict_main(argv[1:])
        if argv[0] == "report":
            from bxrd.report.report_command import report_main

            return report_main(argv[1:])
        if argv[0] == "data":
            from bxrd.data.jobs import data_main

            return data_main(argv[1:])
    except BxrdInputError as exc:
        print(f"bxrd: error: {exc}", file=sys.stderr)
        return 2
    print(f"bxrd: error: unknown command {argv[0]!r}\n\n{OVERVIEW}", file=sys.stderr)
    return 2


def run() -> None:
    """Console script ``bxrd``: :func:`main`, then exit with its code.

    ``bxrd predict FILE...`` leaves without tearing the interpreter down (``os._exit`` after
    flushing): unloading torch, Captum and matplotlib takes ~0.7 s on 2 cores, a sixth of a
    cold prediction, and that command holds no open file by then. Every other command exits
    normally so that loggers and HDF5 files close.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv and argv[0] == "predict" and not _wants_lightning(argv):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
