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

import numpy as np
from pymatgen.core import Structure

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
