"""Figures of attributions over 2θ, with the strongest regions marked."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bxrd.explain.attributions import Region


def attribution_figure(
    two_theta: np.ndarray,
    pattern: np.ndarray,
    attribution: np.ndarray,
    regions: list[Region],
    title: str = "",
) -> Figure:
    """Plot a pattern (top) and its attribution per 2θ (bottom), strongest regions shaded."""
    fig = Figure(figsize=(8, 4))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(two_theta, pattern, lw=0.8, color="k")
    top.set(ylabel="intensity (norm.)", title=title)
    bottom.plot(two_theta, attribution, lw=0.8, color="tab:red")
    bottom.set(xlabel="2θ (degrees)", ylabel="attribution")
    for k, r in enumerate(regions):
        for ax in (top, bottom):
            ax.axvspan(r.lo, r.hi, color="tab:orange", alpha=0.25)
        label = ", ".join(r.reflections[:3]) or f"{r.centre:.1f}°"
        top.annotate(
            label,
            (r.centre, 1.02 + 0.08 * (k % 2)),
            ha="center",
            fontsize=7,
            xycoords=("data", "axes fraction"),
        )
    fig.tight_layout()
    return fig
