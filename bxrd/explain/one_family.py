"""One reflection family: a pattern whose peaks are all orders of a single spacing.

A film with strong preferred orientation, measured in Bragg–Brentano geometry (scattering
vector normal to the substrate), shows only the planes lying parallel to the substrate: the
orders n = 1, 2, 3, … of one spacing d, at 2θ_n = 2 arcsin(n λ / 2d) (Bragg's law with d/n).
Such a pattern fixes d and nothing of the symmetry: the (h00) orders of a cubic Pm-3m
perovskite and the (110)/(220) orders of its tetragonal I4/mcm cousin (a_t ≈ √2 a_c) are the
same lines, so a space-group answer from it is the training prior, not the measurement.

:func:`one_family` finds the peaks (:func:`bxrd.explain.reflections.find_peaks`, prominence
:data:`PEAK_PROMINENCE`), takes each of the three strongest as order 1, 2 or 3 of a trial d,
and keeps the d whose orders lie within :data:`TOLERANCE_DEG` of the peaks carrying the
largest share of the summed peak height, among the trials that form a family (two or more
orders seen, few orders missing inside the grid: :func:`_family`). The pattern is one
family when that share is at least :data:`MIN_SHARE`. Measured (model axis 10–80°,
0.02°, Cu Kα): 4 of 22 Pm-3m and 4 of 9 I4/mcm films of the shared thin-film set, and 2 of
the 12 films outside the shipped model's classes (00l series of layered films); none of the
4,926 stored patterns of the shipped data; 6 of 954 real test patterns re-rendered with the
full measurement model (texture in 80 % of them), 227 of 954 with film-like texture forced
(r 0.2–0.35 along a low-index reflection); 1.3 % of random two-peak patterns (two peaks at a
ratio of orders are a family).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import reduce
from math import gcd

import numpy as np

from bxrd.explain.reflections import find_peaks
from bxrd.xrd.wavelength import d_from_two_theta, two_theta_from_d

#: Smallest peak looked at, as a fraction of the strongest.
PEAK_PROMINENCE = 0.03
#: A peak this close (degrees 2θ) to an order's position belongs to the family; it takes in
#: a zero offset or sample displacement of up to ~0.1°, which moves the orders unequally.
TOLERANCE_DEG = 0.2
#: Share of the summed peak height the family must carry.
MIN_SHARE = 0.95


@dataclass
class OneFamily:
    """Orders of one spacing found in a pattern.

    Attributes:
        d_spacing: the spacing d of order 1, Å.
        orders: the orders n seen (ascending).
        two_theta: the peaks of the family, degrees 2θ (ascending).
        share: their share of the summed height of every peak found, in [0, 1].
    """

    d_spacing: float
    orders: list[int]
    two_theta: list[float]
    share: float

    def as_dict(self) -> dict:
        """Plain dict for JSON (numbers rounded)."""
        out = asdict(self)
        out["d_spacing"] = round(self.d_spacing, 4)
        out["two_theta"] = [round(t, 3) for t in self.two_theta]
        out["share"] = round(self.share, 3)
        return out


def _family(
    d1: float,
    peaks: np.ndarray,
    height: np.ndarray,
    d: np.ndarray,
    two_theta: np.ndarray,
    wavelength: float,
) -> OneFamily | None:
    """Return the orders of ``d1`` (Å) among ``peaks`` (P,) (2θ degrees) if they are a family.

    The orders seen are reduced by their common divisor (orders 2, 4, 6 of d are orders 1, 2,
    3 of d/2); orders that fall inside the grid but are missing may number at most the orders
    seen minus two (a weak order can hide under the prominence cut; two peaks at 3:5 with the
    4th order absent are no family).
    """
    n = np.rint(d1 / d)
    at = two_theta_from_d(d1 / np.maximum(n, 1), wavelength)  # NaN: not reached
    member = (n >= 1) & (np.abs(at - peaks) <= TOLERANCE_DEG)
    seen = sorted({int(k) for k in n[member]})
    if len(seen) < 2:
        return None
    g = reduce(gcd, seen)
    seen, d1 = [k // g for k in seen], d1 / g
    inside = two_theta_from_d(d1 / np.arange(1, seen[-1] + 1), wavelength) >= two_theta[0]
    missing = sum(1 for k in range(1, seen[-1] + 1) if inside[k - 1] and k not in seen)
    if missing > len(seen) - 2:
        return None
    share = float(height[member].sum() / height.sum())
    return OneFamily(d1, seen, [float(t) for t in peaks[member]], share)


def one_family(pattern: np.ndarray, two_theta: np.ndarray, wavelength: float) -> OneFamily | None:
    """Return the single reflection family of ``pattern`` (L,) on ``two_theta`` (L,), or None.

    Args:
        pattern: intensities, background removed, shape (L,).
        two_theta: uniform grid, degrees 2θ, shape (L,).
        wavelength: Å, the wavelength ``two_theta`` refers to.
    """
    peaks = find_peaks(pattern, two_theta, PEAK_PROMINENCE)
    if len(peaks) < 2:
        return None
    height = np.interp(peaks, two_theta, pattern)
    d = d_from_two_theta(peaks, wavelength)
    trials = (
        _family(float(d[j]) * order, peaks, height, d, two_theta, wavelength)
        for j in np.argsort(-height)[:3]
        for order in (1, 2, 3)
    )
    best = max((f for f in trials if f is not None), key=lambda f: f.share, default=None)
    return best if best is not None and best.share >= MIN_SHARE else None
