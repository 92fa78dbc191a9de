"""Simulate many structures in parallel into a folder of stick files; resumable and atomic.

Parallelism goes through joblib: local worker processes (``loky``) or a Dask cluster
(:func:`compute_backend`: a local ``dask.distributed`` cluster, or a running scheduler by
address). Workers only compute; the calling process writes each stick file as its result
arrives, so remote workers need no shared file system, an interrupted batch keeps every
finished file, and the result does not depend on the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from joblib import Parallel, delayed, parallel_config
from pymatgen.core import Structure
from tqdm.auto import tqdm

from bxrd.errors import BxrdInputError
from bxrd.xrd.simulate import DEFAULT_SIM_RANGE, simulate_sticks
from bxrd.xrd.sticks import StickPattern

Backend = Literal["loky", "dask"]


@dataclass
class SimulationReport:
    """Outcome of a batch: ids simulated now, ids already on disk, failures (id, message)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line, plus one line per failure."""
        head = (
            f"simulated {len(self.done)}, already done {len(self.skipped)}, "
            f"failed {len(self.failed)}"
        )
        return "\n".join([head] + [f"  failed {i}: {msg}" for i, msg in self.failed])


def stick_path(out_dir: str | Path, structure_id: str) -> Path:
    """Where the sticks of ``structure_id`` live inside ``out_dir``."""
    return Path(out_dir) / f"{structure_id.replace('/', '_')}.npz"


@contextmanager
def compute_backend(
    backend: Backend = "loky", scheduler: str | None = None, n_workers: int | None = None
) -> Iterator[str]:
    """Run the joblib calls inside the block on ``backend``; yields a one-line description.

    Args:
        backend: ``loky`` (local worker processes) or ``dask``.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); None with
            ``dask``: start a local ``dask.distributed`` cluster for the block.
        n_workers: workers of a local Dask cluster (None: one per core).

    Raises:
        BxrdInputError: unknown backend, a scheduler without ``dask``, dask.distributed not
            installed, or a scheduler that cannot be reached.
    """
    if backend not in ("loky", "dask"):
        raise BxrdInputError(f"unknown backend {backend!r}; choose loky or dask")
    if backend == "loky":
        if scheduler is not None:
            raise BxrdInputError("a scheduler address needs --backend dask")
        yield "local processes (loky)"
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BxrdInputError(
            "the dask backend needs dask.distributed: pip install 'bxrd[dask]'"
        ) from None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=None, silence_logs=40
        )
    else:
        cluster = None
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout="30s")
    except OSError as exc:
        raise BxrdInputError(f"cannot reach the Dask scheduler {scheduler} ({exc})") from None
    try:
        with parallel_config(backend="dask"):
            workers = len(client.scheduler_info()["workers"])
            where = "local Dask cluster" if cluster is not None else "Dask scheduler"
            yield f"{where} {client.scheduler.address}, {workers} workers"
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _simulate_one(
    structure_id: str,
    structure: Structure,
    meta: dict,
    wavelength: str | float,
    two_theta_range: tuple[float, float],
) -> tuple[str, StickPattern | None, str | None]:
    try:
        sticks = simulate_sticks(structure, wavelength, two_theta_range, meta=meta)
    except Exception as exc:  # one bad structure must not stop the batch
        return structure_id, None, f"{type(exc).__name__}: {exc}"
    return structure_id, sticks, None


def simulate_to_dir(
    structures: dict[str, Structure],
    out_dir: str | Path,
    metas: dict[str, dict] | None = None,
    wavelength: str | float = "CuKa",
    two_theta_range: tuple[float, float] = DEFAULT_SIM_RANGE,
    n_jobs: int = -1,
    progress: bool = True,
    on_done: Callable[[str], None] | None = None,
) -> SimulationReport:
    """Simulate each structure to ``out_dir/<id>.npz``, skipping ids whose file exists.

    Args:
        structures: id → structure.
        out_dir: folder of stick files (created).
        metas: id → provenance dict stored in the stick file.
        wavelength: name or Å.
        two_theta_range: simulated range, degrees 2θ.
        n_jobs: joblib workers (-1: all cores, or all workers of the active Dask cluster);
            run inside :func:`compute_backend` to use a cluster.
        progress: show a progress bar (structures done, structures/s).
        on_done: called with each id as it finishes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = SimulationReport()
    todo = []
    for sid, structure in structures.items():
        if stick_path(out_dir, sid).exists():
            report.skipped.append(sid)
        else:
            todo.append((sid, structure))
    metas = metas or {}
    jobs = (
        delayed(_simulate_one)(sid, s, metas.get(sid, {"id": sid}), wavelength, two_theta_range)
        for sid, s in todo
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
    bar = tqdm(results, total=len(todo), desc="simulate", unit="structure", disable=not progress)
    for sid, sticks, error in bar:
        if sticks is not None:
            sticks.save(stick_path(out_dir, sid))
            report.done.append(sid)
            if on_done is not None:
                on_done(sid)
        else:
            report.failed.append((sid, error))
    return report
