"""Identify the A, B and X sites of an ABX3 perovskite from oxidation states and coordination.

Rule (works for distorted cells and supercells alike, because it looks at every site):

1. Oxidation states come from the structure if it carries them, else from pymatgen's
   bond-valence analyser, else from the composition-based guess. No answer → error.
2. Anions (negative oxidation state) are X. A cation's anion shell holds the anions (periodic
   images included) within ``shell_factor`` × (r_cation + r_anion), Shannon radii: a scale
   set by the ions, so a strongly off-centred cation still counts its six anions.
3. B is the cation element with the shortest mean cation–anion distance, A the other. Shells
   use the role's radius (A: CN XII, else the largest tabulated ≥ VIII; B: CN VI), so the
   lone-pair Bi of BiFeO3 (3 + 3 short, 6 long Bi–O bonds) counts 12. Every B site must be
   octahedral (5 or 6 anions: 5 admits the strongly off-centred Ti of PbTiO3). A is the other
   cation element and must have at least 7 anions (8 in Pnma, 12 in Pm-3m). Counts must be
   A : B : X = 1 : 1 : 3.

Ilmenite, LiNbO3 and corundum-like ABX3 compounds (both cations octahedral) and carbonates
(B would be 3-coordinated) are rejected with :class:`~bxrd.errors.NotPerovskiteError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.bond_valence import BVAnalyzer
from pymatgen.core import Structure

from bxrd.crystal.ions import Role, ion_for
from bxrd.errors import NotPerovskiteError, OxidationStateError


@dataclass(frozen=True)
class ABX3Sites:
    """Site roles of an ABX3 perovskite.

    Attributes:
        a, b, x: element symbols on the A, B and X sites.
        a_charge, b_charge, x_charge: their oxidation states.
        a_indices, b_indices, x_indices: site indices in the structure.
        a_cn, b_cn: mean anion coordination of A and B.
    """

    a: str
    b: str
    x: str
    a_charge: int
    b_charge: int
    x_charge: int
    a_indices: tuple[int, ...]
    b_indices: tuple[int, ...]
    x_indices: tuple[int, ...]
    a_cn: float
    b_cn: float


def oxidation_states(structure: Structure, name: str = "structure") -> list[int]:
    """Integer oxidation state of every site, taken or guessed as described in the module doc.

    Raises:
        OxidationStateError: if no oxidation states are present and none can be guessed.
    """
    present = [getattr(sp, "oxi_state", None) for sp in structure.species]
    if all(v is not None for v in present):
        return [round(v) for v in present]
    if structure.is_ordered:
        try:
            return [round(v) for v in BVAnalyzer().get_valences(structure)]
        except ValueError:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            guesses = structure.composition.oxi_state_guesses(max_sites=-50)
        except ValueError:  # composition too large for pymatgen's enumeration
            guesses = ()
    if not guesses:
        raise OxidationStateError(
            f"{name}: no oxidation states given and none can be guessed for "
            f"{structure.composition.reduced_formula}; add them to the file "
            "(e.g. '_atom_type_oxidation_number' in the CIF)."
        )
    by_element = guesses[0]
    return [round(by_element[sp.symbol]) for sp in structure.species]


def identify_abx3_sites(
    structure: Structure, name: str = "structure", shell_factor: float = 1.3
) -> ABX3Sites:
    """Find the A, B and X sites of ``structure`` (see module docstring for the rule).

    Args:
        structure: an ordered structure (any cell, any setting).
        name: used in error messages (file name or id).
        shell_factor: anions within this factor × (r_cation + r_anion) count as coordinating.

    Raises:
        NotPerovskiteError: composition or coordination is not that of an ABX3 perovskite.
        OxidationStateError: oxidation states cannot be determined.
    """
    formula = structure.composition.reduced_formula
    if not structure.is_ordered:
        raise NotPerovskiteError(f"{name} ({formula}): disordered sites are not supported by TER")
    amounts = sorted(structure.composition.element_composition.values())
    if len(amounts) != 3 or not (amounts[0] == amounts[1] and amounts[2] == 3 * amounts[0]):
        raise NotPerovskiteError(f"{name} ({formula}): composition is not of the ABX3 type")
    charges = oxidation_states(structure, name)
    symbols = [sp.symbol for sp in structure.species]
    charge_of = dict(zip(symbols, charges, strict=True))
    anions = [i for i, q in enumerate(charges) if q < 0]
    cations = [i for i, q in enumerate(charges) if q > 0]
    anion_elements = sorted({symbols[i] for i in anions})
    cation_elements = sorted({symbols[i] for i in cations})
    if len(anion_elements) != 1 or len(cation_elements) != 2:
        raise NotPerovskiteError(
            f"{name} ({formula}): ABX3 needs exactly two cation and one anion element, found "
            f"cations {cation_elements} and anions {anion_elements}"
        )
    if 3 * len(cations) != 2 * len(anions):
        raise NotPerovskiteError(f"{name} ({formula}): cation:anion ratio is not 2:3")
    x_el = anion_elements[0]

    def shell_radius(element: str, role: Role) -> float:
        ion, x_ion = ion_for(element, charge_of[element], role), ion_for(x_el, charge_of[x_el], "X")
        if ion is None or x_ion is None:
            raise NotPerovskiteError(
                f"{name} ({formula}): no Shannon radius for {element}{charge_of[element]:+d} "
                f"on the {role} site or for {x_el}{charge_of[x_el]:+d}; cannot judge coordination"
            )
        return shell_factor * (ion.radius + x_ion.radius)

    reach = max(shell_radius(e, "B") for e in cation_elements)
    reach = max(
        [reach] + [shell_radius(e, "A") for e in cation_elements if ion_for(e, charge_of[e], "A")]
    )
    centers, neighbors, _, dists = structure.get_neighbor_list(reach)
    is_anion = np.zeros(len(structure), dtype=bool)
    is_anion[anions] = True
    anion_dists = {i: dists[(centers == i) & is_anion[neighbors]] for i in cations}
    if any(d.size == 0 for d in anion_dists.values()):
        raise NotPerovskiteError(f"{name} ({formula}): a cation has no anion neighbour")
    sites_of = {e: [i for i in cations if symbols[i] == e] for e in cation_elements}
    mean_nearest = {
        e: float(np.mean([anion_dists[i].min() for i in sites_of[e]])) for e in sites_of
    }
    b_el, a_el = sorted(cation_elements, key=mean_nearest.__getitem__)
    if len(sites_of[a_el]) != len(sites_of[b_el]):
        raise NotPerovskiteError(f"{name} ({formula}): A and B counts differ")

    def coordination(element: str, role: Role) -> np.ndarray:
        shell = shell_radius(element, role)
        return np.array([int((anion_dists[i] <= shell).sum()) for i in sites_of[element]])

    b_cn = coordination(b_el, "B")
    if not np.all((b_cn >= 5) & (b_cn <= 6)):
        raise NotPerovskiteError(
            f"{name} ({formula}): {b_el} (the smaller cation) is not octahedral "
            f"(anion coordination {sorted(set(b_cn.tolist()))}); not a perovskite"
        )
    a_cn = coordination(a_el, "A")
    if not np.all(a_cn >= 7):
        raise NotPerovskiteError(
            f"{name} ({formula}): {a_el} has anion coordination {sorted(set(a_cn.tolist()))}, "
            "a perovskite A site has 8–12 (ilmenite/LiNbO3-like?); not a perovskite"
        )
    return ABX3Sites(
        a=a_el,
        b=b_el,
        x=x_el,
        a_charge=charge_of[a_el],
        b_charge=charge_of[b_el],
        x_charge=charge_of[x_el],
        a_indices=tuple(sites_of[a_el]),
        b_indices=tuple(sites_of[b_el]),
        x_indices=tuple(anions),
        a_cn=float(a_cn.mean()),
        b_cn=float(b_cn.mean()),
    )
