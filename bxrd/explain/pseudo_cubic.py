"""Pseudo-cubic indexing and the superstructure reflections of octahedral tilts.

Every corner-sharing ABX3 perovskite is a small distortion of the cubic cell of edge a_p
(3.7–4.2 Å for oxides, 5.5–6.4 Å for halides), so its strong peaks index on that primitive
cell: d = a_p / √(h² + k² + l²). Octahedral tilts and antiparallel A-cation shifts double
the cell; their reflections index only on the doubled cell 2a_p, at d = 2a_p / √N with
N = h² + k² + l² of the doubled cell, and the parity of (h, k, l) says which distortion made
them (Glazer, Acta Cryst. A31, 756, 1975; Woodward, Acta Cryst. B53, 44, 1997):

* all even: a reflection of the primitive cell (N ≡ 0 mod 4);
* all odd, the R point (N ≡ 3 mod 8): out-of-phase tilts (Glazer ``−``), e.g. I4/mcm
  (a0a0c−, MAPbI3's 211 at 23.5° Cu Kα), Imma, R-3c, R3c, Pnma;
* two odd, the M point (N ≡ 2 mod 4): in-phase tilts (``+``), e.g. P4/mbm, Im-3, Pnma;
* one odd, the X point (N ≡ 1 mod 4): antiparallel A-cation shifts, e.g. Pnma.

A tilt about one axis adds R lines with the two other indices unequal only (Glazer 1975), so
the R line 111 (N = 3) is exactly absent in a0a0c−, a−a−a− and the in-phase systems; it is
read as point ``B``, rock-salt order of two B cations (double perovskites such as
Cs2AgBiBr6, whose other all-odd lines are R lines too), though combined tilts and A-cation
shifts give it weakly (Pnma: 0.15 % of the strongest line in CaTiO3, 1.2 % in GdFeO3). Likewise
the doubled cell's 110 (N = 2) is no tilt line and is left unindexed.

N ≡ 7 mod 8 is no sum of three squares, so N alone names the point. The R positions are the
sparsest (every 8th N), 0.5° or more from every primitive line below ~60° 2θ for halide
cells, which makes an R peak the most trustworthy evidence of a tilt.

:func:`pseudo_cubic` takes each of the strongest peaks as a low-index primitive line (N_p ≤ 8)
to get trial edges a_p in :data:`A_RANGE`, refines a_p and a zero offset by least squares on
the peaks each trial indexes, keeps the smallest a_p whose indexed share of the peak height is
within :data:`SHARE_SLACK` of the best (2a_p and √2 a_p index everything a_p does), and then
reads the unindexed peaks as R, M or X reflections of the doubled cell. A cell needs
:data:`MIN_PRIMITIVE` primitive peaks (two parameters fit any two) and a zero offset of at
most :data:`MAX_ZERO_DEG`. A peak counts as superstructure only when it is at least
:data:`CLEAR_DEG` and :data:`CLEAR_D` (in d) from every primitive line, so a Kα2 shoulder or
a split tetragonal line is not read as one; this leaves the R lines 111, 311, 331, 511 / 333
and 731 / 553 (N = 3, 11, 19, 27, 59) readable.

What it cannot say: texture hides reflections (a (100)-oriented film shows the (h00) orders
only, :mod:`bxrd.explain.one_family`), and a weak superstructure line can sit below the
noise, so an absent R peak does not prove an untilted cell; a peak from a secondary phase can
land on a superstructure position by chance (a few % of the 2θ range per point type).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bxrd.data.class_names import OTHER
from bxrd.explain.reflections import find_peaks
from bxrd.xrd.wavelength import d_from_two_theta, two_theta_from_d

#: Pseudo-cubic edges looked for, Å: oxides 3.7–4.3, halides 5.3–6.4 (FAPbI3 6.36); below
#: PbI2's c = 6.98 Å, whose 00l series would otherwise pass for a cell.
A_RANGE = (3.5, 6.6)
#: Smallest peak looked at, as a fraction of the strongest (tilt lines are weak).
PEAK_PROMINENCE = 0.02
#: Strongest peaks tried as a low-index primitive line.
TRIAL_PEAKS = 4
#: Primitive N_p = h² + k² + l² a trial peak may be (100, 110, 111, 200, 210, 211, 220).
TRIAL_N = (1, 2, 3, 4, 5, 6, 8)
#: A peak within TOL_DEG + 2 tanθ · TOL_D (radians → degrees) of a line is indexed by it:
#: the fixed part takes a zero offset left after the fit, the part ∝ tanθ a relative
#: d splitting of a pseudo-cubic cell (tetragonal MAPbI3: c_p / a_p ≈ 1.01).
TOL_DEG = 0.1
TOL_D = 0.004
#: A superstructure peak lies at least CLEAR_DEG (degrees 2θ) and a relative CLEAR_D in d
#: from every primitive line, so the split lines of a distorted cell are not read as one:
#: a tetragonal cell stays clean up to c / a ≈ 1.025 (1.5 % read split lines of c / a = 1.02
#: as R lines); more distorted cells (PbTiO3, c / a = 1.06) index poorly or not at all.
CLEAR_DEG = 0.35
CLEAR_D = 0.02
#: Trials indexing a share of the peak height this close to the best are equally good.
SHARE_SLACK = 0.1
#: Fewest primitive peaks, and least share of the peak height, for a pseudo-cubic answer;
#: the largest zero offset (degrees 2θ) fitted with it. Two free parameters (a_p, zero) fit
#: any two peaks, so three are needed; a displaced film rarely shifts by more than 0.3°.
MIN_PRIMITIVE = 3
MIN_SHARE = 0.5
MAX_ZERO_DEG = 0.3
#: Largest chance (``r_chance``) at which R / B lines are held against an answer. With the
#: full measurement model (random impurity peaks, secondary phases) 9 of the 61 real Pm-3m
#: test structures of data/shipped show R or B lines, 3 of them at a chance ≤ 0.2; clean
#: patterns show none (scripts/tilt_lines.py --dataset).
NOTE_CHANCE = 0.2
#: The point each parity of the doubled cell's (h, k, l) belongs to, by N mod 8.
POINT_OF_N_MOD_8 = {0: "", 4: "", 3: "R", 1: "X", 5: "X", 2: "M", 6: "M"}
#: N of the doubled cell whose only indices are equal (111): no tilt line, B-site order.
ORDER_N = 3
#: N of the doubled cell that no tilt gives (110: h = k, zero for a0a0c+): left unindexed.
NO_TILT_N = (2,)
#: Superstructure points each tilt system allows, by space-group symbol (Glazer 1975,
#: Howard & Stokes, Acta Cryst. B54, 782, 1998): one formula unit per primitive cell (none),
#: in-phase tilts (M), out-of-phase tilts (R), both (and X). B (111) is exactly absent
#: without B-site order in a0a0c-, a-a-a-, the in-phase systems and a+a+c-, but allowed
#: weakly where tilts combine or the A cations shift (Imma, Pnma: 0.15 % of the strongest
#: line in CaTiO3, 1.2 % in GdFeO3; Cmcm). Groups whose structures in the data are not all
#: tilted 3D perovskites (I4/mmm holds Ruddlesden–Popper phases; the monoclinic and
#: triclinic groups many distortions) are left out: they get no note.
TILT_POINTS = {
    "Pm-3m": "",
    "P4mm": "",
    "Amm2": "",
    "R3m": "",
    "P4/mbm": "M",
    "Im-3": "M",
    "I4/mcm": "R",
    "Imma": "RB",
    "R-3c": "R",
    "R3c": "R",
    "Pnma": "RMXB",
    "Cmcm": "RMXB",
    "P4_2/nmc": "RMX",
}
#: An ``other`` answer is noted when the pattern reads as an untilted perovskite: this share
#: of the peak height on the primitive cell, at least :data:`CUBIC_LINES` primitive lines
#: and no superstructure line. On the 954 stored test patterns of data/shipped this reading
#: holds for 160 of 183 Pm-3m patterns and 49 of 516 `other` ones; of the honest 20-epoch
#: ensemble's 427 `other` answers the 40 with it were right 22 times, the 387 without it 366
#: times (docs/RESULTS.md, session 36).
CUBIC_SHARE = 0.9
#: Primitive lines an untilted reading of an ``other`` answer needs (three fit any two
#: parameters; the films' h00-only patterns have two or three).
CUBIC_LINES = 4
POINT_MEANING = {
    "R": "out-of-phase octahedral tilts",
    "M": "in-phase octahedral tilts",
    "X": "antiparallel A-cation shifts",
    "B": "rock-salt B-site order",
}


@dataclass
class Line:
    """One peak indexed on the pseudo-cubic cell.

    Attributes:
        two_theta: the peak, degrees 2θ.
        hkl: its indices (primitive cell for primitive lines, doubled cell 2a_p otherwise).
        point: "" (primitive), "R", "M", "X" or "B" (111 of the doubled cell).
        height: peak height relative to the strongest peak.
    """

    two_theta: float
    hkl: str
    point: str
    height: float

    def as_dict(self) -> dict:
        """Plain dict for JSON (numbers rounded)."""
        return {
            "two_theta": round(self.two_theta, 3),
            "hkl": self.hkl,
            "point": self.point,
            "height": round(self.height, 3),
        }


@dataclass
class PseudoCubic:
    """The pseudo-cubic reading of a pattern.

    Attributes:
        a: primitive pseudo-cubic edge a_p, Å.
        zero: zero offset fitted with it, degrees 2θ (observed − calculated).
        share: share of the summed peak height indexed on the primitive cell, in [0, 1].
        lines: primitive and superstructure lines (ascending 2θ).
        unindexed: peaks on neither, degrees 2θ.
        n_peaks: peaks found.
        r_chance: probability that the peaks off the primitive lines put one on an R line by
            chance, 1 − (1 − f)^m: f the share of the scanned range inside an R line's
            tolerance, m those peaks (another phase's lines fall anywhere).
    """

    a: float
    zero: float
    share: float
    lines: list[Line] = field(default_factory=list)
    unindexed: list[float] = field(default_factory=list)
    n_peaks: int = 0
    r_chance: float = 0.0

    def points(self) -> str:
        """Return the superstructure points seen, e.g. ``"RM"`` (``""``: none)."""
        seen = {line.point for line in self.lines}
        return "".join(p for p in "RMXB" if p in seen)

    def as_dict(self) -> dict:
        """Plain dict for JSON (numbers rounded)."""
        return {
            "a": round(self.a, 4),
            "zero": round(self.zero, 3),
            "share": round(self.share, 3),
            "points": self.points(),
            "lines": [line.as_dict() for line in self.lines],
            "unindexed": [round(t, 3) for t in self.unindexed],
            "n_peaks": self.n_peaks,
            "r_chance": round(self.r_chance, 3),
        }


def _sums_of_three_squares(n_max: int) -> dict[int, str]:
    """Map every N ≤ n_max to the (h ≥ k ≥ l ≥ 0), largest h, with h² + k² + l² = N, as text."""
    out: dict[int, str] = {}
    top = int(np.sqrt(n_max)) + 1
    for h in range(top, -1, -1):  # largest h first: 511, not 333 (no tilt line has h = k = l)
        for k in range(h + 1):
            for ell in range(k + 1):
                n = h * h + k * k + ell * ell
                if 0 < n <= n_max and n not in out:
                    out[n] = f"{h}{k}{ell}" if h < 10 else f"{h} {k} {ell}"
    return out


#: hkl of each N of the doubled cell: 2a_p ≤ 13.2 Å down to d = 0.4 Å (Ag Kα to 2θ ≈ 88°, Mo
#: Kα to 2θ ≈ 125°, Cu Kα to 180°); lines past it are left unindexed.
HKL_OF_N = _sums_of_three_squares(1100)
#: Every N of :data:`HKL_OF_N` (ascending), and those of the R point (N ≡ 3 mod 8).
N_ALL = np.array(sorted(HKL_OF_N))
N_R = N_ALL[N_ALL % 8 == 3]
#: IS_SUM[N]: N ≤ 1100 is a sum of three squares (a line exists).
IS_SUM = np.isin(np.arange(1101), N_ALL)


def _tolerance(two_theta: np.ndarray) -> np.ndarray:
    """Indexing tolerance at ``two_theta`` (degrees 2θ), degrees 2θ."""
    return TOL_DEG + np.degrees(2 * np.tan(np.radians(two_theta / 2)) * TOL_D)


def _nearest(
    peaks: np.ndarray, a: float, zero: float, wavelength: float, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the nearest line to each peak of the cell of edge ``step`` × ``a`` (Å), zero ``zero``.

    ``step`` 1: the primitive cell (N = N_p); ``step`` 2: the doubled cell. Returns (N, 2θ)
    of the nearest line whose N is a sum of three squares, shape (P,) each; 2θ is NaN where
    no such line is near (past 180°, or N beyond :data:`HKL_OF_N`). Sums of three squares
    are never more than two apart (8b + 7 and 8b + 8 at most), so N ∈ ⌊n⌋ − 1 … ⌊n⌋ + 2.
    """
    edge = step * a
    n = (edge / d_from_two_theta(peaks - zero, wavelength)) ** 2
    lo = np.floor(np.nan_to_num(n, nan=0.0)).astype(int)
    cand = np.stack([lo - 1, lo, lo + 1, lo + 2], axis=1).clip(1, len(IS_SUM) - 1)
    at = two_theta_from_d(edge / np.sqrt(cand), wavelength) + zero
    miss = np.where(IS_SUM[cand] & np.isfinite(at), np.abs(at - peaks[:, None]), np.inf)
    pick = miss.argmin(axis=1)
    rows = np.arange(len(peaks))
    found = np.isfinite(miss[rows, pick])
    return cand[rows, pick], np.where(found, at[rows, pick], np.nan)


def _refine(
    peaks: np.ndarray, n: np.ndarray, weight: np.ndarray, wavelength: float, fit_zero: bool = True
) -> tuple[float, float]:
    """Least-squares (a_p, zero) from peaks at 2θ ``peaks`` indexed with primitive ``n``.

    Linearised: sin θ_obs ≈ sin θ_calc + cos θ · zero/2, with sin θ_calc = λ √n / (2 a_p);
    the zero is fitted only with ``fit_zero`` and :data:`MIN_PRIMITIVE` peaks of two
    different N.
    """
    theta = np.radians(peaks / 2)
    s = np.sqrt(n) * wavelength / 2
    if not fit_zero or len(np.unique(n)) < 2 or len(n) < MIN_PRIMITIVE:
        inv_a = float(np.sum(weight * np.sin(theta) * s) / np.sum(weight * s * s))
        return 1 / inv_a, 0.0
    design = np.stack([s, np.cos(theta) / 2], axis=1) * np.sqrt(weight)[:, None]
    (inv_a, zero_rad), *_ = np.linalg.lstsq(design, np.sin(theta) * np.sqrt(weight), rcond=None)
    return 1 / float(inv_a), float(np.degrees(zero_rad))


def _index(
    peaks: np.ndarray, height: np.ndarray, a: float, wavelength: float
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Index ``peaks`` on trial edge ``a``, refine (a, zero), index again.

    Returns (a, zero, primitive N per peak, mask of the peaks the primitive cell indexes);
    a zero beyond :data:`MAX_ZERO_DEG` is refused (the edge kept, the zero set to 0).
    """
    zero = 0.0
    for _ in range(2):
        n, at = _nearest(peaks, a, zero, wavelength, 1)
        hit = np.abs(at - peaks) <= _tolerance(peaks)
        if hit.sum() < 2:
            break
        a, zero = _refine(peaks[hit], n[hit], height[hit], wavelength)
        if abs(zero) > MAX_ZERO_DEG:
            a, zero = _refine(peaks[hit], n[hit], height[hit], wavelength, fit_zero=False)
    n, at = _nearest(peaks, a, zero, wavelength, 1)
    return a, zero, n, np.abs(at - peaks) <= _tolerance(peaks)


def pseudo_cubic(
    pattern: np.ndarray, two_theta: np.ndarray, wavelength: float
) -> PseudoCubic | None:
    """Index ``pattern`` (L,) on ``two_theta`` (L,) on a pseudo-cubic cell; None if it does not.

    Args:
        pattern: intensities, background removed, shape (L,).
        two_theta: uniform grid, degrees 2θ, shape (L,).
        wavelength: Å, the wavelength ``two_theta`` refers to.

    Returns:
        The cell, its primitive and superstructure lines; None when no edge in
        :data:`A_RANGE` indexes :data:`MIN_PRIMITIVE` peaks and :data:`MIN_SHARE` of the
        peak height.

    Which cell: among the edges indexing a share of the peak height within
    :data:`SHARE_SLACK` of the best, the smallest. Positions alone cannot tell a cell whose
    odd-N lines (100, 111, 210, …) are all weak from the cell a_p / √2 with M lines, nor a
    cubic cell from its √2 and 2× supercells; the smallest reading keeps weak lines as
    superstructure, as tilts make them.
    """
    peaks = find_peaks(pattern, two_theta, PEAK_PROMINENCE)
    if len(peaks) < MIN_PRIMITIVE:
        return None
    height = np.interp(peaks, two_theta, pattern)
    height = height / height.max()
    d = d_from_two_theta(peaks, wavelength)
    strongest = np.argsort(-height)[:TRIAL_PEAKS]
    fits = []
    for a0 in _trials(d[strongest]):
        a, zero, n, hit = _index(peaks, height, a0, wavelength)
        if A_RANGE[0] <= a <= A_RANGE[1] and hit.sum() >= MIN_PRIMITIVE:
            fits.append((float(height[hit].sum() / height.sum()), a, zero, n, hit))
    if not fits:
        return None
    best = max(f[0] for f in fits)
    near_best = (f for f in fits if f[0] >= best - SHARE_SLACK)
    share, a, zero, n, hit = min(near_best, key=lambda f: f[1])
    if share < MIN_SHARE:
        return None
    data = two_theta[pattern != 0]
    scanned = (float(data.min()), float(data.max()))
    return _read(peaks, height, (a, zero, share), n, hit, wavelength, scanned)


def _trials(d: np.ndarray) -> list[float]:
    """Trial edges a = d √N_p (Å) from spacings ``d`` (Å), inside :data:`A_RANGE`, 0.3 % apart.

    The peaks of one cell give the same edge many times; one trial per 0.3 % of edge is kept.
    """
    trials = sorted(float(x) * np.sqrt(n) for x in d for n in TRIAL_N)
    kept: list[float] = []
    for a in trials:
        if A_RANGE[0] <= a <= A_RANGE[1] and (not kept or np.log(a / kept[-1]) > 0.003):
            kept.append(a)
    return kept


def _read(
    peaks: np.ndarray,
    height: np.ndarray,
    cell: tuple[float, float, float],
    n: np.ndarray,
    hit: np.ndarray,
    wavelength: float,
    scanned: tuple[float, float],
) -> PseudoCubic:
    """Primitive lines from ``hit``; the other peaks read on the doubled cell 2a_p.

    ``cell``: (a_p in Å, zero in degrees, indexed share); ``scanned``: the 2θ range with
    data, degrees.
    """
    a, zero, share = cell
    primitive = two_theta_from_d(a / np.sqrt(N_ALL), wavelength) + zero
    primitive = primitive[np.isfinite(primitive)]

    def clear(t: np.ndarray) -> np.ndarray:
        """Mark 2θ ``t`` that is CLEAR_DEG and CLEAR_D (relative d) off every primitive line."""
        rel = np.sin(np.radians(t - zero) / 2)[:, None] / np.sin(np.radians(primitive - zero) / 2)
        far_deg = np.abs(primitive - t[:, None]).min(axis=1) >= CLEAR_DEG
        return far_deg & (np.abs(rel - 1).min(axis=1) >= CLEAR_D)

    n2, at2 = _nearest(peaks, a, zero, wavelength, 2)
    off = clear(peaks) & (np.abs(at2 - peaks) <= _tolerance(peaks))
    lines, unindexed = [], []
    for i, t in enumerate(peaks):
        point = "B" if n2[i] == ORDER_N else POINT_OF_N_MOD_8[int(n2[i]) % 8]
        point = "" if n2[i] in NO_TILT_N else point
        if hit[i]:
            lines.append(Line(float(t), HKL_OF_N[int(n[i])], "", float(height[i])))
        elif point and off[i]:
            lines.append(Line(float(t), HKL_OF_N[int(n2[i])], point, float(height[i])))
        else:
            unindexed.append(float(t))
    r_lines = two_theta_from_d(2 * a / np.sqrt(N_R), wavelength) + zero
    r_lines = r_lines[(r_lines >= scanned[0]) & (r_lines <= scanned[1])]
    covered = float(np.sum(2 * _tolerance(r_lines[clear(r_lines)])))
    f = min(1.0, covered / max(scanned[1] - scanned[0], 1e-9))
    chance = 1 - (1 - f) ** int((~hit).sum())
    return PseudoCubic(a, zero, share, lines, unindexed, len(peaks), chance)


def describe(reading: dict) -> str:
    """One line for a reader: the cell, its share and the superstructure lines seen.

    Args:
        reading: :meth:`PseudoCubic.as_dict` of a pattern.
    """
    extra = [x for x in reading["lines"] if x["point"]]
    seen = ", ".join(f"{x['point']} {x['two_theta']:.2f}° ({x['hkl']})" for x in extra)
    return (
        f"a = {reading['a']:.4f} Å (zero {reading['zero']:+.3f}°) indexes "
        f"{reading['share']:.0%} of the peak height; superstructure lines of the doubled "
        f"cell (2θ at Cu Kα): {seen or 'none seen'}"
    )


def unexpected_points(reading: dict, space_group: str) -> str:
    """R / B points of ``reading`` that ``space_group`` cannot have, e.g. ``"R"`` ("": none).

    Only R and B lines (every 8th N of the doubled cell) are held against an answer, and only
    when ``r_chance`` is at most :data:`NOTE_CHANCE`: M and X positions are twice as dense,
    so a peak of another phase lands on one too often. Groups not in :data:`TILT_POINTS`
    (``other``, I4/mmm, …) have no tilt system to hold them against.

    Args:
        reading: :meth:`PseudoCubic.as_dict` of a pattern.
        space_group: a class name, e.g. ``"Pm-3m (221)"``, or its symbol ``"Pm-3m"``.
    """
    allowed = TILT_POINTS.get(space_group.split(" ")[0])
    if allowed is None or reading["r_chance"] > NOTE_CHANCE:
        return ""
    return "".join(p for p in reading["points"] if p in "RB" and p not in allowed)


def tilt_note(reading: dict | None, space_group: str | None) -> str | None:
    """Say what the superstructure lines mean for a space-group answer (None: nothing).

    Lines it cannot have (:func:`unexpected_points`), or none of the R / M lines it must have;
    for an ``other`` answer, a pattern that reads as an untilted perovskite
    (:data:`CUBIC_SHARE`).

    Args:
        reading: :meth:`PseudoCubic.as_dict` of the pattern, or None.
        space_group: the answer's class name, e.g. ``"Pm-3m (221)"``.
    """
    if not reading or not space_group:
        return None
    if space_group == OTHER:
        return _untilted_note(reading)
    allowed = TILT_POINTS.get(space_group.split(" ")[0])
    if allowed is None:
        return None
    seen = reading["points"]
    extra = list(unexpected_points(reading, space_group))  # a list: "" is in every str
    if extra:
        at = ", ".join(
            f"{line['two_theta']:.2f}° ({line['hkl']})"
            for line in reading["lines"]
            if line["point"] in extra
        )
        need = " or ".join(POINT_MEANING[p] for p in extra)
        return (
            f"peaks at {at} index as {'/'.join(extra)}-point lines of the doubled cell: they "
            f"need {need}, which {space_group} does not have, or are another phase's (chance "
            f"that the peaks off the primitive lines hit an R line: {reading['r_chance']:.2f})"
        )
    expected = [p for p in allowed if p in "RM"]
    if expected and not any(p in seen for p in expected):
        need = " and ".join(POINT_MEANING[p] for p in expected)
        return (
            f"{space_group} has {need}, but no {'/'.join(expected)}-point line is seen (weak "
            "lines or texture can hide them): the answer rests on the primitive lines alone"
        )
    return None


def _untilted_note(reading: dict) -> str | None:
    """Note an ``other`` answer whose pattern reads as an untilted perovskite (else None)."""
    primitive = [line for line in reading["lines"] if line["point"] == ""]
    if reading["share"] < CUBIC_SHARE or len(primitive) < CUBIC_LINES or reading["points"]:
        return None
    return (
        f"the peaks index on a pseudo-cubic perovskite cell, a_p = {reading['a']:.3f} Å "
        f"({len(primitive)} lines, {reading['share']:.0%} of the peak height) without "
        "superstructure lines, as an untilted perovskite's (Pm-3m) do: check the answer "
        "`other` against that cell"
    )
