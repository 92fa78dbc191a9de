"""Simulate stick patterns with pymatgen's ``XRDCalculator`` and Debye–Waller damping."""

from __future__ import annotations

import numpy as np
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Structure

from bxrd.xrd.debye_waller import debye_waller_factors
from bxrd.xrd.sticks import StickPattern
from bxrd.xrd.wavelength import resolve_wavelength

#: Default simulated range, degrees 2θ: the default 10–80° grid plus room for strain and shift.
DEFAULT_SIM_RANGE: tuple[float, float] = (5.0, 90.0)


def _three_index(hkl: tuple[int, ...]) -> tuple[int, int, int]:
    """Miller–Bravais (h, k, i, l) → Miller (h, k, l); 3-index input is returned as is."""
    return (hkl[0], hkl[1], hkl[3]) if len(hkl) == 4 else (hkl[0], hkl[1], hkl[2])


def simulate_sticks(
    structure: Structure,
    wavelength: str | float = "CuKa",
    two_theta_range: tuple[float, float] = DEFAULT_SIM_RANGE,
    debye_waller: dict[str, float] | None = None,
    meta: dict | None = None,
) -> StickPattern:
    """Simulate the powder stick pattern of ``structure``.

    Args:
        structure: crystal structure (lattice in Å).
        wavelength: name (``"CuKa"``) or value in Å.
        two_theta_range: simulated range, degrees 2θ.
        debye_waller: element → B (Å²); default :func:`debye_waller_factors`.
        meta: provenance stored with the sticks.

    Returns:
        One stick per (peak, hkl family); intensities scaled so the strongest peak is 100.
    """
    lam = resolve_wavelength(wavelength)
    factors = debye_waller_factors(structure) if debye_waller is None else debye_waller
    calc = XRDCalculator(wavelength=lam, debye_waller_factors=factors)
    pattern = calc.get_pattern(structure, scaled=True, two_theta_range=two_theta_range)
    rows = []
    for tt, inten, fams, d in zip(pattern.x, pattern.y, pattern.hkls, pattern.d_hkls, strict=True):
        total = sum(f["multiplicity"] for f in fams)
        for fam in fams:
            share = inten * fam["multiplicity"] / total
            rows.append((tt, share, _three_index(fam["hkl"]), d, fam["multiplicity"]))
    return StickPattern(
        two_theta=np.array([r[0] for r in rows], dtype=np.float64),
        intensity=np.array([r[1] for r in rows], dtype=np.float64),
        hkl=np.array([r[2] for r in rows], dtype=np.int32).reshape(-1, 3),
        d=np.array([r[3] for r in rows], dtype=np.float64),
        multiplicity=np.array([r[4] for r in rows], dtype=np.int32),
        lattice=np.array(structure.lattice.matrix, dtype=np.float64),
        wavelength=lam,
        meta=dict(meta or {}),
    )
