"""Simulate many structures in parallel into a folder of stick files; resumable and atomic.

Parallelism goes through joblib, so a user with a cluster can run the same call inside
``with joblib.parallel_backend("dask"):`` (or Ray's backend) without any change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from joblib import Parallel, delayed
from pymatgen.core import Structure
from tqdm.auto import tqdm

from bxrd.xrd.simulate import DEFAULT_SIM_RANGE, simulate_sticks


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


def _simulate_one(
    structure_id: str,
    structure: Structure,
    meta: dict,
    out_dir: Path,
    wavelength: str | float,
    two_theta_range: tuple[float, float],
) -> tuple[str, str | None]:
    try:
        sticks = simulate_sticks(structure, wavelength, two_theta_range, meta=meta)
        sticks.save(stick_path(out_dir, structure_id))
    except Exception as exc:  # one bad structure must not stop the batch
        return structure_id, f"{type(exc).__name__}: {exc}"
    return structure_id, None


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
        n_jobs: joblib workers (-1: all cores).
        progress: show a progress bar.
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
        delayed(_simulate_one)(
            sid, s, metas.get(sid, {"id": sid}), out_dir, wavelength, two_theta_range
        )
        for sid, s in todo
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
    for sid, error in tqdm(results, total=len(todo), desc="simulate", disable=not progress):
        if error is None:
            report.done.append(sid)
            if on_done is not None:
                on_done(sid)
        else:
            report.failed.append((sid, error))
    return report
