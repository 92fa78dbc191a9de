"""Render stick patterns on a 2θ grid with Scherrer size broadening, batched in torch.

Physics that makes this fast: with u = sin θ, the Scherrer width β(2θ) = Kλ / (L cos θ)
(radians) becomes Δu = Kλ / (2L), the same for every reflection. So each pattern is one
convolution on a uniform u-grid: sticks are deposited on the u-grid (linear weights), the
grid is convolved with the pattern's kernel by FFT (the kernel's Fourier transform is
analytic: Gaussian exp(-2π²σ²f²), Lorentzian exp(-πΓ|f|)), and the result is interpolated
onto the 2θ grid. Each stick is deposited with weight I·cos θ so that its *area in 2θ* is
proportional to its integrated intensity I, as in a measured pattern.

With an instrument (:class:`bxrd.xrd.instrument.InstrumentDraw`) the kernel is no longer the
same for every reflection: the Caglioti width, the microstrain width (Δu = 2εu) and the
axial-divergence tail change with angle. The u-range is then cut into ``n_bands`` equal bands;
each band is its own short FFT segment (the band plus a margin on both sides for the kernel's
tails), convolved with the kernel evaluated at the band centre, and the segments are summed
back (overlap-add). The kernel is the product of analytic transforms: size (the renderer's
``profile``) × instrument pseudo-Voigt [η exp(−πΓ|f|) + (1 − η) exp(−2π²σ²f²), the same FWHM
Γ for both parts] × strain Gaussian × low-angle tail 1 / (1 − 2πifτ) (a one-sided exponential
(1/τ) e^{x/τ}, x ≤ 0). Widths are piecewise constant over bands (a few % of the width per
band step); the cost is about that of one full-length FFT pair, whatever the band count.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.instrument import InstrumentDraw
from bxrd.xrd.wavelength import resolve_wavelength

Profile = Literal["gaussian", "lorentzian", "pseudo_voigt"]
_GAUSS_SIGMA_PER_FWHM = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: log2(e): e^x = 2^(x log2 e).
_LOG2_E = 1.0 / math.log(2.0)
#: Room in u for instrument, strain and tail broadening on each side of a band segment.
_BAND_TAIL_U = 0.01


def scherrer_fwhm_deg(
    two_theta_deg: np.ndarray | float, size_nm: float, wavelength: float, k: float = 0.9
) -> np.ndarray:
    """Scherrer FWHM in degrees 2θ: β = Kλ / (L cos θ), with L in nm and λ in Å."""
    theta = np.radians(np.asarray(two_theta_deg) / 2.0)
    return np.degrees(k * wavelength / (size_nm * 10.0 * np.cos(theta)))


class Renderer:
    """Turn sticks at u = sin θ into patterns on a fixed 2θ grid.

    Args:
        grid: output 2θ grid.
        wavelength: name or Å; used only to convert the Scherrer width (sticks come as u).
        profile: peak shape; ``pseudo_voigt`` mixes Lorentzian fraction ``eta``.
        eta: Lorentzian fraction of the pseudo-Voigt, in [0, 1].
        scherrer_k: Scherrer shape constant K.
        min_size_nm: smallest crystallite size that will be rendered (sets the padding).
    """

    def __init__(
        self,
        grid: TwoThetaGrid,
        wavelength: str | float = "CuKa",
        profile: Profile = "gaussian",
        eta: float = 0.5,
        scherrer_k: float = 0.9,
        min_size_nm: float = 5.0,
    ) -> None:
        if profile not in ("gaussian", "lorentzian", "pseudo_voigt"):
            raise ValueError(f"profile must be gaussian, lorentzian or pseudo_voigt: {profile!r}")
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {eta}")
        self.grid, self.profile, self.eta, self.k = grid, profile, eta, scherrer_k
        self.wavelength = resolve_wavelength(wavelength)
        u_grid = np.sin(np.radians(grid.values / 2.0))
        widest = scherrer_k * self.wavelength / (2.0 * min_size_nm * 10.0)
        margin = (30.0 if profile != "gaussian" else 5.0) * widest
        self.du = float(np.diff(u_grid).min())
        self.u_lo = float(max(u_grid[0] - margin, 0.0))
        u_hi = float(min(u_grid[-1] + margin, 1.0))
        self.n = _fast_size(int(math.ceil((u_hi - self.u_lo) / self.du)) + 2)
        pos = (u_grid - self.u_lo) / self.du
        i0 = np.floor(pos).astype(np.int64)
        self._i0 = torch.from_numpy(i0)
        self._w = torch.from_numpy(pos - i0).float()
        self._freq = torch.fft.rfftfreq(self.n, d=self.du)
        self._widest = widest
        self._band_layouts: dict[int, tuple[int, int, int]] = {}

    def fwhm_u(self, size_nm: torch.Tensor) -> torch.Tensor:
        """Scherrer FWHM in u = sin θ for crystallite sizes in nm: Kλ / (2L)."""
        return self.k * self.wavelength / (2.0 * size_nm * 10.0)

    def kernel_ft(self, size_nm: torch.Tensor, freq: torch.Tensor | None = None) -> torch.Tensor:
        """Transform of the unit-area size profile per pattern, shape (B, F).

        Args:
            size_nm: crystallite sizes, nm, shape (B,).
            freq: frequencies (1/u), shape (F,); default the full canvas's rfft frequencies.
        """
        fwhm = self.fwhm_u(size_nm.float())[:, None]
        f = (self._freq if freq is None else freq)[None, :]
        g2 = -2.0 * _LOG2_E * (math.pi * _GAUSS_SIGMA_PER_FWHM) ** 2  # base-2 exponent per (Γf)²
        gauss = torch.exp2(g2 * (fwhm * f) ** 2)
        if self.profile == "gaussian":
            return gauss
        lorentz = torch.exp2((-math.pi * _LOG2_E) * fwhm * f.abs())
        if self.profile == "lorentzian":
            return lorentz
        return self.eta * lorentz + (1.0 - self.eta) * gauss

    def __call__(
        self,
        u: torch.Tensor,
        intensity: torch.Tensor,
        size_nm: torch.Tensor,
        instrument: InstrumentDraw | None = None,
        n_bands: int = 4,
    ) -> torch.Tensor:
        """Render a batch.

        Args:
            u: stick positions sin θ, shape (B, P); sticks outside the grid plus its margin,
                u_lo to u_lo + (n − 2) du, are dropped.
            intensity: integrated intensities, shape (B, P); padding sticks carry 0.
            size_nm: crystallite size per pattern, nm, shape (B,).
            instrument: emission lines, instrument profile and geometry per pattern
                (None: one line, size broadening only).
            n_bands: bands of the angle-dependent kernel (with ``instrument`` only).

        Returns:
            Patterns on the 2θ grid, shape (B, n_points), each scaled to a maximum of 1.
        """
        if instrument is not None:
            u, intensity = instrument.place(u, intensity)
            out = self._render_bands(u, intensity, size_nm, instrument, n_bands)
            return out.div_(out.amax(dim=1, keepdim=True).clamp_min(1e-12))
        b = u.shape[0]
        pos = (u - self.u_lo) / self.du
        inside = (pos >= 0) & (pos <= self.n - 2) & (intensity > 0)
        pos = torch.where(inside, pos, torch.zeros_like(pos))
        i0 = pos.floor().long()
        w = pos - i0
        amp = torch.where(inside, intensity * torch.sqrt(1.0 - u.clamp(0, 1) ** 2), 0.0)
        canvas = torch.zeros(b, self.n, dtype=torch.float32)
        canvas.scatter_add_(1, i0, (amp * (1 - w)).float())
        canvas.scatter_add_(1, i0 + 1, (amp * w).float())
        smooth = torch.fft.irfft(torch.fft.rfft(canvas) * self.kernel_ft(size_nm), n=self.n)
        lo = torch.index_select(smooth, 1, self._i0)
        hi = torch.index_select(smooth, 1, self._i0 + 1)
        out = lo.lerp_(hi, self._w).clamp_min_(0.0)
        return out.div_(out.amax(dim=1, keepdim=True).clamp_min(1e-12))

    def _bands(self, n_bands: int) -> tuple[int, int, int]:
        """(core points per band S, margin points m, segment length L) for ``n_bands``."""
        if n_bands not in self._band_layouts:
            core = -(-(self.n - 1) // n_bands)
            margin = int(math.ceil((2.0 * self._widest + _BAND_TAIL_U) / self.du))
            self._band_layouts[n_bands] = (core, margin, _fast_size(core + 2 * margin + 2))
        return self._band_layouts[n_bands]

    def _render_bands(
        self,
        u: torch.Tensor,
        intensity: torch.Tensor,
        size_nm: torch.Tensor,
        instrument: InstrumentDraw,
        n_bands: int,
    ) -> torch.Tensor:
        """Angle-dependent kernel by bands (module docstring); (B, n_points), not normalised."""
        b, k = u.shape[0], n_bands
        core, margin, seg = self._bands(k)
        pos = (u - self.u_lo) * (1.0 / self.du)
        inside = ((pos >= 0) & (pos <= self.n - 2) & (intensity > 0)).float()
        pos = pos.mul_(inside)
        band = torch.div(pos, core, rounding_mode="floor").clamp_(0, k - 1)
        local = pos.sub_(band * core).add_(margin)
        i0 = local.floor()
        w = local.sub_(i0)
        amp = intensity * inside * torch.sqrt(1.0 - u.clamp(0, 1) ** 2)
        index = (band + (torch.arange(b, dtype=torch.float32) * k)[:, None]).mul_(seg).add_(i0)
        index = index.long().flatten()
        canvas = torch.zeros(b * k * seg, dtype=torch.float32)
        upper = amp * w
        canvas.index_add_(0, index, amp.sub_(upper).flatten())
        canvas.index_add_(0, index + 1, upper.flatten())
        spectrum = torch.fft.rfft(canvas.view(b, k, seg))
        freq = torch.fft.rfftfreq(seg, d=self.du)
        centres = self.u_lo + (torch.arange(k, dtype=torch.float64) + 0.5) * core * self.du
        centres = centres.clamp(max=1.0)
        spectrum.mul_(self._band_kernel_ft(size_nm, instrument, centres, freq))
        pieces = torch.fft.irfft(spectrum, n=seg)  # (B, K, L)
        # overlap-add, segment j at j·core, one core-long chunk of every segment at a time
        chunks = -(-seg // core)
        full = torch.zeros(b, (k + chunks - 1) * core)
        for i in range(chunks):
            lo, hi = i * core, min((i + 1) * core, seg)
            full[:, lo : lo + k * core].view(b, k, core)[:, :, : hi - lo].add_(pieces[:, :, lo:hi])
        lo = torch.index_select(full, 1, self._i0 + margin)
        hi = torch.index_select(full, 1, self._i0 + margin + 1)
        return lo.lerp_(hi, self._w).clamp_min_(0.0)

    def _band_kernel_ft(
        self,
        size_nm: torch.Tensor,
        instrument: InstrumentDraw,
        centres: torch.Tensor,
        freq: torch.Tensor,
    ) -> torch.Tensor:
        """Transform of the whole profile at each band centre, shape (B, K, F).

        Real without an asymmetric tail, complex with one. The pseudo-Voigt's two parts are
        η e^{−πΓf − 2π²σ_s²f²} and (1 − η) e^{−2π²(σ_i² + σ_s²)f²} (σ_s: strain, and size for
        a Gaussian size profile); their exponents, weights included as ln η and ln(1 − η),
        are evaluated for both parts at once and in base 2 (``exp2`` is many times faster
        than ``exp`` on CPU).
        """
        f = freq.float()
        gamma = instrument.fwhm_u(centres).float()
        var_s = (instrument.strain_fwhm_u(centres).float() * _GAUSS_SIGMA_PER_FWHM) ** 2
        if self.profile == "gaussian":  # size broadening joins the Gaussian exponents
            var_s = var_s + ((self.fwhm_u(size_nm.float()) * _GAUSS_SIGMA_PER_FWHM) ** 2)[:, None]
        var_i = (gamma * _GAUSS_SIGMA_PER_FWHM) ** 2
        eta = instrument.eta.float()[:, None].expand_as(gamma)
        g2 = -2.0 * math.pi**2  # Gaussian exponent per unit variance and f²
        # exponent = c + a f + b f², per (pattern, band, part), shape (B, K, 2, 1) each
        a = torch.stack([-math.pi * gamma, torch.zeros_like(gamma)], dim=2)
        b = torch.stack([var_s, var_i + var_s], dim=2) * g2
        c = torch.stack([torch.log(eta), torch.log1p(-eta)], dim=2)
        a, b, c = (v.mul_(_LOG2_E)[..., None] for v in (a, b, c))
        parts = torch.addcmul(c, a, f).addcmul_(b, f * f).exp2_()  # (B, K, 2, F)
        kernel = parts[:, :, 0].add_(parts[:, :, 1])
        if self.profile != "gaussian":
            kernel = kernel.mul_(self.kernel_ft(size_nm, freq)[:, None, :])
        if not bool(instrument.asymmetry_deg.any()):
            return kernel
        # one-sided tail: 1 / (1 − iφ) = (1 + iφ) / (1 + φ²), φ = 2π f τ
        phi = (2.0 * math.pi * instrument.tail_u(centres).float()[:, :, None]) * f
        kernel = kernel.div_(torch.addcmul(torch.ones(()), phi, phi))
        return torch.complex(kernel, phi.mul_(kernel))


def _fast_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c ≥ n (fast FFT length)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best
