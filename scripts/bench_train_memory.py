"""Peak memory of one training epoch (with its validation pass) against the size of the store.

Makes a small dataset (built-in templates), then stores of N patterns by replicating its rows
(streamed to HDF5, so making them is cheap in memory too) under ``data/bench_memory/``, and
runs, in a fresh process per store, one epoch of ``Trainer.fit``: hash check of the file,
on-the-fly training batches, validation over every stored validation pattern (about a fifth
of the store). Peak resident memory should not grow with N.

    python scripts/bench_train_memory.py                     # N = 20,000 and 200,000
    python scripts/bench_train_memory.py --patterns 200000   # one size

Last line: ``peak_rss_mb=<at the largest N> growth_mb=<largest - smallest>``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "bench_memory"


def base_dataset() -> Path:
    from bxrd.crystal.ter import TERConfig
    from bxrd.data.build import BuildConfig, build_dataset
    from bxrd.data.splits import SplitConfig

    path = OUT / "base" / "dataset.h5"
    if not path.is_file():
        cfg = BuildConfig(
            output=str(path.parent),
            templates=["builtin"],
            ter=TERConfig(max_per_template=4),
            split=SplitConfig(vss_val_fraction=0.25),
            n_augmented=3,
        )
        build_dataset(cfg, progress=False)
    return path


def replicated_store(base: Path, n: int) -> Path:
    """Write a store of ``n`` patterns: the base rows repeated, block by block."""
    from bxrd.data.store import PatternSet, load_pattern_set, save_pattern_chunks

    path = OUT / f"store_{n}.h5"
    if path.is_file():
        return path
    data = load_pattern_set(base)
    rows = np.arange(n) % len(data)
    head = PatternSet(
        data.patterns[:0],
        data.two_theta,
        data.wavelength,
        {k: v[rows] for k, v in data.labels.items()},
        data.classes,
        {k: [v[i] for i in rows] for k, v in data.provenance.items()},
        {**data.config, "replicated_to": n},
        data.sticks,
    )
    blocks = (data.patterns[rows[i : i + 4096]] for i in range(0, n, 4096))
    t0 = time.perf_counter()
    save_pattern_chunks(head, blocks, path)
    print(f"wrote {path} ({n} patterns) in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def run_epoch(store: Path) -> None:
    """One epoch of training + validation; print the peak resident memory (MB)."""
    import pytorch_lightning as pl

    from bxrd.data.datamodule import XRDDataModule
    from bxrd.models.vgg1d import VGG1DConfig
    from bxrd.uq.mc_dropout import MCDropoutClassifier

    dm = XRDDataModule(str(store), samples_per_epoch=1024, batch_size=256)
    model = MCDropoutClassifier(
        dm.n_classes,
        dm.in_length,
        backbone=VGG1DConfig(channels=[8, 16, 32], hidden=32),
        num_samples=2,
    )
    trainer = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )
    t0 = time.perf_counter()
    trainer.fit(model, dm)
    n_val = len(dm.val_set)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"patterns={len(dm.store)} val_patterns={n_val} seconds={time.perf_counter() - t0:.0f} "
        f"peak_rss_mb={peak:.0f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--patterns", type=int, nargs="+", default=[20_000, 200_000])
    p.add_argument("--run", type=Path, help=argparse.SUPPRESS)  # child process: one store
    args = p.parse_args()
    if args.run:
        run_epoch(args.run)
        return
    base = base_dataset()
    peaks = []
    for n in sorted(args.patterns):
        store = replicated_store(base, n)
        child = [sys.executable, __file__, "--run", str(store)]
        line = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        line = line.strip().splitlines()[-1]
        print(line, flush=True)
        peaks.append(float(line.rsplit("peak_rss_mb=", 1)[1]))
    print(f"peak_rss_mb={peaks[-1]:.0f} growth_mb={peaks[-1] - peaks[0]:.0f}")


if __name__ == "__main__":
    main()
