"""The ``bxrd data build|ter|simulate`` commands (jsonargparse; ``--config`` everywhere).

``build`` and ``simulate`` take ``--backend loky|dask`` and ``--scheduler ADDRESS`` (or the same
keys in their YAML): the simulation runs on local processes, on a local Dask cluster (no
address) or on a running Dask scheduler; the dataset is the same, content hash included.
Ctrl-C stops a job with one line; finished stick files are kept and the same command resumes.
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
from bxrd.xrd.simulate_batch import Backend, compute_backend


@dataclass
class TERJob:
    """Run template element replacement and write CIFs plus ``manifest.jsonl``.

    Attributes:
        templates: template structure files or folders; ``builtin`` and ``generated`` name
            the built-in literature and tilt-system sets (None: the built-in set).
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
        n_jobs: parallel workers (-1: all cores, or all workers of a Dask cluster).
        backend: ``loky`` (local processes) or ``dask``.
        scheduler: Dask scheduler address (``tcp://host:8786``); None with ``dask``: a local
            Dask cluster.
    """

    structures: str | list[str] | None = None
    output: str = "data/sticks"
    wavelength: str = "CuKa"
    sim_range: tuple[float, float] = DEFAULT_SIM_RANGE
    n_jobs: int = -1
    backend: Backend = "loky"
    scheduler: str | None = None


@dataclass
class BuildJob(BuildConfig):
    """Build a labelled, split pattern dataset (the recipe of ``BuildConfig``, plus where).

    Attributes:
        backend: where structures are simulated: ``loky`` (local processes) or ``dask``.
        scheduler: Dask scheduler address (``tcp://host:8786``); None with ``dask``: a local
            Dask cluster.
    """

    backend: Backend = "loky"
    scheduler: str | None = None


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
    with compute_backend(job.backend, job.scheduler) as where:
        print(f"simulating on {where}", file=sys.stderr)
        report = simulate_to_dir(
            loaded.structures, job.output, metas, job.wavelength, job.sim_range, job.n_jobs
        )
    print(report.summary())


def run_build_job(job: BuildJob) -> None:
    """Execute a :class:`BuildJob`: the build, with simulation on the chosen backend."""
    with compute_backend(job.backend, job.scheduler) as where:
        print(f"simulating on {where}", file=sys.stderr)
        build_dataset(job)


DATA_COMMANDS: dict[str, tuple[type, Callable]] = {
    "build": (BuildJob, run_build_job),
    "ter": (TERJob, run_ter_job),
    "simulate": (SimulateJob, run_simulate_job),
}


def _job_parser(cls: type) -> ArgumentParser:
    parser = ArgumentParser(description=(cls.__doc__ or "").split("\n")[0])
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file with the options")
    parser.add_class_arguments(cls, None)
    return parser


def build_parser() -> tuple[ArgumentParser, dict[str, ArgumentParser]]:
    """Build the ``bxrd data`` parser; also return the parser of each subcommand."""
    data = ArgumentParser(
        prog="bxrd data", description="Build structures, stick patterns and datasets."
    )
    data_commands = data.add_subcommands(dest="data_command")
    job_parsers = {}
    for name, (cls, _) in DATA_COMMANDS.items():
        job_parsers[name] = _job_parser(cls)
        help_text = (cls.__doc__ or "").split("\n")[0]
        data_commands.add_subcommand(name, job_parsers[name], help=help_text)
    return data, job_parsers


def data_main(argv: list[str]) -> int:
    """Run ``bxrd data ...``; exit code 0, 2 on bad input, 130 on Ctrl-C (one line on stderr)."""
    parser, job_parsers = build_parser()
    args = parser.parse_args(argv)
    name = args.data_command
    cls, run = DATA_COMMANDS[name]
    namespace: Namespace = job_parsers[name].instantiate_classes(args[name])
    try:
        run(cls(**{f.name: namespace[f.name] for f in fields(cls)}))
    except BxrdInputError as exc:
        print(f"bxrd: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"bxrd: interrupted; finished files in {namespace['output']} are kept, run the same "
            "command again to resume",
            file=sys.stderr,
        )
        return 130
    return 0
