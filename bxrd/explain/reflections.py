"""Reference reflections fitted to a measured pattern: cell refinement, peaks left unexplained.

A reflection (hkl) of a cell with reciprocal metric tensor G* lies at

    1/d² = h²A + k²B + l²C + klD + hlE + hkF = q(hkl) · g,   g = (A, B, C, D, E, F) (Å⁻²),

and at 2θ = 2 asin(λ / 2d) (Bragg's law, :mod:`bxrd.xrd.wavelength`). The reference sticks
stored with a model (hkl and 2θ at the reference cell) give g by least squares. A pattern of
the same structure type but another composition has another cell: first a coarse isotropic
scale (d → s·d) is searched, then the free components of g are refined, jointly on a grid
(≤ 3 parameters, steps of 0.5 %) and then one at a time (steps of 0.02 %). The free
components are those of the reference's metric symmetry — components equal in the reference
(a = b: A = B; hexagonal: A = B = F) move together, zero ones stay zero — so a cubic reference
keeps one parameter, a tetragonal or hexagonal one two, an orthorhombic one three. The score
is the cosine between the pattern (smoothed by a 0.1° Gaussian) and Gaussian sticks of the
reference intensities at the moved positions: its norm term penalises piling several
reflections onto one strong peak, which a plain Σ I_k · y(2θ_k) rewards. Measured on
LaMnO3 (Pnma, Jahn–Teller distorted) against the CaTiO3 reference of the shipped model:
the fitted reflections land within 0.06° of LaMnO3's own (one isotropic scale: up to 1.4°
off).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bxrd.xrd.wavelength import d_from_two_theta, two_theta_from_d

_INDEX = re.compile(r"-?\d+")


def parse_hkl(label: str) -> tuple[int, int, int]:
    """Miller indices of a label: ``"110"``, ``"2-10"``, ``"1 0 12"``; 4-index hkil → hkl.

    Raises:
        ValueError: not three or four indices.
    """
    tokens = _INDEX.findall(label) if " " in label.strip() else re.findall(r"-?\d", label)
    idx = [int(t) for t in tokens]
    if len(idx) == 4:
        idx = [idx[0], idx[1], idx[3]]
    if len(idx) != 3:
        raise ValueError(f"cannot read Miller indices from {label!r}")
    return idx[0], idx[1], idx[2]


def metric_rows(hkl: np.ndarray) -> np.ndarray:
    """Rows q(hkl) = (h², k², l², kl, hl, hk) of 1/d² = q · g, shape (N, 6) from (N, 3)."""
    h, k, l = (hkl[:, i].astype(float) for i in range(3))  # noqa: E741
    return np.stack([h * h, k * k, l * l, k * l, h * l, h * k], axis=1)


def symmetry_basis(g: np.ndarray, tol: float = 2e-3) -> np.ndarray:
    """Directions in g-space that keep the reference's metric symmetry, shape (P, 6).

    Components below ``tol`` × max|g| are held at zero; components equal within ``tol``
    (relative) share one parameter.
    """
    scale = np.abs(g).max()
    free = [i for i in range(6) if abs(g[i]) > tol * scale]
    groups: list[list[int]] = []
    for i in free:
        for grp in groups:
            if abs(g[i] - g[grp[0]]) <= tol * abs(g[grp[0]]):
                grp.append(i)
                break
        else:
            groups.append([i])
    basis = np.zeros((len(groups), 6))
    for p, grp in enumerate(groups):
        basis[p, grp] = g[grp]
    return basis


@dataclass
class FittedReference:
    """A class's reference reflections moved onto one pattern.

    Attributes:
        reflections: ``{"two_theta", "hkl", "intensity", ...}`` at the fitted cell, degrees 2θ
            (those that leave the grid are dropped).
        cell_scale: isotropic scale of d found by the coarse search.
        strain: relative change of each free metric parameter after refinement (vs the
            reference), e.g. ``[0.02, -0.01]`` for a tetragonal cell; 1/d² ∝ 1 + strain.
    """

    reflections: list[dict]
    cell_scale: float
    strain: list[float]


def _smooth(y: np.ndarray, step: float, sigma_deg: float = 0.1) -> np.ndarray:
    half = max(1, int(round(3 * sigma_deg / step)))
    t = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (t / sigma_deg) ** 2)
    return np.convolve(y, kernel / kernel.sum(), mode="same")


class _StickScore:
    """Cosine between a smoothed pattern and Gaussian sticks of σ ``sigma`` (degrees 2θ).

    ``score(inv)`` takes 1/d² of the N sticks for T trial cells, shape (T, N) (Å⁻²), and
    returns the cosine, shape (T,):

        Σ_j w_j y(2θ_j) / sqrt(Σ_jk w_j w_k exp(−(2θ_j − 2θ_k)² / 4σ²)).

    Sticks beyond 2θ = 180° sit at −90° (off the grid: y = 0). y is interpolated linearly on
    the uniform grid by index arithmetic (the values of ``np.interp``, without its binary
    search), and the norm sums only pairs of sticks that come within ``PAIR_CUTOFF_SIGMA`` σ
    of each other in some trial: a farther pair adds < exp(−14²/4) ≈ 4e-22 of the diagonal
    Σ w², below double precision.
    """

    PAIR_CUTOFF_SIGMA = 14.0

    def __init__(
        self,
        y: np.ndarray,
        two_theta: np.ndarray,
        weight: np.ndarray,
        wavelength: float,
        sigma: float,
    ) -> None:
        self.y, self.two_theta, self.weight = y, two_theta, weight
        self.wavelength, self.sigma = wavelength, sigma
        self.slope = np.diff(y) / np.diff(two_theta)
        self.step = float(two_theta[1] - two_theta[0])
        self.diagonal = float(weight @ weight)
        self.pairs = np.triu_indices(len(weight), k=1)
        self.pair_weight = 2.0 * weight[self.pairs[0]] * weight[self.pairs[1]]

    def interp(self, at: np.ndarray) -> np.ndarray:
        """Pattern values at ``at`` (degrees), 0 off the grid, any shape."""
        tt = self.two_theta
        j = np.clip(((at - tt[0]) / self.step).astype(np.intp), 0, len(tt) - 2)
        j -= at < tt[j]  # the float division may land one node off
        j += at >= tt[np.minimum(j + 1, len(tt) - 1)]
        j = np.clip(j, 0, len(tt) - 2)
        value = self.y[j] + self.slope[j] * (at - tt[j])
        value[at == tt[-1]] = self.y[-1]
        value[(at < tt[0]) | (at > tt[-1])] = 0.0
        return value

    def __call__(self, inv: np.ndarray) -> np.ndarray:
        at = np.nan_to_num(two_theta_from_d(inv**-0.5, self.wavelength), nan=-90.0)
        overlap = self.interp(at) @ self.weight
        lo, hi = at.min(axis=0), at.max(axis=0)
        j, k = self.pairs
        cutoff = self.PAIR_CUTOFF_SIGMA * self.sigma
        near = (lo[k] - hi[j] < cutoff) & (lo[j] - hi[k] < cutoff)
        gap = at[:, j[near]] - at[:, k[near]]
        norm = self.diagonal + np.exp(-(gap**2) / (4 * self.sigma**2)) @ self.pair_weight[near]
        return overlap / np.sqrt(norm)


def fit_reference(
    pattern: np.ndarray,
    two_theta: np.ndarray,
    reflections: list[dict],
    wavelength: float,
    max_strain: float = 0.12,
    max_refine: float = 0.12,
    cycles: int = 3,
    fit_on: int = 12,
    grid_step: float = 0.005,
) -> FittedReference:
    """Fit reference reflections to a pattern (coarse isotropic scale, then anisotropic).

    Args:
        pattern: intensities on ``two_theta``, shape (L,).
        two_theta: uniform grid, degrees, shape (L,).
        reflections: reference sticks ``{"two_theta", "hkl", "intensity", ...}``.
        wavelength: Å, of both the pattern and the reference.
        max_strain: largest isotropic change of d searched (relative).
        max_refine: largest change of each metric parameter in the refinement (relative,
            on 1/d²), around the isotropic fit.
        cycles: passes over the free parameters.
        fit_on: the fit uses this many strongest reflections; all are moved.
        grid_step: step of the joint grid of the refinement (relative, on 1/d²); each
            per-parameter pass then searches ±1 % around the grid's best, so steps up to 2 %
            can reach the same optimum, though not always (``--explain fast`` uses 1 %: a
            3-parameter grid of 25³ cells instead of 49³, ~7× faster).
    """
    if not reflections:
        return FittedReference([], 1.0, [])
    every = np.array([r["two_theta"] for r in reflections], dtype=float)
    weight = np.array([r.get("intensity", 1.0) for r in reflections], dtype=float)
    used = np.sort(np.argsort(-weight, kind="stable")[:fit_on])
    weight, all_inv_d2 = weight[used], d_from_two_theta(every, wavelength) ** -2.0
    inv_d2 = all_inv_d2[used]
    sigma = 0.1
    y = _smooth(np.asarray(pattern, dtype=float), float(two_theta[1] - two_theta[0]), sigma)
    score = _StickScore(y, two_theta, weight, wavelength, sigma)

    scales = np.arange(1 - max_strain, 1 + max_strain + 1e-9, 0.0005)
    best = int(np.argmax(score(inv_d2[None] / scales[:, None] ** 2)))
    s = float(scales[best])
    try:
        q = metric_rows(np.array([parse_hkl(r["hkl"]) for r in reflections]))
        g = np.linalg.lstsq(q, all_inv_d2, rcond=None)[0]
        ok = np.allclose(q @ g, all_inv_d2, rtol=1e-3)
    except (ValueError, KeyError, np.linalg.LinAlgError):
        ok = False
    strain: list[float] = []
    inv = all_inv_d2 / s**2
    if ok:
        rows = q @ symmetry_basis(g).T  # (N, P): 1/d² = rows @ (1 + e) at the reference
        e = _search(score, rows[used], s**-2 - 1.0, max_refine, cycles, grid_step)
        inv = rows @ (1 + e)
        strain = [round(float(v), 5) for v in e]
    moved = two_theta_from_d(inv**-0.5, wavelength)
    out = [
        {**r, "two_theta": round(float(t), 3)}
        for r, t in zip(reflections, moved, strict=True)
        if np.isfinite(t) and two_theta[0] <= t <= two_theta[-1]
    ]
    return FittedReference(out, s, strain)


def _search(
    score: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    start: float,
    span: float,
    cycles: int,
    grid_step: float = 0.005,
) -> np.ndarray:
    """Maximise ``score`` over metric strains e (P,): a joint grid when P ≤ 3, then per axis.

    1/d² = rows @ (1 + e); the grid spans (1 + start)(1 ± ``span``) in steps of
    ``grid_step`` (0.5 %), the per-axis passes ±1 % in steps of 0.02 %.
    """
    n_par = rows.shape[1]
    e = np.full(n_par, start)
    if n_par <= 3:
        axis = (1 + start) * (1 + np.arange(-span, span + 1e-9, grid_step)) - 1
        grid = np.stack(np.meshgrid(*[axis] * n_par, indexing="ij"), -1).reshape(-1, n_par)
        best = [score((1 + c) @ rows.T) for c in np.array_split(grid, max(1, len(grid) // 4096))]
        e = grid[int(np.argmax(np.concatenate(best)))]
    fine = np.linspace(-0.01, 0.01, 101) if n_par <= 3 else np.linspace(-span, span, 121)
    for _ in range(cycles):
        for p in range(n_par):
            trial = np.repeat(e[None], len(fine), axis=0)
            trial[:, p] = (1 + e[p]) * (1 + fine) - 1
            e = trial[int(np.argmax(score((1 + trial) @ rows.T)))]
    return e


def find_peaks(
    pattern: np.ndarray,
    two_theta: np.ndarray,
    min_prominence: float = 0.05,
    min_sep_deg: float = 0.2,
    base_deg: float = 0.5,
) -> np.ndarray:
    """2θ (degrees) of peaks: local maxima standing out from their surroundings.

    A peak is the highest point within ±``min_sep_deg``/2 and rises at least
    ``min_prominence`` × max above the higher of the two minima within ``base_deg`` on
    either side, and at least 5 σ of the noise, so noise on a background is not a peak. Peaks
    are looked for on the pattern smoothed by a 0.04° Gaussian; σ is the median absolute
    difference between the pattern and its smoothed version (× 1.4826).

    Args:
        pattern: intensities, shape (L,).
        two_theta: uniform grid, degrees, shape (L,).
        min_prominence: smallest rise, as a fraction of the maximum.
        min_sep_deg: smallest distance between two peaks, degrees 2θ.
        base_deg: how far either side the foot of a peak is looked for, degrees 2θ.
    """
    raw = np.asarray(pattern, dtype=float)
    step = float(two_theta[1] - two_theta[0])
    y = _smooth(raw, step, 0.04)

    def running(values: np.ndarray, half: int, fill: float, reduce: str) -> np.ndarray:
        padded = np.pad(values, half, mode="constant", constant_values=fill)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
        return windows.max(axis=-1) if reduce == "max" else windows.min(axis=-1)

    half = max(1, int(round(min_sep_deg / step / 2)))
    wide = max(1, int(round(base_deg / step)))
    low = running(y, wide, np.inf, "min")  # centred minimum over ±base_deg
    left = np.concatenate([np.full(wide, np.inf), low[: len(y) - wide]])  # min on [i-2w, i]
    right = np.concatenate([low[wide:], np.full(wide, np.inf)])  # min on [i, i+2w]
    foot = np.maximum(np.minimum(left, low), np.minimum(right, low))
    foot = np.where(np.isfinite(foot), foot, 0.0)
    noise = 1.4826 * np.median(np.abs(raw - y))  # robust σ of what the smoothing removed
    rise = max(min_prominence * y.max(), 5 * noise)
    keep = (y >= running(y, half, -np.inf, "max")) & (y - foot >= rise)
    idx = np.nonzero(keep & (y > 0))[0]
    if len(idx):  # plateaus: keep the first point of equal neighbours
        idx = idx[np.concatenate([[True], np.diff(idx) > 1])]
    return two_theta[idx]


def unexplained_peaks(
    pattern: np.ndarray,
    two_theta: np.ndarray,
    candidates: list[list[dict]],
    tolerance_deg: float = 0.3,
    min_prominence: float = 0.05,
) -> list[dict]:
    """Peaks of the pattern that no candidate's fitted reflection lies near.

    Args:
        pattern: intensities (max-normalised or not), shape (L,).
        two_theta: uniform grid, degrees, shape (L,).
        candidates: fitted reflections of each candidate class (``two_theta`` in degrees).
        tolerance_deg: a reflection within this distance explains a peak.
        min_prominence: peaks rising less than this fraction of the maximum are ignored.

    Returns:
        ``{"two_theta", "height"}`` per unexplained peak (height relative to the maximum).
    """
    sticks = np.array([r["two_theta"] for refs in candidates for r in refs], dtype=float)
    top = float(np.max(pattern)) or 1.0
    out = []
    for t in find_peaks(pattern, two_theta, min_prominence):
        if sticks.size == 0 or np.abs(sticks - t).min() > tolerance_deg:
            height = float(np.interp(t, two_theta, pattern)) / top
            out.append({"two_theta": round(float(t), 3), "height": round(height, 3)})
    return out
