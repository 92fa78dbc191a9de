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

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from bxrd.crystal.ter import TERConfig, run_ter, write_ter
from bxrd.data.build import BuildConfig, build_dataset, load_templates
from bxrd.errors import BxrdInputError
from bxrd.xrd.simulate import DEFAULT_SIM_RANGE


@dataclass
class TERJob:
    """Run template element replacement and write CIFs plus ``manifest.jsonl``.

    Attributes:
        templates: template structure files or folders (None: the built-in set).
        output: output folder.
        ter: TER options.
    """

    templates: str | list[str] | None = None
    output: str = "data/ter"
    ter: TERConfig = field(default_factory=TERConfig)


@dataclass
class SimulateJob:
    """Simulate stick patterns of structure files into a folder (resumable).

    Attributes:
        structures: structure files or folders (CIF, mCIF, pymatgen JSON).
        output: folder of ``<id>.npz`` stick files; existing ones are kept.
        wavelength: name (CuKa, MoKa1, ...) or Å.
        sim_range: simulated range, degrees 2θ.
        n_jobs: parallel workers (-1: all cores).
    """

    structures: str | list[str] | None = None
    output: str = "data/sticks"
    wavelength: str = "CuKa"
    sim_range: tuple[float, float] = DEFAULT_SIM_RANGE
    n_jobs: int = -1


def run_ter_job(job: TERJob) -> None:
    """Execute a :class:`TERJob` and print its summary."""
    templates, skipped = load_templates(job.templates)
    for msg in skipped:
        print(f"skipped template {msg}")
    result = run_ter(templates, job.ter)
    manifest = write_ter(result, job.output)
    print(result.summary())
    print(f"wrote {len(result.structures)} CIFs and {manifest}")


def run_simulate_job(job: SimulateJob) -> None:
    """Execute a :class:`SimulateJob` and print its summary."""
    from bxrd.crystal.io import load_structures
    from bxrd.xrd.simulate_batch import simulate_to_dir

    if not job.structures:
        raise BxrdInputError("give --structures: files or folders of structures")
    loaded = load_structures(job.structures)
    print(loaded.summary())
    metas = {sid: {"id": sid, "source": str(p)} for sid, p in loaded.paths.items()}
    report = simulate_to_dir(
        loaded.structures, job.output, metas, job.wavelength, job.sim_range, job.n_jobs
    )
    print(report.summary())


def run_build_job(job: BuildConfig) -> None:
    """Execute a :class:`~bxrd.data.build.BuildConfig`."""
    build_dataset(job)


DATA_COMMANDS: dict[str, tuple[type, Callable]] = {
    "build": (BuildConfig, run_build_job),
    "ter": (TERJob, run_ter_job),
    "simulate": (SimulateJob, run_simulate_job),
}


def _job_parser(cls: type) -> ArgumentParser:
    parser = ArgumentParser(description=(cls.__doc__ or "").split("\n")[0])
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file with the options")
    parser.add_class_arguments(cls, None)
    return parser


def build_parser() -> tuple[ArgumentParser, dict[str, ArgumentParser]]:
    """Build the ``bxrd`` parser; also return the parser of each ``data`` subcommand."""
    parser = ArgumentParser(
        prog="bxrd", description="Bayesian deep learning on powder X-ray diffraction patterns."
    )
    commands = parser.add_subcommands(dest="command")
    data = ArgumentParser(description="Build structures, stick patterns and datasets.")
    commands.add_subcommand("data", data, help="Build structures, stick patterns and datasets.")
    data_commands = data.add_subcommands(dest="data_command")
    job_parsers = {}
    for name, (cls, _) in DATA_COMMANDS.items():
        job_parsers[name] = _job_parser(cls)
        help_text = (cls.__doc__ or "").split("\n")[0]
        data_commands.add_subcommand(name, job_parsers[name], help=help_text)
    return parser, job_parsers


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
    except BxrdInputError as exc:
        print(f"bxrd: error: {exc}", file=sys.stderr)
        return 2
    parser, job_parsers = build_parser()
    args = parser.parse_args(argv)
    if args.command == "data":
        name = args.data.data_command
        cls, run = DATA_COMMANDS[name]
        namespace: Namespace = job_parsers[name].instantiate_classes(args.data[name])
        try:
            run(cls(**{f.name: namespace[f.name] for f in fields(cls)}))
        except BxrdInputError as exc:
            print(f"bxrd: error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
