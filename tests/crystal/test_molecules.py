"""Molecular A cations are told by bond length (H within 1.25 Å of C or N)."""

import numpy as np
from pymatgen.core import Lattice, Structure

from bxrd.crystal.molecules import has_molecular_cation


def _ammonium_lead_iodide(nh: float = 1.02) -> Structure:
    """Cubic NH4PbI3 (a = 6.3 Å): N at the A site, four H at ``nh`` Å along the body diagonals."""
    a = 6.3
    h = [
        np.array([0.5, 0.5, 0.5]) + nh / (a * np.sqrt(3)) * np.array(s)
        for s in ([1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1])
    ]
    return Structure(
        Lattice.cubic(a),
        ["N", "Pb", "I", "I", "I", *["H"] * 4],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], *h],
    )


def test_an_ammonium_cation_is_molecular_and_a_hydride_or_oxynitride_is_not():
    assert has_molecular_cation(_ammonium_lead_iodide())
    # N–H 1.6 Å is no bond (the rule's cutoff is 1.25 Å)
    assert not has_molecular_cation(_ammonium_lead_iodide(nh=1.6))
    hydride = Structure.from_spacegroup(  # CsCaH3: H is the anion, Ca–H 2.2 Å
        "Pm-3m", Lattice.cubic(4.4), ["Cs", "Ca", "H"], [[0.5] * 3, [0, 0, 0], [0.5, 0, 0]]
    )
    assert not has_molecular_cation(hydride)
    oxynitride = Structure(  # LaTiO2N-like cell: N is an anion, no H
        Lattice.cubic(3.99),
        ["La", "Ti", "O", "O", "N"],
        [[0.5] * 3, [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]],
    )
    assert not has_molecular_cation(oxynitride)
    # H and N both present but 2.2 Å apart (a hydride-nitride): the distance rule decides
    apart = Structure(
        Lattice.cubic(4.4),
        ["Cs", "Ca", "H", "H", "N"],
        [[0.5] * 3, [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]],
    )
    assert not has_molecular_cation(apart)
    # a partly occupied A site (Cs0.5 / N0.5 with its H): read, not a crash
    mixed = _ammonium_lead_iodide()
    mixed.replace(0, {"N": 0.5, "Cs": 0.5})
    assert has_molecular_cation(mixed)
