"""Which candidate phases explain the peaks a main phase leaves unexplained.

Given observed peak positions (degrees 2θ at the measurement's wavelength λ), each flagged as
explained by the main phase or not, every library phase is put at λ (:mod:`bxrd.xrd.phase_sticks`)
and its lines inside the measured range are compared with the peaks, under two hypotheses:

* **powder** (random orientation): all lines of at least ``min_relative`` of the phase's
  strongest line in range, lines closer than the tolerance merged (one peak cannot tell them
  apart; the stronger's hkl is kept), weighted by intensity;
* **oriented** (a θ–2θ scan of a textured film sees only planes parallel to the substrate):
  the harmonics d/n, n = 1, 2, ..., of one strong line (≥ 20 % of the strongest), hkl n·(hkl),
  equally weighted (PbI2 platelets show 001, 002, 003, 004 and little else; 002 is weak in a
  powder).

A line within the tolerance of an *unexplained* peak is **matched**, each peak serving at most
one line (strongest lines first); a line within the tolerance of an *explained* peak overlaps
the main phase and says nothing either way (left out); any other line is **missing**. The
matched lines of one phase must move together: their residuals (observed − expected) lie
within :data:`MAX_SPREAD_DEG` of each other, and matches off that common shift count as missing.
score = Σ w(matched) / Σ w(matched + missing). Peaks can match by chance: with a fraction f of
the range lying within the tolerance of some unexplained peak, m matches out of n lines happen
by chance with the binomial tail probability P(X ≥ m | n, f) (:func:`chance_probability`),
counted over the phase's strong lines (:data:`STRONG`; for an oriented series over all its
orders, multiplied by the number of series tried). A hypothesis is accepted with at least
``min_matches`` (≥ 2; one more for an oriented series, since a peak pair at d and d/2 is common)
matched lines at distinct peaks, that probability at most ``max_chance``, and, for powder, a
score of at least ``min_score``: one peak never makes a phase,
and a pattern crowded with unexplained peaks makes none easily. Phases are accepted one at a
time, best score first, each taking its peaks away from the next (a peak is one phase's).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from bxrd.xrd.phase_sticks import PhaseSticks
from bxrd.xrd.reflections import hkl_label
from bxrd.xrd.wavelength import two_theta_from_d

#: Largest distance, degrees 2θ at the measurement's wavelength, between a reflection and the
#: peak it explains: a lab diffractometer's peak-position error (sample displacement of
#: ±0.1 mm on a 240 mm goniometer moves a peak at 2θ = 30° by ±0.05°) plus cell differences
#: of about 0.3 % between a film's phase and the reference cell (0.1° at 2θ = 40°).
TOLERANCE_DEG = 0.2
#: Largest spread, degrees 2θ, of (observed − expected) over one phase's matched lines: its
#: lines move together (a displacement or a cell a little off), not each its own way.
MAX_SPREAD_DEG = 0.2
#: Lines of at least this fraction of a phase's strongest line in range are its strong lines,
#: on which the chance of the matches is judged (weaker ones are often lost at a minor phase's
#: level, and their absence is weak evidence).
STRONG = 0.2


@dataclass
class PhaseMatch:
    """Evidence for one library phase.

    Attributes:
        index: the phase's index in the library.
        score: weighted share of its observable lines that are matched, in [0, 1].
        chance: probability of as many matches by chance (see module docstring).
        matched: per matched line ``(hkl label, expected 2θ, observed peak index)``.
        missing: hkl labels of observable lines with no peak.
        orientation: hkl of the oriented series, None for the powder hypothesis.
    """

    index: int
    score: float
    chance: float
    matched: list[tuple[str, float, int]]
    missing: list[str]
    orientation: str | None = None


def chance_probability(matches: int, lines: int, fraction: float) -> float:
    """P(X ≥ ``matches``) for X ~ Binomial(``lines``, ``fraction``): matches by chance."""
    return float(
        sum(
            comb(lines, k) * fraction**k * (1 - fraction) ** (lines - k)
            for k in range(matches, lines + 1)
        )
    )


def covered_fraction(
    peaks: np.ndarray, two_theta_range: tuple[float, float], tolerance: float
) -> float:
    """Fraction of ``two_theta_range`` within ``tolerance`` of any of ``peaks`` (degrees)."""
    lo, hi = two_theta_range
    covered, end = 0.0, lo
    for p in np.sort(peaks):
        a, b = max(p - tolerance, end), min(p + tolerance, hi)
        if b > a:
            covered += b - a
            end = b
    return covered / (hi - lo) if hi > lo else 1.0


def _merged_lines(
    tt: np.ndarray, inten: np.ndarray, hkl: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines closer than ``tolerance`` merged: 2θ (intensity-weighted), summed I, hkl (n, 3).

    A merged line keeps the hkl of its strongest member.
    """
    order = np.argsort(tt)
    tt, inten, hkl = tt[order], inten[order], hkl[order]
    group = np.concatenate([[0], np.cumsum(np.diff(tt) >= tolerance)])
    n = int(group[-1]) + 1
    total = np.bincount(group, inten, n)
    pos = np.bincount(group, inten * tt, n) / np.maximum(total, 1e-12)
    strongest = np.lexsort((-inten, group))  # by group, strongest first within a group
    first = strongest[np.concatenate([[True], np.diff(group[strongest]) > 0])]
    return pos, total, hkl[first]


def _consistent(residual: np.ndarray, weight: np.ndarray, spread: float) -> np.ndarray:
    """Mask of the heaviest set of residuals (degrees) lying within ``spread`` of each other."""
    best, best_w = np.zeros(len(residual), bool), -1.0
    for r in residual:
        inside = (residual >= r) & (residual <= r + spread)
        if weight[inside].sum() > best_w:
            best, best_w = inside, float(weight[inside].sum())
    return best


def _compare(
    pos: np.ndarray,
    weight: np.ndarray,
    hkl: np.ndarray,
    peaks: np.ndarray,
    explained: np.ndarray,
    tolerance: float,
    strong: float,
) -> tuple[float, tuple[int, int], list[tuple[str, float, int]], list[int]]:
    """Compare lines with peaks (module docstring).

    Returns:
        score, (matched, observable) lines of weight ≥ ``strong``, matched lines (hkl, 2θ,
        peak index) and the indices of missing lines, strongest first.
    """
    taken = np.zeros(len(peaks), bool)
    peak_of = np.full(len(pos), -1)  # matched peak per line, -1: missing, -2: masked
    for j in np.argsort(weight, kind="stable")[::-1]:
        dist = np.abs(peaks - pos[j])
        near = np.nonzero(dist <= tolerance)[0]
        free = near[~explained[near] & ~taken[near]]
        if free.size:
            peak_of[j] = int(free[np.argmin(dist[free])])
            taken[peak_of[j]] = True
        elif near.size and explained[near].any():
            peak_of[j] = -2  # under a main-phase peak: no evidence either way
    hit = np.nonzero(peak_of >= 0)[0]
    if hit.size:  # one phase's lines move together: drop matches off the common shift
        keep = _consistent(peaks[peak_of[hit]] - pos[hit], weight[hit], MAX_SPREAD_DEG)
        peak_of[hit[~keep]] = -1
    seen = peak_of != -2
    matched_w, seen_w = weight[peak_of >= 0].sum(), weight[seen].sum()
    counts = (
        int(((peak_of >= 0) & (weight >= strong)).sum()),
        int((seen & (weight >= strong)).sum()),
    )
    matched = [
        (hkl_label(hkl[j]), float(pos[j]), int(peak_of[j])) for j in np.nonzero(peak_of >= 0)[0]
    ]
    missing = [int(j) for j in np.argsort(-weight, kind="stable") if peak_of[j] == -1]
    score = float(matched_w / seen_w) if seen_w > 0 else 0.0
    return score, counts, sorted(matched, key=lambda m: m[1]), missing


def match_phase(
    library: PhaseSticks,
    index: int,
    peaks: np.ndarray,
    explained: np.ndarray,
    wavelength: float,
    two_theta_range: tuple[float, float],
    tolerance_deg: float = TOLERANCE_DEG,
    min_relative: float = 0.05,
    min_matches: int = 2,
    min_score: float = 0.3,
    max_chance: float = 0.01,
) -> PhaseMatch | None:
    """Return the accepted hypothesis (powder, else the likeliest oriented series) or None.

    Args:
        library: candidate phases.
        index: which one.
        peaks: observed peak positions, degrees 2θ at ``wavelength``, shape (K,).
        explained: True where the peak is already explained (main phase), shape (K,).
        wavelength: the measurement's wavelength, Å.
        two_theta_range: measured range, degrees 2θ at ``wavelength``.
        tolerance_deg: largest line–peak distance, degrees 2θ.
        min_relative: powder lines weaker than this fraction of the strongest line in range
            are ignored.
        min_matches: fewest matched lines (at distinct peaks).
        min_score: smallest powder score.
        max_chance: largest probability of the matches by chance.
    """
    tt, inten, hkl = library.lines(index, wavelength)
    lo, hi = two_theta_range
    inside = np.isfinite(tt) & (tt >= lo) & (tt <= hi)
    if not inside.any():
        return None
    f = covered_fraction(peaks[~explained], two_theta_range, tolerance_deg)
    pos, weight, merged_hkl = _merged_lines(tt[inside], inten[inside], hkl[inside], tolerance_deg)
    strong = weight >= min_relative * weight.max()
    score, (m_strong, n_strong), matched, missing = _compare(
        pos[strong],
        weight[strong],
        merged_hkl[strong],
        peaks,
        explained,
        tolerance_deg,
        STRONG * weight.max(),
    )
    chance = chance_probability(m_strong, n_strong, f) if m_strong else 1.0
    if len(matched) >= min_matches and score >= min_score and chance <= max_chance:
        return PhaseMatch(
            index, score, chance, matched, [hkl_label(merged_hkl[strong][j]) for j in missing]
        )
    d = library.d[int(library.offsets[index]) : int(library.offsets[index + 1])]
    bases = np.nonzero(np.isfinite(tt) & (inten >= 0.2 * inten.max()))[0]
    best = None
    for b in bases:
        orders = np.arange(1, 13)
        series = two_theta_from_d(d[b] / orders, wavelength)
        keep = np.isfinite(series) & (series >= lo) & (series <= hi)
        if keep.sum() <= min_matches:
            continue
        s_score, (s_m, s_n), s_matched, s_missing = _compare(
            series[keep],
            np.ones(int(keep.sum())),
            orders[keep, None] * hkl[b][None, :],
            peaks,
            explained,
            tolerance_deg,
            1.0,
        )
        s_chance = min(1.0, chance_probability(s_m, s_n, f) * len(bases))
        if (
            len(s_matched) > min_matches
            and s_chance <= max_chance
            and (best is None or s_chance < best.chance)
        ):
            best = PhaseMatch(
                index, s_score, s_chance, s_matched,
                [hkl_label(orders[keep][j] * hkl[b]) for j in s_missing], hkl_label(hkl[b]),
            )  # fmt: skip
    return best


def _candidates(
    library: PhaseSticks, free: np.ndarray, wavelength: float, tolerance: float, least: int
) -> list[int]:
    """Phases with lines near at least ``least`` distinct free peaks (a cheap first gate)."""
    if len(free) < least:
        return []
    tt, _ = library.at(wavelength)
    near = np.abs(tt[:, None] - free[None, :]) <= tolerance  # (M, K); NaN compares False
    per_phase = np.logical_or.reduceat(near, library.offsets[:-1], axis=0)  # (S, K)
    return [int(i) for i in np.nonzero(per_phase.sum(axis=1) >= least)[0]]


def match_phases(
    library: PhaseSticks,
    peaks: np.ndarray,
    explained: np.ndarray,
    wavelength: float,
    two_theta_range: tuple[float, float],
    tolerance_deg: float = TOLERANCE_DEG,
    min_matches: int = 2,
    min_score: float = 0.3,
    max_chance: float = 0.01,
) -> list[PhaseMatch]:
    """Phases with enough evidence (module docstring), in the order they were accepted.

    Args: as :func:`match_phase`.

    Raises:
        ValueError: ``min_matches`` below 2, or peaks and flags of different lengths.
    """
    if min_matches < 2:
        raise ValueError(f"a phase needs at least 2 matched lines, got min_matches={min_matches}")
    peaks, taken = np.asarray(peaks, float), np.array(explained, bool)
    if peaks.shape != taken.shape:
        raise ValueError(f"{peaks.shape[0]} peaks but {taken.shape[0]} explained flags")
    accepted: list[PhaseMatch] = []
    left = set(_candidates(library, peaks[~taken], wavelength, tolerance_deg, min_matches))
    while left:
        found = [
            m
            for i in sorted(left)
            if (
                m := match_phase(
                    library,
                    i,
                    peaks,
                    taken,
                    wavelength,
                    two_theta_range,
                    tolerance_deg,
                    min_matches=min_matches,
                    min_score=min_score,
                    max_chance=max_chance,
                )
            )
            is not None
        ]
        if not found:
            break
        best = max(found, key=lambda m: (m.score, len(m.matched), -m.chance))
        accepted.append(best)
        left.discard(best.index)
        taken[[k for _, _, k in best.matched]] = True
    return accepted


def consistent_lines(
    library: PhaseSticks,
    peak: float,
    wavelength: float,
    tolerance_deg: float = TOLERANCE_DEG,
    min_relative: float = 0.2,
) -> list[str]:
    """Phases with a strong line within the tolerance of one peak: ``"PbI2 001"`` per line.

    One peak is not evidence of a phase; this names what it could be. ``min_relative``: only
    lines of at least this fraction of the phase's strongest line at ``wavelength``.
    """
    tt, inten = library.at(wavelength)
    starts = library.offsets[:-1]
    phase_max = np.repeat(np.maximum.reduceat(inten, starts), np.diff(library.offsets))
    near = np.nonzero((np.abs(tt - peak) <= tolerance_deg) & (inten >= min_relative * phase_max))[0]
    phase = np.searchsorted(library.offsets, near, side="right") - 1
    out = []
    for i in np.unique(phase):
        rows = near[phase == i]
        out.append(f"{library.names[i]} {hkl_label(library.hkl[rows[np.argmax(inten[rows])]])}")
    return out
