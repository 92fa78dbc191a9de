"""A structure source leaves cells with a molecular A cation out on request, and says so."""

import pytest
from pymatgen.core import Lattice, Structure

from bxrd.data.build import StructureSource, read_source


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
