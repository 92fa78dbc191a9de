"""Figures of attributions over 2θ, with the strongest regions marked; label placement."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bxrd.explain.attributions import Region


def place_labels(fig: Figure, texts: list[Text], rows: int, dy: float) -> None:
    """Shift each text by ``dy`` (in its own coordinates) per row until it overlaps no other.

    Texts are placed in list order (most important first); one that fits in no row is hidden
    (its content is listed elsewhere: the report's tables, the answer's text).
    """
    renderer = fig.canvas.get_renderer()
    placed: list = []
    for t in texts:
        x, y = t.get_position()
        for row in range(rows):
            t.set_position((x, y + row * dy))
            box = t.get_window_extent(renderer).expanded(1.08, 1.1)
            if not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
        else:
            t.set_visible(False)


def attribution_figure(
    two_theta: np.ndarray,
    pattern: np.ndarray,
    attribution: np.ndarray,
    regions: list[Region],
    title: str = "",
) -> Figure:
    """Plot a pattern (top) and its attribution per 2θ (bottom), strongest regions shaded.

    Each region is labelled inside the top panel with every reference reflection (hkl) in
    it, below the title, in up to three rows so that no label overlaps another.
    """
    fig = Figure(figsize=(8, 4.4))
    FigureCanvasAgg(fig)  # a renderer for label placement
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(two_theta, pattern, lw=0.8, color="k")
    top.set(ylabel="intensity (norm.)", ylim=(0, 1.45 * max(float(np.max(pattern)), 1e-12)))
    top.set_title(title, fontsize=10)
    bottom.plot(two_theta, attribution, lw=0.8, color="tab:red")
    bottom.set(xlabel="2θ (degrees)", ylabel="attribution (Δp)")
    labels = []
    for r in regions:
        for ax in (top, bottom):
            ax.axvspan(r.lo, r.hi, color="tab:orange", alpha=0.25)
        text = ", ".join(f"({h})" for h in r.reflections) or f"{r.centre:.1f}°"
        labels.append(
            top.text(r.centre, 0.9, text, ha="center", va="center", fontsize=7,
                     transform=top.get_xaxis_transform())
        )  # fmt: skip
    fig.tight_layout()
    place_labels(fig, labels, rows=3, dy=-0.1)
    return fig
