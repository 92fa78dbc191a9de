"""Secondary-phase evidence of an answer: the peaks the main phase leaves, and who explains them.

Peaks are found on the pattern as the model saw it (model axis, background removed,
normalised to max 1; :func:`bxrd.explain.reflections.find_peaks` with a prominence of
:data:`PEAK_PROMINENCE` of the strongest peak and 5 σ of the noise). The main phase is the
predicted class's reference fitted to the pattern (the answer's ``reference["reflections"]``,
2θ and hkl): its reciprocal metric g is refitted from those reflections by least squares
(1/d² = q(hkl) · g, :data:`METRICS`: the most symmetric metric that reproduces them within
0.01°, since a family is listed by one representative hkl), and every hkl of that lattice
inside the range is a main-phase position. The listed reflections are the strong ones of the
reference composition; another composition makes others strong, and the lattice centring is
not known here: all hkl are taken, erring towards explaining a peak by the main phase. A
peak within :data:`MAIN_TOLERANCE_DEG` of one belongs to the main phase. Every peak is then moved to
the measurement's own wavelength through its d-spacing, and the shipped library of secondary
phases and substrates (``bxrd/checkpoints/phases.npz``) is matched against the others
(:func:`bxrd.xrd.phase_match.match_phases`, tolerance
:data:`~bxrd.xrd.phase_match.TOLERANCE_DEG` in 2θ at the measurement's wavelength).

An explained answer of a mixture class (``other``; :data:`bxrd.data.class_names.NO_STRUCTURE`)
has no reference and no main phase to subtract: every peak is matched against the library, so
a film that is mostly PbI2 says so. Without an explanation (``--explain none``), or for a
class without reference reflections, nothing is claimed: both fields stay None.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from bxrd.data.class_names import NO_STRUCTURE
from bxrd.explain.reflections import find_peaks, metric_rows, parse_hkl
from bxrd.inference.answer import Answer
from bxrd.inference.loading import shipped
from bxrd.xrd.axis import Axis
from bxrd.xrd.phase_match import consistent_lines, match_phases
from bxrd.xrd.phase_sticks import PhaseSticks
from bxrd.xrd.wavelength import d_from_two_theta, two_theta_from_d

#: Smallest peak looked at, as a fraction of the strongest (a 10 % impurity's strongest line
#: is typically 5–30 % of the main phase's).
PEAK_PROMINENCE = 0.03
#: A peak this close (degrees 2θ on the model axis) to a main-phase position is the main
#: phase's (the tolerance of the reference fit's own unexplained-peak list; it also takes in
#: a Kα2 shoulder, 0.2–0.3° above its Kα1 peak at 2θ = 60–80° with Cu).
MAIN_TOLERANCE_DEG = 0.3
#: Largest Miller index enumerated for the main phase's lattice.
MAX_INDEX = 12
#: Metrics tried, most symmetric first: the free directions of g = (A, B, C, D, E, F) in
#: 1/d² = h²A + k²B + l²C + klD + hlE + hkF (cubic, hexagonal, tetragonal, orthorhombic,
#: monoclinic with b unique, triclinic).
METRICS: tuple[np.ndarray, ...] = tuple(
    np.array(rows, dtype=float)
    for rows in (
        [[1, 1, 1, 0, 0, 0]],
        [[1, 1, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0]],
        [[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]],
        np.eye(6)[[0, 1, 2]],
        np.eye(6)[[0, 1, 2, 4]],
        np.eye(6),
    )
)


def main_phase_positions(
    reflections: Sequence[dict], wavelength: float, two_theta_range: tuple[float, float]
) -> np.ndarray:
    """2θ (degrees) of every hkl of the lattice the fitted reflections index, inside the range.

    Args:
        reflections: ``{"two_theta", "hkl"}`` at ``wavelength`` (Å); without readable hkl
            (or fewer than 3) their listed positions are returned.
        wavelength: Å.
        two_theta_range: degrees.
    """
    listed = np.array([r["two_theta"] for r in reflections], dtype=float)
    try:
        hkl = np.array([parse_hkl(str(r["hkl"])) for r in reflections])
    except (KeyError, ValueError):
        return listed
    if len(hkl) < 3:
        return listed
    inv_d2 = d_from_two_theta(listed, wavelength) ** -2.0
    rows = metric_rows(hkl)
    for basis in METRICS:
        design = rows @ basis.T
        if np.linalg.matrix_rank(design) >= len(hkl):  # as many unknowns as lines: no test
            continue
        g = basis.T @ np.linalg.lstsq(design, inv_d2, rcond=None)[0]
        q_fit = rows @ g
        if np.any(q_fit <= 0):  # not a metric: some listed plane would have no spacing
            continue
        fit = two_theta_from_d(q_fit**-0.5, wavelength)  # NaN beyond reach: not accepted
        if np.abs(fit - listed).max() < 0.01:
            break
    else:
        return listed
    idx = np.arange(-MAX_INDEX, MAX_INDEX + 1)
    grid = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), -1).reshape(-1, 3)
    q = metric_rows(grid[np.any(grid != 0, axis=1)]) @ g
    tt = two_theta_from_d(q[q > 0] ** -0.5, wavelength)
    tt = tt[np.isfinite(tt)]
    lo, hi = two_theta_range
    return np.unique(np.round(tt[(tt >= lo - 1) & (tt <= hi + 1)], 3))


@lru_cache(maxsize=1)
def shipped_phases() -> PhaseSticks:
    """Load the package's library of secondary phases and substrates (once)."""
    return PhaseSticks.load(shipped("phases.npz"))


def _round(x: float) -> float:
    return round(float(x), 3)


def secondary_phase_evidence(
    intensity: np.ndarray,
    axis: Axis,
    wavelength: float,
    measured_range: tuple[float, float],
    main_reflections: Sequence[dict],
    library: PhaseSticks,
) -> tuple[list[dict], list[dict]]:
    """Secondary phases with enough evidence, and the peaks nothing explains.

    Args:
        intensity: the prepared pattern on ``axis``, shape (L,).
        axis: the model's 2θ grid and wavelength.
        wavelength: the measurement's wavelength, Å (angles are reported at it).
        measured_range: 2θ range on ``axis`` that the measurement covers, degrees.
        main_reflections: fitted main-phase reflections (``two_theta`` on ``axis``).
        library: candidate phases.

    Returns:
        ``secondary_phases`` records (see the README's answer schema) best first, and
        ``unexplained_peaks``: ``{"two_theta", "d", "height", "consistent_with"}`` per peak
        explained neither by the main phase nor by a reported phase.
    """
    lo, hi = measured_range
    found = find_peaks(intensity, axis.two_theta, PEAK_PROMINENCE)
    found = found[(found >= lo) & (found <= hi)]
    top = float(np.max(intensity)) or 1.0
    height = np.interp(found, axis.two_theta, intensity) / top
    main = main_phase_positions(main_reflections, axis.wavelength, measured_range)
    explained = (
        np.abs(found[:, None] - main[None, :]).min(axis=1) <= MAIN_TOLERANCE_DEG
        if main.size
        else np.zeros(len(found), bool)
    )
    d = d_from_two_theta(found, axis.wavelength)
    peaks = two_theta_from_d(d, wavelength)
    edges = two_theta_from_d(d_from_two_theta(np.array([lo, hi]), axis.wavelength), wavelength)
    matches = match_phases(library, peaks, explained, wavelength, (edges[0], edges[1]))
    phases, used = [], set()
    for m in matches:
        used.update(k for _, _, k in m.matched)
        phases.append(
            {
                "formula": library.formulas[m.index],
                "name": library.names[m.index],
                "space_group": library.space_groups[m.index],
                "source": library.sources[m.index],
                "score": round(m.score, 3),
                "chance": float(f"{m.chance:.2g}"),
                "orientation": m.orientation,
                "matched": [
                    {
                        "hkl": hkl,
                        "two_theta_expected": _round(expected),
                        "two_theta_observed": _round(peaks[k]),
                        "d_observed": round(float(d[k]), 4),
                    }
                    for hkl, expected, k in m.matched
                ],
                "missing": m.missing,
            }
        )
    unexplained = [
        {
            "two_theta": _round(peaks[k]),
            "d": round(float(d[k]), 4),
            "height": _round(height[k]),
            "consistent_with": consistent_lines(library, float(peaks[k]), wavelength),
        }
        for k in range(len(found))
        if not explained[k] and k not in used
    ]
    return phases, unexplained


def add_secondary_phases(
    answers: Sequence[Answer],
    intensities: Sequence[np.ndarray],
    axis: Axis,
    explained: bool,
    library: PhaseSticks | None = None,
) -> None:
    """Fill ``secondary_phases`` and ``unexplained_peaks`` of explained answers.

    Checked: answers with a fitted reference, and answers of a mixture class (every peak a
    candidate), when the chunk was explained.

    Args:
        answers: answers of one chunk.
        intensities: their prepared patterns on ``axis`` (same order), shape (L,) each.
        axis: the model's axis.
        explained: the answers were explained (``--explain fast`` or ``full``); False: none is
            checked.
        library: candidate phases (default: :func:`shipped_phases`).
    """
    if not explained:
        return
    for a, y in zip(answers, intensities, strict=True):
        refs = (a.reference or {}).get("reflections") or []
        if not (refs or a.top_label in NO_STRUCTURE):
            continue
        if a.wavelength is None or a.measured_range is None:
            continue
        a.secondary_phases, a.unexplained_peaks = secondary_phase_evidence(
            y, axis, a.wavelength, a.measured_range, refs, library or shipped_phases()
        )
