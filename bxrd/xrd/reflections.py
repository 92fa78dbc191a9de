"""The strongest reflections of a stick pattern, labelled by hkl, as JSON-ready records.

Used to name the 2θ regions an attribution points at (reference reflections per class).
"""

from __future__ import annotations

import numpy as np

from bxrd.xrd.sticks import StickPattern


def hkl_label(hkl: np.ndarray) -> str:
    """Miller indices as crystallographers write them: ``110``, or ``1 10 2`` past one digit.

    Negative indices keep their sign (``1-10``); shape of ``hkl``: (3,).
    """
    digits = [str(int(h)) for h in hkl]
    return "".join(digits) if all(abs(int(h)) < 10 for h in hkl) else " ".join(digits)


def strongest_reflections(
    sticks: StickPattern,
    two_theta_range: tuple[float, float],
    n: int | None = None,
    min_relative: float = 0.01,
) -> list[dict]:
    """Reflections inside ``two_theta_range`` (degrees 2θ), in 2θ order.

    Every stick of at least ``min_relative`` of the strongest, so that every reflection inside
    an attribution window can be named; ``n`` keeps only the ``n`` most intense of those.

    Returns:
        One ``{"two_theta": deg, "hkl": str, "intensity": float}`` per reflection.
    """
    lo, hi = two_theta_range
    on_grid = (sticks.two_theta >= lo) & (sticks.two_theta <= hi)
    strong = sticks.intensity >= min_relative * sticks.intensity.max()
    inside = np.nonzero(on_grid & strong)[0]
    top = inside[np.argsort(sticks.intensity[inside])[::-1][:n]]
    return [
        {
            "two_theta": round(float(sticks.two_theta[i]), 3),
            "hkl": hkl_label(sticks.hkl[i]),
            "intensity": round(float(sticks.intensity[i]), 2),
        }
        for i in sorted(top, key=lambda i: sticks.two_theta[i])
    ]
