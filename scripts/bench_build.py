"""Build throughput (structures/s) on local processes and on a local Dask cluster.

Runs the same recipe (the quickstart build: built-in and generated templates with TER) from
scratch with ``--backend loky`` and ``--backend dask`` (a local ``dask.distributed`` cluster
of ``--workers`` processes), into ``data/bench_build/<backend>/``, and checks that both give
the same content hash. Throughput counts every structure of the dataset over the whole build
(labelling and splits run in the calling process; simulation is the parallel step).

    python scripts/bench_build.py [--workers 2]

Last line: ``loky_structures_per_s=<x> dask_structures_per_s=<y> same_hash=<True|False>``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.store import PatternStore
from bxrd.xrd.simulate_batch import compute_backend

ROOT = Path(__file__).resolve().parents[1]


def timed_build(backend: str, workers: int) -> tuple[float, int, str]:
    """Build from scratch on ``backend``; return seconds, structures and content hash."""
    out = ROOT / "data" / "bench_build" / backend
    shutil.rmtree(out, ignore_errors=True)  # stick files would make the rerun a resume
    config = BuildConfig(output=str(out), n_jobs=workers)
    with compute_backend(backend, n_workers=workers if backend == "dask" else None) as where:
        t0 = time.perf_counter()
        path = build_dataset(config, progress=False)
        seconds = time.perf_counter() - t0
    store = PatternStore(path)
    structures = len(set(store.provenance("structure_id")))
    print(f"{backend}: {where}: {structures} structures in {seconds:.1f} s", flush=True)
    return seconds, structures, store.stored_hash


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=2, help="processes on either backend")
    args = p.parse_args()
    rates, hashes = {}, {}
    for backend in ("loky", "dask"):
        seconds, n, hashes[backend] = timed_build(backend, args.workers)
        rates[backend] = n / seconds
    print(
        f"loky_structures_per_s={rates['loky']:.1f} dask_structures_per_s={rates['dask']:.1f} "
        f"same_hash={hashes['loky'] == hashes['dask']}"
    )


if __name__ == "__main__":
    main()
