"""Molecular A cations (methylammonium, formamidinium, ammonium) in a structure.

A DFT cell of a hybrid perovskite holds one ordered orientation of each molecule, and spglib
reads the symmetry of that orientation: the shared cubic MAPbI3 cell is Pm, cubic FAPbI3
Pmm2, tetragonal MAPbI3 Cc (``../shared/data/structures/hybrid_perovskites``). The X-ray
pattern of a film at room temperature shows the orientationally disordered average
structure (α-FAPbI3 Pm-3m, MAPbI3 I4/mcm), so such a cell's spglib label is not the class
its pattern belongs to. A build can leave these cells out
(:class:`~bxrd.data.build.StructureSource` ``molecular_cations: skip``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

#: An H atom this close (Å) to a C or N atom is bonded to it (C–H 1.09 Å, N–H 1.02 Å);
#: hydride perovskites (CsCaH3) have H–H and H–cation distances of 2 Å and more.
BOND_H = 1.25


def has_molecular_cation(structure: Structure, cutoff: float = BOND_H) -> bool:
    """Tell whether some H atom sits within ``cutoff`` Å of a C or N atom (a molecule).

    Partly occupied sites count with every element they hold. Molecules written without
    their H atoms, and H-free polyanions (BF4, PF6), are not detected.
    """
    elements = [{el.symbol for el in site.species.elements} for site in structure]
    has_h = np.array(["H" in e for e in elements])
    has_cn = np.array([bool({"C", "N"} & e) for e in elements])
    if not (has_h.any() and has_cn.any()):
        return False
    centre, neighbour, _, _ = structure.get_neighbor_list(cutoff)
    return bool(np.any(has_h[centre] & has_cn[neighbour]))


@dataclass(frozen=True)
class Shell:
    """Atoms of a molecule at one distance from its centre.

    Attributes:
        radius: distance from the molecule's centre, Å.
        atoms: element → atoms per molecule at that distance.
    """

    radius: float
    atoms: dict[str, int]


#: Orientation-averaged A cations, as shells about the A site (Å). Methylammonium CH3NH3⁺:
#: C–N 1.47 Å about its midpoint, six H (C–H 1.09, N–H 1.02 Å, tetrahedral) at ≈ 1.5 Å.
#: Formamidinium CH(NH2)2⁺: C–N 1.30 Å, N–C–N 125°, centred on the C/N centroid (C 0.40,
#: N 1.17 Å), five H at ≈ 1.8 Å (C–H 1.5, N–H 1.7–2.0 Å from that centre).
MOLECULES: dict[str, tuple[Shell, ...]] = {
    "MA": (Shell(0.74, {"C": 1, "N": 1}), Shell(1.50, {"H": 6})),
    "FA": (Shell(0.40, {"C": 1}), Shell(1.17, {"N": 2}), Shell(1.80, {"H": 5})),
}

#: Inorganic A cation a generator draws the framework of a hybrid perovskite with: the
#: largest alkali (Cs⁺, 1.88 Å), nearest the molecules' effective radii (MA 2.17, FA 2.53 Å).
PROXY_A = "Cs"

#: Distance below which two unit vectors are one direction.
SAME_DIRECTION = 1e-3

#: Directions of the starting set: ⟨100⟩, ⟨110⟩ and ⟨111⟩ (26), close to isotropic.
_BASE = np.array(
    [
        (i, j, k)
        for i in (-1, 0, 1)
        for j in (-1, 0, 1)
        for k in (-1, 0, 1)
        if (i, j, k) != (0, 0, 0)
    ],
    dtype=float,
)


def orientation_directions(structure: Structure, symprec: float = 0.01) -> np.ndarray:
    """Return unit vectors (n, 3), Cartesian, closed under the point group of ``structure``.

    The ⟨100⟩, ⟨110⟩, ⟨111⟩ set and its images under every rotation of the space group
    spglib finds at ``symprec`` (Å): a cloud along them has at least the site's symmetry, so
    replacing an atom by it never lowers the space group (26 directions for cubic,
    tetragonal and orthorhombic cells in their standard setting, more for trigonal ones).
    A cell within ``symprec`` of a higher symmetry gives rotations that are orthogonal only
    to ~1e-4; each is replaced by the nearest rotation, and images closer than
    :data:`SAME_DIRECTION` count as one.
    """
    ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations(cartesian=True)
    # a supercell repeats each rotation with every lattice translation (384 ops, 48 rotations,
    # for a 2×2×2 Pm-3m cell): look at each rotation once, in the order first met
    rotations = np.array([op.rotation_matrix for op in ops])
    _, first = np.unique(np.round(rotations, 6).reshape(len(ops), 9), axis=0, return_index=True)
    base = _BASE / np.linalg.norm(_BASE, axis=1, keepdims=True)
    kept: list[np.ndarray] = []
    for r in rotations[np.sort(first)]:
        u, _, vt = np.linalg.svd(r)
        for v in base @ (u @ vt).T:
            if all(np.linalg.norm(v - w) > SAME_DIRECTION for w in kept):
                kept.append(v)
    return np.array(kept)


def orientation_averaged(
    structure: Structure, element: str, molecule: str, symprec: float = 0.01
) -> Structure:
    """``structure`` with every ``element`` site replaced by the orientation-averaged molecule.

    Args:
        structure: an ordered framework (e.g. a generated CsPbI3).
        element: the A element to replace (e.g. :data:`PROXY_A`).
        molecule: a key of :data:`MOLECULES` (``"MA"``, ``"FA"``).
        symprec: spglib tolerance (Å) of the point group the directions are closed under.

    Returns:
        A disordered structure: the other sites as given (oxidation states dropped), and per
        replaced site, for each shell, one site per direction of
        :func:`orientation_directions` holding (atoms per molecule) / (directions) of each
        element, so every shell keeps its electron count.

    Raises:
        ValueError: an unknown molecule, or no ``element`` site.
    """
    if molecule not in MOLECULES:
        raise ValueError(f"molecule {molecule!r}: expected one of {sorted(MOLECULES)}")
    framework = structure.copy()
    framework.remove_oxidation_states()
    centres = [s.coords for s in framework if s.specie.symbol == element]
    if not centres:
        raise ValueError(f"{framework.composition.reduced_formula}: no {element} site to replace")
    directions = orientation_directions(framework, symprec)
    out = Structure.from_sites([s for s in framework if s.specie.symbol != element])
    for centre in centres:
        for shell in MOLECULES[molecule]:
            species = {el: n / len(directions) for el, n in shell.atoms.items()}
            for u in directions:
                out.append(species, centre + shell.radius * u, coords_are_cartesian=True)
    return out
