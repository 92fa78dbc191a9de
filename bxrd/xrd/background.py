"""Background under a measured pattern, and its counting statistics.

All levels are relative to the strongest peak of the main phase (rendered patterns come with
maximum 1), on the model's 2θ grid (degrees, model wavelength λ_m):

* Chebyshev: Σ_k c_k T_k(x), x ∈ [−1, 1] across the grid, c_0 drawn in ``background_level``,
  c_k (k ≥ 1) ± 30 % of c_0; the sum is clipped at 0.
* amorphous hump (glass substrate): a Gaussian of FWHM ``hump_fwhm_deg`` centred where Bragg's
  law puts the glass's mean spacing d (``hump_d``) at λ_m.
* air scatter: a · exp(−(2θ − 2θ_start) / t), rising toward low angle.
* the parts are evaluated every :data:`COARSE_STEP_DEG` and interpolated linearly (they vary
  on a scale of degrees).
* counts: the pattern is scaled to ``peak_counts`` at its strongest main peak and each point
  drawn with Poisson statistics, variance = mean. Points with a mean of at least
  :data:`NORMAL_ABOVE` counts use the normal approximation N(λ, λ) (same mean and variance,
  skewness 1/√λ ≤ 0.22 neglected; exact Poisson sampling costs 5× more); the others are
  drawn exactly.
"""

from __future__ import annotations

import math

import torch

from bxrd.xrd.draws import uniform
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.wavelength import two_theta_from_d

#: Mean count above which counting noise is drawn from the normal approximation.
NORMAL_ABOVE = 20.0
#: Spacing (degrees 2θ) on which the smooth background is evaluated before interpolation.
COARSE_STEP_DEG = 0.1
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def sample_background(
    cfg: RealismConfig, grid: TwoThetaGrid, wavelength: float, b: int, gen: torch.Generator
) -> torch.Tensor:
    """Background of ``b`` patterns, shape (B, n_points) (zeros where every part is off).

    Args:
        cfg: switches ``background``, ``hump``, ``air_scatter`` and their ranges.
        grid: the model grid (degrees 2θ at ``wavelength``).
        wavelength: model wavelength, Å.
        b: batch size.
        gen: random generator.
    """
    # every part is smooth on a scale of degrees: evaluate every COARSE_STEP_DEG, interpolate
    n_coarse = max(4, int(math.ceil((grid.stop - grid.start) / COARSE_STEP_DEG)) + 1)
    tt = torch.linspace(grid.start, grid.stop, n_coarse)[None, :]
    out = torch.zeros(b, n_coarse)
    if cfg.background:
        x = 2.0 * (tt[0] - grid.start) / (grid.stop - grid.start) - 1.0
        basis = [torch.ones_like(x), x]  # T_0, T_1, then T_k = 2x T_(k−1) − T_(k−2)
        while len(basis) <= cfg.chebyshev_degree:
            basis.append(2.0 * x * basis[-1] - basis[-2])
        c0 = uniform(*cfg.background_level, (b, 1), gen, torch.float32)
        rel = uniform(-0.3, 0.3, (b, cfg.chebyshev_degree), gen, torch.float32)
        coef = torch.cat([torch.ones(b, 1), rel], dim=1) * c0
        out = out + (coef @ torch.stack(basis[: cfg.chebyshev_degree + 1])).clamp_min(0.0)
    if cfg.hump:
        d = uniform(*cfg.hump_d, (b, 1), gen, torch.float32)
        centre = torch.from_numpy(two_theta_from_d(d.numpy().astype(float), wavelength)).float()
        sigma = uniform(*cfg.hump_fwhm_deg, (b, 1), gen, torch.float32) / _FWHM_PER_SIGMA
        height = uniform(*cfg.hump_height, (b, 1), gen, torch.float32)
        out = out + height * torch.exp(-0.5 * ((tt - centre.nan_to_num(0.0)) / sigma) ** 2)
    if cfg.air_scatter:
        level = uniform(*cfg.air_level, (b, 1), gen, torch.float32)
        decay = uniform(*cfg.air_decay_deg, (b, 1), gen, torch.float32)
        out = out + level * torch.exp(-(tt - grid.start) / decay)
    fine = (torch.from_numpy(grid.values).float() - grid.start) / (tt[0, 1] - tt[0, 0])
    i0 = fine.floor().long().clamp(max=n_coarse - 2)
    w = fine - i0
    lo, hi = torch.index_select(out, 1, i0), torch.index_select(out, 1, i0 + 1)
    return lo.lerp_(hi, w)


def counting_noise(
    patterns: torch.Tensor, peak_counts: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Draw the counts of a measurement: Poisson with mean ``patterns`` × ``peak_counts``.

    Args:
        patterns: expected intensities relative to the strongest main peak, ≥ 0 (not
            checked), shape (B, N).
        peak_counts: counts at relative intensity 1 per pattern, shape (B,).
        gen: random generator.

    Returns:
        Counts (float, ≥ 0), shape (B, N); var = mean (see module docstring).
    """
    lam = patterns * peak_counts[:, None].float()
    counts = torch.randn(lam.shape, generator=gen).mul_(lam.sqrt()).add_(lam)
    low = (lam < NORMAL_ABOVE).nonzero(as_tuple=True)
    if len(low[0]):
        counts.index_put_(low, torch.poisson(lam[low], generator=gen))
    return counts.clamp_min_(0.0)


def sample_peak_counts(cfg: RealismConfig, b: int, gen: torch.Generator) -> torch.Tensor:
    """Draw counts at the strongest main peak, log-uniform in ``cfg.peak_counts``, shape (B,)."""
    lo, hi = (math.log(v) for v in cfg.peak_counts)
    return torch.exp(uniform(lo, hi, b, gen)).float()


__all__ = ["NORMAL_ABOVE", "counting_noise", "sample_background", "sample_peak_counts"]
