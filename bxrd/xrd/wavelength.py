"""X-ray wavelengths (Å) and Bragg's law, λ = 2 d sin θ."""

from __future__ import annotations

import numpy as np

from bxrd.errors import BxrdInputError

#: Anode names accepted as shorthand for their Kα average (e.g. ``"Cu"`` → ``"CuKa"``).
ANODES: tuple[str, ...] = ("Cu", "Mo", "Cr", "Fe", "Co", "Ag")


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
