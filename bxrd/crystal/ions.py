"""Ions of the ABX3 sites: Shannon radii, candidate lists and perovskite geometry factors.

All radii are Shannon (1976) effective ionic radii in Å as tabulated in pymatgen. The
coordination number (CN) used per site is the one of the ideal perovskite: XII for A,
VI for B and VI for X. When pymatgen has no radius at the preferred CN, the largest
tabulated CN in the fallback list is used and recorded on the :class:`Ion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pymatgen.core.periodic_table import Element

Role = Literal["A", "B", "X"]

#: Coordination numbers tried in order for each site role (Roman numerals, as in pymatgen).
CN_PREFERENCE: dict[str, tuple[str, ...]] = {
    "A": ("XII", "XI", "X", "IX", "VIII"),
    "B": ("VI",),
    "X": ("VI",),
}

#: Elements never proposed as substituents: noble gases, H, and elements without stable isotopes.
EXCLUDED_ELEMENTS: frozenset[str] = frozenset(
    ["H", "He", "Ne", "Ar", "Kr", "Xe", "Rn", "Tc", "Pm", "Po", "At", "Fr", "Ra"]
)


@dataclass(frozen=True)
class Ion:
    """An element in one oxidation state with its Shannon radius.

    Attributes:
        element: element symbol, e.g. ``"Sr"``.
        charge: oxidation state (integer, negative for anions).
        radius: Shannon effective ionic radius in Å.
        cn: coordination number (Roman numeral) at which ``radius`` is tabulated.
    """

    element: str
    charge: int
    radius: float
    cn: str

    def __str__(self) -> str:
        sign = "+" if self.charge > 0 else "-"
        return f"{self.element}{abs(self.charge)}{sign}"


@lru_cache(maxsize=4096)
def ion_for(element: str, charge: int, role: Role) -> Ion | None:
    """Return the :class:`Ion` of ``element`` in ``charge`` on site ``role``, or None.

    None means pymatgen tabulates no Shannon radius at any coordination allowed for the role.
    """
    table = Element(element).data.get("Shannon radii", {}).get(str(charge), {})
    for cn in CN_PREFERENCE[role]:
        by_spin = table.get(cn)
        if not by_spin:
            continue
        # Transition-metal ions are tabulated per spin state; high spin is the usual state
        # in oxides and halides at ambient conditions.
        entry = by_spin.get("High Spin") or next(iter(by_spin.values()))
        return Ion(element, charge, float(entry["ionic_radius"]), cn)
    return None


@lru_cache(maxsize=16)
def candidate_ions(role: Role, charge: int, max_z: int = 83) -> tuple[Ion, ...]:
    """All ions that can sit on ``role`` with oxidation state ``charge``, from pymatgen data.

    An element qualifies when ``charge`` is among its common oxidation states, it has a
    Shannon radius at a coordination allowed for the role, its atomic number is at most
    ``max_z`` (83 = Bi, the last element with a stable isotope), and it is not excluded.
    Result is sorted by element symbol, so it is reproducible.
    """
    ions = []
    for z in range(1, max_z + 1):
        element = Element.from_Z(z)
        if element.symbol in EXCLUDED_ELEMENTS or charge not in element.common_oxidation_states:
            continue
        ion = ion_for(element.symbol, charge, role)
        if ion is not None:
            ions.append(ion)
    return tuple(sorted(ions, key=lambda i: i.element))


def tolerance_factor(a: Ion, b: Ion, x: Ion) -> float:
    """Goldschmidt tolerance factor t = (r_A + r_X) / (√2 (r_B + r_X)), dimensionless."""
    return (a.radius + x.radius) / (math.sqrt(2.0) * (b.radius + x.radius))


def octahedral_factor(b: Ion, x: Ion) -> float:
    """Octahedral factor μ = r_B / r_X, dimensionless."""
    return b.radius / x.radius


def pseudocubic_parameter(a: Ion, b: Ion, x: Ion) -> float:
    """Ideal cubic perovskite lattice parameter in Å from ionic radii.

    a_pc = max(2 (r_B + r_X), √2 (r_A + r_X)): the cell is set by the corner-sharing BX6
    octahedra unless the A cation is too large for the cavity (t > 1), when the A–X
    contacts set it. This was TER's rescale rule; it is degenerate (with t < 1 the A cation is
    ignored, with t > 1 the B cation) and is kept only as the baseline that
    ``scripts/evaluate_structure_model.py`` compares the structure model
    (:mod:`bxrd.crystal.structure_model`) with.
    """
    return max(2.0 * (b.radius + x.radius), math.sqrt(2.0) * (a.radius + x.radius))
