"""Point-to-point roughness of a pattern: how much of it is white noise, not diffraction.

For a pattern x on a uniform 2θ grid (step h, degrees) made of a smooth part s and white
noise of variance σ², the mean squared first difference is E[(Δx)²] = 2σ² + mean((Δs)²).
The roughness

    r = mean((Δx)²) / (2 · var(x))

therefore estimates σ² / var(x), the share of the pattern's variance that is point-to-point
noise, plus what the peaks themselves add: a Gaussian peak of standard deviation σ_p grid
points alone gives r ≈ 1 / (4 σ_p²) (∫g'² / ∫g² = 1 / (2 σ_p²)). White noise gives r = 1; a
peak of FWHM 0.05° on a 0.02° grid (σ_p ≈ 1.1 points) about 0.2; a film peak of FWHM 0.24°
(σ_p ≈ 5) 0.01.

Above :data:`NOISE_DOMINATED` (0.5) more than half of the pattern's variance is noise, or its
peaks are narrower than the grid resolves: nothing a network trained on rendered patterns
has seen. Measured on the shipped data and the shared measured sets (model grid 10–80°,
0.02°): stored training patterns ≤ 0.075, patterns rendered with every realism option
≤ 0.035, thin films ≤ 0.068, Dara ``.xrdml`` scans ≤ 0.033; RRUFF minerals median 0.09, 14 of
482 above 0.5 (weak scans whose strongest point stands barely above the noise); uniform
noise 0.96–1.04.
"""

from __future__ import annotations

import torch

#: Roughness above which a pattern counts as noise-dominated (see the module docstring).
NOISE_DOMINATED = 0.5


def roughness(x: torch.Tensor) -> torch.Tensor:
    """Roughness r = mean((Δx)²) / (2 var x) of patterns ``x`` (B, L) → shape (B,).

    A constant pattern (no variance) gives +inf: it carries no diffraction either.
    """
    x = x.double()
    num = x.diff(dim=-1).pow(2).mean(dim=-1)
    den = 2.0 * x.var(dim=-1, unbiased=False)
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.inf).float()


def noise_dominated(x: torch.Tensor, limit: float = NOISE_DOMINATED) -> torch.Tensor:
    """Whether each pattern of ``x`` (B, L) has roughness above ``limit``, shape (B,) bool."""
    return roughness(x) > limit
