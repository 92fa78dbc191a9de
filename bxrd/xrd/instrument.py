"""The diffractometer of each rendered pattern: emission lines, profile, sample geometry.

Positions are handled in u = sin θ at the model wavelength λ_m (the frame of the model grid).
A measured pattern from an anode with weighted Kα wavelength λ_a is converted to the model grid
by Bragg's law (sin θ_m = sin θ_a · λ_m / λ_a), so a reflection of spacing d seen by a line of
wavelength λ_l sits at u = λ_m / (2d) · λ_l / λ_a: each line is the main stick's u times the
ratio ρ_l = λ_l / λ_a (:data:`bxrd.xrd.wavelength.EMISSION_LINES`). Kα1 and Kα2 carry
1 / (1 + r) and r / (1 + r) of the integrated intensity (r = I(Kα2)/I(Kα1) ≈ 0.5); Kβ, when
it leaks, adds a fraction of Kα1.

Instrument and sample effects are computed in the anode's own angles θ_a (where the physics
is stated) and carried back to the model frame:

* Caglioti: FWHM² = U tan²θ_a + V tan θ_a + W (deg² of 2θ); pseudo-Voigt with Lorentzian
  fraction η; in u: Δu = cos θ_a · FWHM(rad) / 2 · λ_m / λ_a.
* axial asymmetry: a one-sided exponential tail toward low angle of decay τ = A cot 2θ_a.
* microstrain: β = 4 ε tan θ (radians 2θ) is Δu = 2 ε u, the same in every frame.
* displacement: Δ2θ_a = −2 (s / R) cos θ_a (radians) plus a zero offset, per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from bxrd.errors import BxrdInputError
from bxrd.xrd.draws import uniform
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.wavelength import EMISSION_LINES, resolve_wavelength


@dataclass
class InstrumentDraw:
    """Instrument and geometry of B patterns with L emission-line slots.

    Attributes:
        line_ratio: λ_line / λ_anode per slot, shape (B, L).
        line_weight: share of a stick's integrated intensity per slot (0: absent), (B, L).
        frame: λ_anode / λ_model, shape (B,); sin θ_a = u · frame.
        caglioti: U, V, W in deg², shape (B, 3) (all 0: no instrument profile).
        eta: Lorentzian fraction of the instrument pseudo-Voigt, shape (B,).
        asymmetry_deg: A of the low-angle tail τ = A cot 2θ_a, degrees 2θ, shape (B,).
        microstrain: ε, shape (B,).
        displacement: s / R (dimensionless), shape (B,).
        zero_deg: zero offset, degrees 2θ, shape (B,).
    """

    line_ratio: torch.Tensor
    line_weight: torch.Tensor
    frame: torch.Tensor
    caglioti: torch.Tensor
    eta: torch.Tensor
    asymmetry_deg: torch.Tensor
    microstrain: torch.Tensor
    displacement: torch.Tensor
    zero_deg: torch.Tensor

    def __len__(self) -> int:
        return self.frame.shape[0]

    def place(self, u: torch.Tensor, intensity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sticks of every emission line after displacement and zero offset.

        Args:
            u: main-line positions sin θ at the model wavelength, shape (B, P).
            intensity: integrated intensities, shape (B, P).

        Returns:
            Positions u (2 where no reflection) and intensities, shape (B, P·L).
        """
        b = u.shape[0]
        frame = self.frame[:, None, None].float()
        s_a = u[:, :, None].float() * self.line_ratio[:, None, :].float() * frame
        valid = s_a < 1.0
        theta = torch.asin(s_a.clamp(max=1.0))
        shift = -2.0 * self.displacement[:, None, None].float() * torch.cos(theta)
        theta = theta + 0.5 * (shift + torch.deg2rad(self.zero_deg)[:, None, None].float())
        valid &= (theta > 0) & (theta < math.pi / 2)
        out_u = torch.where(valid, torch.sin(theta) / frame, 2.0)
        weight = self.line_weight[:, None, :].float()
        out_i = torch.where(valid, intensity[:, :, None].float() * weight, 0.0)
        return out_u.reshape(b, -1), out_i.reshape(b, -1)

    def _anode_angle(self, u_c: torch.Tensor) -> torch.Tensor:
        """θ_a (radians) at model-frame positions ``u_c`` (K,), shape (B, K)."""
        return torch.asin((u_c[None, :] * self.frame[:, None]).clamp(1e-6, 0.999))

    def fwhm_u(self, u_c: torch.Tensor) -> torch.Tensor:
        """Caglioti FWHM in u (model frame) at positions ``u_c`` (K,), shape (B, K)."""
        theta = self._anode_angle(u_c)
        t = torch.tan(theta)
        u, v, w = (self.caglioti[:, i, None] for i in range(3))
        fwhm_deg = torch.sqrt((u * t**2 + v * t + w).clamp_min(0.0))
        return torch.cos(theta) * torch.deg2rad(fwhm_deg) / 2.0 / self.frame[:, None]

    def tail_u(self, u_c: torch.Tensor) -> torch.Tensor:
        """Decay length of the low-angle tail in u at ``u_c`` (K,), shape (B, K)."""
        theta = self._anode_angle(u_c)
        tau_deg = (self.asymmetry_deg[:, None] / torch.tan(2.0 * theta)).clamp_min(0.0)
        return torch.cos(theta) * torch.deg2rad(tau_deg) / 2.0 / self.frame[:, None]

    def strain_fwhm_u(self, u_c: torch.Tensor) -> torch.Tensor:
        """Microstrain FWHM in u, 2 ε u, at ``u_c`` (K,), shape (B, K)."""
        return 2.0 * self.microstrain[:, None] * u_c[None, :]


def caglioti_fwhm_deg(two_theta_deg: float, u: float, v: float, w: float) -> float:
    """FWHM in degrees 2θ from Caglioti's U, V, W (deg²): √(U tan²θ + V tan θ + W)."""
    t = math.tan(math.radians(two_theta_deg) / 2.0)
    return math.sqrt(max(u * t * t + v * t + w, 0.0))


def _lines(anode: str | float, cfg: RealismConfig) -> tuple[float, list[float], list[float]]:
    """(λ_anode, ratios, weights) for the slots Kα1, Kα2[, Kβ] of one anode."""
    try:
        lam = float(anode)
    except ValueError:
        key = str(anode).strip()[:2].capitalize()
        if key not in EMISSION_LINES:
            raise BxrdInputError(
                f"realism.anodes: unknown anode {anode!r}; one of {', '.join(EMISSION_LINES)}"
                " or a wavelength in Å"
            ) from None
        lines = EMISSION_LINES[key]
        r = lines.ka2_ratio if cfg.doublet else 0.0
        ka = lines.ka
        ratios = [lines.ka1 / ka, lines.ka2 / ka, lines.kb / ka]
        if not cfg.doublet:
            ratios[0] = 1.0
        return ka, ratios, [1.0 / (1.0 + r), r / (1.0 + r), 1.0 / (1.0 + r)]
    return resolve_wavelength(lam), [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]


def sample_instrument(
    cfg: RealismConfig, b: int, model_wavelength: float, gen: torch.Generator
) -> InstrumentDraw:
    """Draw the instrument of ``b`` patterns from the ranges of ``cfg`` (switches respected)."""
    table = [_lines(a, cfg) for a in cfg.anodes]
    pick = torch.randint(len(table), (b,), generator=gen)
    lam = torch.tensor([t[0] for t in table], dtype=torch.float64)[pick]
    ratio = torch.tensor([t[1] for t in table], dtype=torch.float64)[pick]
    weight = torch.tensor([t[2] for t in table], dtype=torch.float64)[pick]
    mono = torch.rand(b, generator=gen) < cfg.kalpha1_only_fraction
    weight[:, 1] = torch.where(mono, 0.0, weight[:, 1])
    weight[:, 0] = torch.where(mono & (ratio[:, 0] != 1.0), 1.0, weight[:, 0])
    n_lines = 3 if cfg.kbeta else 2 if cfg.doublet else 1
    if cfg.kbeta:
        weight[:, 2] = weight[:, 2] * uniform(*cfg.kbeta_ratio, b, gen)
        weight[:, 2] = torch.where(ratio[:, 2] == 1.0, 0.0, weight[:, 2])
    zeros = torch.zeros(b, dtype=torch.float64)
    if cfg.instrument:
        u = uniform(*cfg.caglioti_u, b, gen)
        w = uniform(*cfg.caglioti_w, b, gen)
        v = -uniform(*cfg.caglioti_v_fraction, b, gen) * 2.0 * torch.sqrt(u * w)
        caglioti = torch.stack([u, v, w], dim=1)
        eta = uniform(*cfg.eta, b, gen)
    else:
        caglioti, eta = torch.zeros(b, 3, dtype=torch.float64), zeros
    if cfg.displacement:
        s = uniform(*cfg.displacement_mm, b, gen) / uniform(*cfg.goniometer_radius_mm, b, gen)
        zero = uniform(-cfg.zero_offset_deg, cfg.zero_offset_deg, b, gen)
    else:
        s, zero = zeros, zeros
    return InstrumentDraw(
        line_ratio=ratio[:, :n_lines],
        line_weight=weight[:, :n_lines],
        frame=lam / model_wavelength,
        caglioti=caglioti.float(),
        eta=eta.float(),
        asymmetry_deg=(uniform(*cfg.asymmetry_deg, b, gen) if cfg.asymmetry else zeros).float(),
        microstrain=(uniform(*cfg.microstrain_range, b, gen) if cfg.microstrain else zeros).float(),
        displacement=s,
        zero_deg=zero,
    )


__all__ = ["InstrumentDraw", "caglioti_fwhm_deg", "sample_instrument"]
