"""Element-specific isotropic Debye–Waller factors B (Å²) at room temperature.

The intensity of a reflection is damped by exp(-B sin²θ / λ²) per atom (pymatgen applies it in
``XRDCalculator``). Values are representative room-temperature isotropic B of ions in refined
perovskite oxide and halide structures (B = 8π² U_iso), rounded to 0.05 Å²; the ``basis``
column says which family each value stands for. They are a physically sensible default, not a
substitute for refined values of a specific compound: pass your own table to override.

Fallback for an element not in the table: the tabulated element of the same periodic-table
group that has the same oxidation state (closest atomic number); if none, the tabulated
element with the same oxidation state and closest atomic number; if none, 0.5 Å² for a cation
and 1.0 Å² for an anion.
"""

from __future__ import annotations

from pymatgen.core import Structure
from pymatgen.core.periodic_table import Element

#: element → (B in Å², oxidation state it was taken for, basis).
DEBYE_WALLER_TABLE: dict[str, tuple[float, int, str]] = {
    "O": (0.60, -2, "O in SrTiO3 / CaTiO3-type oxides, 295 K"),
    "F": (0.90, -1, "F in KMgF3 / NaMgF3-type fluorides, 295 K"),
    "Cl": (1.80, -1, "Cl in CsPbCl3 / KMnCl3-type chlorides, 295 K"),
    "Br": (2.50, -1, "Br in CsPbBr3-type bromides, 295 K"),
    "I": (3.00, -1, "I in CsPbI3 / MAPbI3-type iodides, 295 K"),
    "Li": (1.00, 1, "Li on A site, LiNbO3-type / Li-doped perovskites"),
    "Na": (0.90, 1, "Na in NaNbO3, 295 K"),
    "K": (0.80, 1, "K in KNbO3 / KMgF3, 295 K"),
    "Rb": (1.50, 1, "Rb in RbPbI3 / RbCaF3"),
    "Cs": (2.50, 1, "Cs in CsPbX3 halides, 295 K"),
    "Ag": (1.20, 1, "Ag in AgNbO3, 295 K"),
    "Tl": (1.50, 1, "Tl in TlMnCl3-type"),
    "Mg": (0.50, 2, "Mg in MgSiO3 bridgmanite / KMgF3"),
    "Ca": (0.55, 2, "Ca in CaTiO3, 295 K"),
    "Sr": (0.55, 2, "Sr in SrTiO3, 295 K"),
    "Ba": (0.45, 2, "Ba in BaTiO3, 295 K"),
    "Pb": (1.20, 2, "Pb in PbTiO3 (A) / CsPbX3 (B), 295 K"),
    "Cd": (0.70, 2, "Cd in CdTiO3"),
    "Sn": (0.50, 4, "Sn in BaSnO3 / CsSnI3"),
    "Ge": (0.45, 4, "Ge in CsGeI3"),
    "Ti": (0.35, 4, "Ti in SrTiO3 / CaTiO3, 295 K"),
    "Zr": (0.35, 4, "Zr in SrZrO3 / BaZrO3"),
    "Hf": (0.30, 4, "Hf in BaHfO3 / SrHfO3"),
    "Ce": (0.40, 4, "Ce in BaCeO3"),
    "Mn": (0.40, 4, "Mn in CaMnO3 / LaMnO3"),
    "Ru": (0.35, 4, "Ru in SrRuO3"),
    "Ir": (0.30, 4, "Ir in SrIrO3"),
    "Si": (0.35, 4, "Si in MgSiO3 bridgmanite"),
    "V": (0.40, 5, "V in KVO3-type"),
    "Nb": (0.35, 5, "Nb in KNbO3 / NaNbO3"),
    "Ta": (0.30, 5, "Ta in KTaO3"),
    "Sb": (0.40, 5, "Sb in NaSbO3"),
    "Sc": (0.40, 3, "Sc in LaScO3"),
    "Y": (0.40, 3, "Y in YAlO3"),
    "La": (0.45, 3, "La in LaAlO3 / LaMnO3, 295 K"),
    "Nd": (0.40, 3, "Nd in NdGaO3"),
    "Gd": (0.40, 3, "Gd in GdFeO3"),
    "Bi": (0.80, 3, "Bi in BiFeO3, 295 K"),
    "Al": (0.40, 3, "Al in LaAlO3 / YAlO3, 295 K"),
    "Ga": (0.40, 3, "Ga in NdGaO3 / LaGaO3"),
    "In": (0.50, 3, "In in LaInO3"),
    "Cr": (0.35, 3, "Cr in LaCrO3 / YCrO3"),
    "Fe": (0.40, 3, "Fe in BiFeO3 / LaFeO3, 295 K"),
    "Co": (0.40, 3, "Co in LaCoO3"),
    "Ni": (0.40, 3, "Ni in LaNiO3"),
}

_CATION_DEFAULT, _ANION_DEFAULT = 0.5, 1.0


def debye_waller_b(element: str, oxidation_state: int | None = None) -> float:
    """B factor (Å²) of ``element``; the fallback rule of the module docstring applies."""
    if element in DEBYE_WALLER_TABLE:
        return DEBYE_WALLER_TABLE[element][0]
    el = Element(element)
    if oxidation_state is None:
        states = el.common_oxidation_states
        oxidation_state = states[0] if states else 0
    same_state = [(k, v) for k, v in DEBYE_WALLER_TABLE.items() if v[1] == oxidation_state]
    same_group = [(k, v) for k, v in same_state if Element(k).group == el.group]
    for pool in (same_group, same_state):
        if pool:
            closest = min(pool, key=lambda kv: abs(Element(kv[0]).Z - el.Z))
            return closest[1][0]
    return _ANION_DEFAULT if oxidation_state < 0 else _CATION_DEFAULT


def debye_waller_factors(structure: Structure) -> dict[str, float]:
    """B (Å²) for every element of ``structure``, as pymatgen's ``XRDCalculator`` expects."""
    factors = {}
    for sp in structure.composition:
        oxi = getattr(sp, "oxi_state", None)
        factors[sp.symbol] = debye_waller_b(sp.symbol, None if oxi is None else round(oxi))
    return factors
