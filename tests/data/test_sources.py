"""Molecular A cations: told by bond length, and left out of a structure source on request.

(Kept out of tests/crystal: collected and run before tests/data/test_jobs.py in the full
suite, these tests made that test's build subprocess end with code 0 after SIGINT; the
mechanism is not found yet.)
"""

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from bxrd.crystal.molecules import has_molecular_cation
from bxrd.data.build import StructureSource, read_source


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


def _ammonium_like() -> Structure:
    """PbI3 framework (a = 6.3 Å) with an N at the A site carrying one H at 1.0 Å."""
    return Structure(
        Lattice.cubic(6.3),
        ["N", "H", "Pb", "I", "I", "I"],
        [
            [0.5, 0.5, 0.5],
            [0.5 + 1.0 / 6.3, 0.5, 0.5],
            [0, 0, 0],
            [0.5, 0, 0],
            [0, 0.5, 0],
            [0, 0, 0.5],
        ],
    )


def test_read_source_leaves_molecular_cells_out_only_when_asked_and_says_so(tmp_path):
    _ammonium_like().to(filename=str(tmp_path / "NH4PbI3.cif"))
    Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(6.29), ["Cs", "Pb", "I"], [[0.5] * 3, [0, 0, 0], [0.5, 0, 0]]
    ).to(filename=str(tmp_path / "CsPbI3.cif"))
    kept, messages = {}, []
    for mode in ("keep", "skip"):
        messages.clear()
        source = StructureSource(str(tmp_path), molecular_cations=mode)
        kept[mode] = sorted(
            e.formula for e in read_source(source, 0.01, messages, set(), "rss").values()
        )
    assert kept["keep"] == ["CsPbI3", "HPbI3N"]
    assert kept["skip"] == ["CsPbI3"]
    assert any("NH4PbI3.cif" in m and "molecular" in m for m in messages)
    with pytest.raises(ValueError, match="molecular_cations"):
        StructureSource(str(tmp_path), molecular_cations="drop")
