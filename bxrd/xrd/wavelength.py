"""X-ray wavelengths (Å), characteristic emission lines and Bragg's law, λ = 2 d sin θ.

This module is the one place where Bragg's law and the line table live: renderers, readers,
wavelength conversion and hkl labelling all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bxrd.errors import BxrdInputError

#: Anode names accepted as shorthand for their Kα average (e.g. ``"Cu"`` → ``"CuKa"``).
ANODES: tuple[str, ...] = ("Cu", "Mo", "Cr", "Fe", "Co", "Ag")


@dataclass(frozen=True)
class EmissionLines:
    """Characteristic lines of an X-ray tube anode (Å).

    Attributes:
        anode: element symbol of the anode (``"Cu"``).
        ka1: Kα1 wavelength, Å.
        ka2: Kα2 wavelength, Å.
        ka2_ratio: intensity ratio I(Kα2) / I(Kα1) (≈ 0.5 for every anode: 2p3/2 vs 2p1/2).
        kb: Kβ1 wavelength, Å (leaks through a Ni/Fe/Mn/V/Zr filter at ~1 % of Kα1).
    """

    anode: str
    ka1: float
    ka2: float
    ka2_ratio: float
    kb: float

    @property
    def ka(self) -> float:
        """Intensity-weighted Kα average, Å: (λ1 + r λ2) / (1 + r)."""
        return (self.ka1 + self.ka2_ratio * self.ka2) / (1.0 + self.ka2_ratio)


#: Emission lines of the common anodes (Bearden 1967 / International Tables C, Å); Kα2/Kα1
#: intensity ratio 0.5 throughout.
EMISSION_LINES: dict[str, EmissionLines] = {
    "Cu": EmissionLines("Cu", 1.540562, 1.544390, 0.5, 1.392218),
    "Co": EmissionLines("Co", 1.788965, 1.792850, 0.5, 1.620790),
    "Fe": EmissionLines("Fe", 1.936042, 1.939980, 0.5, 1.756610),
    "Cr": EmissionLines("Cr", 2.289700, 2.293606, 0.5, 2.084870),
    "Mo": EmissionLines("Mo", 0.709300, 0.713590, 0.5, 0.632288),
    "Ag": EmissionLines("Ag", 0.559407, 0.563798, 0.5, 0.497082),
}


def emission_lines(anode: str) -> EmissionLines:
    """Lines of ``anode`` (``"Cu"``, ``"cu"``, ``"CuKa"`` all give copper).

    Raises:
        BxrdInputError: unknown anode.
    """
    key = anode.strip()[:2].capitalize()
    if key not in EMISSION_LINES:
        known = ", ".join(EMISSION_LINES)
        raise BxrdInputError(f"unknown anode {anode!r}: one of {known}")
    return EMISSION_LINES[key]


def resolve_wavelength(wavelength: str | float) -> float:
    """Wavelength in Å from a number or a name (``"CuKa"``, ``"CuKa1"``, ``"Mo"``, ``"1.5406"``).

    Names follow pymatgen's table (``CuKa`` is the Kα1/Kα2 weighted average, 1.54184 Å).

    Raises:
        BxrdInputError: unknown name, or a number outside 0.1–5 Å.
    """
    try:
        value = float(wavelength)
    except ValueError:
        value = _named_wavelength(wavelength.strip())
    if not 0.1 <= value <= 5.0:
        raise BxrdInputError(f"wavelength {value} Å is outside the X-ray range 0.1–5 Å")
    return value


def _named_wavelength(name: str) -> float:
    """Å of a named line (pymatgen's table, imported only for names: it is slow to import)."""
    from pymatgen.analysis.diffraction.xrd import WAVELENGTHS

    table = {k.lower(): v for k, v in WAVELENGTHS.items()}
    table.update({a.lower(): WAVELENGTHS[f"{a}Ka"] for a in ANODES})
    if name.lower() not in table:
        known = ", ".join(sorted(WAVELENGTHS))
        raise BxrdInputError(f"unknown wavelength {name!r}: give a value in Å or one of {known}")
    return float(table[name.lower()])


def two_theta_from_d(d_angstrom: np.ndarray, wavelength: float) -> np.ndarray:
    """2θ in degrees for spacings ``d`` (Å); NaN where λ / 2d > 1 (no reflection)."""
    s = wavelength / (2.0 * np.asarray(d_angstrom, dtype=float))
    with np.errstate(invalid="ignore"):
        return np.where(s <= 1.0, 2.0 * np.degrees(np.arcsin(np.minimum(s, 1.0))), np.nan)


def d_from_two_theta(two_theta_deg: np.ndarray, wavelength: float) -> np.ndarray:
    """Spacing d in Å for angles 2θ in degrees."""
    return wavelength / (2.0 * np.sin(np.radians(np.asarray(two_theta_deg, dtype=float) / 2.0)))
