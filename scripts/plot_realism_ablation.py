"""Render one structure with every realism option on, then with each one off, into a PNG.

Rows, top to bottom: the plain simulation (no realism), everything on, then one row per switch
of :class:`bxrd.xrd.realism.RealismConfig` turned off (``subtract_background`` off shows the
pattern before preparation: background, hump, air scatter and counts still in it). Each row
uses the same seed; a switch that draws no random numbers when off shifts the later draws, so
compare shapes, not single peaks. An optional measured pattern (``--measured``) is added at the
bottom, prepared by :func:`bxrd.xrd.prepare.prepare_measured`.

    PYTHONPATH=. python scripts/plot_realism_ablation.py --out runs/realism_ablation.png
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bxrd.crystal.builtin import builtin_templates  # noqa: E402
from bxrd.xrd.augment import AugmentConfig, Augmenter  # noqa: E402
from bxrd.xrd.grid import TwoThetaGrid  # noqa: E402
from bxrd.xrd.pattern_io import convert_wavelength, read_pattern  # noqa: E402
from bxrd.xrd.prepare import prepare_measured  # noqa: E402
from bxrd.xrd.realism import SWITCHES, RealismConfig  # noqa: E402
from bxrd.xrd.render import Renderer  # noqa: E402
from bxrd.xrd.simulate import simulate_sticks  # noqa: E402
from bxrd.xrd.stick_batch import StickBatch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", default="CaTiO3_Pnma")
    parser.add_argument("--phase-dir", default="../shared/data/structures/binaries_mp")
    parser.add_argument("--measured", default=None, help="a measured pattern file to add")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/realism_ablation.png")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    grid, lam = TwoThetaGrid(), 1.54184
    sticks = simulate_sticks(builtin_templates()[args.template].structure, lam)
    batch = StickBatch.from_patterns([sticks])
    full = RealismConfig(
        kbeta=True, scan_range=True, phase_dir=args.phase_dir, phase_probability=1.0
    )
    rows: list[tuple[str, RealismConfig | None]] = [("plain (no realism)", None), ("all on", full)]
    rows += [(f"{s} off", full.without(s)) for s in SWITCHES]
    renderer = Renderer(grid, lam, min_size_nm=10.0)
    curves = []
    for name, cfg in rows:
        aug = Augmenter(renderer, AugmentConfig(methods=("size",), mode="all", realism=cfg))
        y, _ = aug(batch, torch.Generator().manual_seed(args.seed))
        curves.append((name, y[0].numpy()))
    if args.measured:
        m = convert_wavelength(read_pattern(args.measured, "CuKa"), lam)
        x = grid.values
        y = np.interp(x, m.two_theta, m.intensity, left=0.0, right=0.0)
        inside = (x >= m.two_theta[0]) & (x <= m.two_theta[-1])
        prepared = prepare_measured(y, inside, grid.step)
        curves.append((f"measured: {Path(args.measured).name}", prepared))

    fig, axes = plt.subplots(len(curves), 1, figsize=(11, 1.25 * len(curves)), sharex=True)
    for ax, (name, y) in zip(axes, curves, strict=True):
        ax.plot(grid.values, y, lw=0.6, color="k")
        ax.text(0.995, 0.8, name, transform=ax.transAxes, ha="right", fontsize=8)
        ax.set_yticks([])
        ax.set_ylim(-0.02, 1.05)
    axes[-1].set_xlabel("2θ (degrees, Cu Kα)")
    fig.suptitle(f"{args.template}: realism ablation (seed {args.seed})", fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
