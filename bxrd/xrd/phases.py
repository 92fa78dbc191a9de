"""Secondary phases and substrate reflections from real structures, at sampled weight fractions.

Intensity of a phase α in a mixture (Klug & Alexander; the basis of RIR quantification,
Chung, J. Appl. Cryst. 7, 519, 1974): I_hkl,α ∝ (w_α / ρ_α) · |F_hkl|² m LP / V_α², w the
weight fraction, ρ the density, V the cell volume (absorption contrast neglected). pymatgen's
unscaled intensities are |F|² m LP per cell, so S_α = max_hkl I / (ρ_α V_α²) is the phase's
peak scattering power per unit mass. Stick files keep only relative intensities of the main
phase, so its S is taken from a reference halide perovskite, cubic CsPbBr3 (a = 5.874 Å,
Cs 1b, Pb 1a, Br 3d): a phase at weight fraction w next to a main phase at 1 − Σw has its
strongest peak at (w / (1 − Σw)) · (S_α / S_ref) × the main phase's strongest peak.

Structures come from ``phase_dir/<formula>.json`` (a Materials Project summary document with
the structure under ``structure``, as in ``shared/data/structures/binaries_mp``, or a plain
pymatgen Structure dict) or ``<formula>.cif``; silicon, elemental and so absent from a binary
set, is built as diamond-type Si, a = 5.431 Å (substrate wafers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from bxrd.errors import BxrdInputError
from bxrd.xrd.draws import uniform
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.wavelength import two_theta_from_d

#: Sticks weaker than this fraction of a phase's strongest stick are dropped (speed).
MIN_RELATIVE_STICK = 0.01
#: At most this many sticks per phase, the strongest (speed; the weakest of a minor phase
#: stay below counting noise).
MAX_STICKS = 48
#: Smallest spacing simulated, Å (Cu Kα reaches it at 2θ ≈ 117°).
MIN_D = 0.9


def _reference_structure():  # noqa: ANN202 - pymatgen Structure, imported lazily
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(5.874), ["Cs", "Pb", "Br"], [[0.5] * 3, [0.0] * 3, [0.5, 0, 0]]
    )


def _silicon():  # noqa: ANN202
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0.0] * 3])


def load_phase_structure(phase_dir: str | Path, formula: str):  # noqa: ANN201
    """Read the structure of ``formula`` from ``phase_dir`` (see module docstring).

    Raises:
        BxrdInputError: no readable file for ``formula``.
    """
    from pymatgen.core import Structure

    folder = Path(phase_dir)
    path_json, path_cif = folder / f"{formula}.json", folder / f"{formula}.cif"
    try:
        if path_json.is_file():
            doc = json.loads(path_json.read_text())
            return Structure.from_dict(doc.get("structure", doc))
        if path_cif.is_file():
            return Structure.from_file(path_cif)
    except (ValueError, KeyError, TypeError) as exc:
        raise BxrdInputError(f"{path_json if path_json.is_file() else path_cif}: {exc}") from None
    if formula == "Si":
        return _silicon()
    raise BxrdInputError(
        f"secondary phase {formula!r}: no {formula}.json or {formula}.cif in {folder} "
        "(set realism.phase_dir, or drop it from realism.phases)"
    )


def scattering_power(structure, wavelength: float) -> tuple[float, np.ndarray, np.ndarray]:  # noqa: ANN001
    """(S = max I / (ρ V²), 1/d² per stick (Å⁻²), relative intensity per stick (max 1)).

    Sticks are pymatgen's peaks with d ≥ :data:`MIN_D`, at most :data:`MAX_STICKS` of them
    (families merged: no texture is applied to these phases).
    """
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    top_angle = float(two_theta_from_d(MIN_D, wavelength))
    pattern = XRDCalculator(wavelength=wavelength).get_pattern(
        structure, scaled=False, two_theta_range=(1.0, top_angle)
    )
    y = np.asarray(pattern.y, dtype=float)
    top = float(y.max())
    keep = y >= max(MIN_RELATIVE_STICK * top, np.sort(y)[::-1][:MAX_STICKS][-1])
    d = np.asarray(pattern.d_hkls, dtype=float)[keep]
    power = top / (float(structure.density) * structure.volume**2)
    return power, 1.0 / d**2, y[keep] / top


@dataclass
class PhaseLibrary:
    """Sticks of S secondary phases, padded to Q sticks.

    Attributes:
        names: formulas, length S.
        inv_d2: 1/d², Å⁻², shape (S, Q) (1 on padding).
        intensity: strongest-peak-relative stick intensities × S_α / S_ref, shape (S, Q)
            (0 on padding): the intensity per unit weight-fraction ratio, in units of the main
            phase's strongest peak.
    """

    names: tuple[str, ...]
    inv_d2: torch.Tensor
    intensity: torch.Tensor

    @classmethod
    def load(cls, phase_dir: str | Path, names: tuple[str, ...]) -> PhaseLibrary:
        """Simulate the phases ``names`` found in ``phase_dir`` (cached per folder and names)."""
        return _load_library(str(phase_dir), tuple(names))

    def sample(
        self, cfg: RealismConfig, main_peak: torch.Tensor, wavelength: float, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sticks of the secondary phases of B patterns.

        Args:
            cfg: ``phase_probability``, ``max_phases`` and ``weight_fraction``.
            main_peak: strongest main-phase stick per pattern, shape (B,).
            wavelength: model wavelength, Å.
            gen: random generator.

        Returns:
            Positions u = sin θ (2 beyond reach) and intensities, shape (B, max_phases · Q).
        """
        b, s, k = main_peak.shape[0], len(self.names), cfg.max_phases
        pick = torch.rand((b, s), generator=gen).argsort(dim=1)[:, :k]  # distinct phases
        count = torch.randint(1, k + 1, (b,), generator=gen)
        count = torch.where(torch.rand(b, generator=gen) < cfg.phase_probability, count, 0)
        lo, hi = cfg.weight_fraction
        w = uniform(lo, hi, (b, k), gen, torch.float32)
        w = torch.where(torch.arange(k)[None, :] < count[:, None], w, 0.0)
        scale = w / (1.0 - w.sum(dim=1, keepdim=True)) * main_peak[:, None]
        u = wavelength / 2.0 * torch.sqrt(self.inv_d2[pick])  # (B, k, Q)
        inten = self.intensity[pick] * scale[:, :, None]
        inten = torch.where(u < 1.0, inten, 0.0)
        return torch.where(u < 1.0, u, 2.0).reshape(b, -1).float(), inten.reshape(b, -1).float()


@lru_cache(maxsize=4)
def _load_library(phase_dir: str, names: tuple[str, ...]) -> PhaseLibrary:
    if not names:
        raise BxrdInputError("realism.phases is empty while secondary_phases is on")
    lam = 1.0  # any wavelength: only d and relative intensities are kept
    ref_power = scattering_power(_reference_structure(), lam)[0]
    rows = [scattering_power(load_phase_structure(phase_dir, n), lam) for n in names]
    q = max(len(r[1]) for r in rows)
    inv_d2, inten = np.ones((len(rows), q)), np.zeros((len(rows), q))
    for i, (power, g2, rel) in enumerate(rows):
        inv_d2[i, : len(g2)], inten[i, : len(rel)] = g2, rel * power / ref_power
    return PhaseLibrary(tuple(names), torch.from_numpy(inv_d2), torch.from_numpy(inten).float())


__all__ = ["MIN_RELATIVE_STICK", "PhaseLibrary", "load_phase_structure", "scattering_power"]
