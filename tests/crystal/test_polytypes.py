import numpy as np
import pytest

from bxrd.crystal.bond_valence import structure_bond_valence_sums
from bxrd.crystal.polytypes import face_sharing, hexagonal_polytype
from bxrd.crystal.structure_model import PerovskiteIons, fit_cell
from bxrd.crystal.template import space_group_of


@pytest.mark.parametrize(
    ("polytype", "n_fu", "faces"),
    [("2H", 2, [2, 2]), ("4H", 4, [1] * 4), ("6H", 6, [0, 0, 1, 1, 1, 1])],
)
def test_polytype_stacking_and_space_group(polytype, n_fu, faces):
    s = hexagonal_polytype("Ba", "Mn", "O", polytype, bond=1.90)
    assert space_group_of(s)[0] == 194  # P6_3/mmc, read by spglib
    assert s.composition.reduced_formula == "BaMnO3" and len(s) == 5 * n_fu
    # h layers: face-sharing B neighbours per B (2H chains, 4H dimers, 6H dimers + singles)
    assert sorted(face_sharing(s, "Mn", 1.90)) == faces
    mn = [i for i, site in enumerate(s) if site.specie.symbol == "Mn"]
    o = [i for i, site in enumerate(s) if site.specie.symbol == "O"]
    bonds = np.array([sorted(s.get_distance(i, j) for j in o)[:6] for i in mn])
    assert bonds.mean() == pytest.approx(1.90, rel=1e-6)


def test_model_cell_of_a_4h_polytype_has_bond_valence_sums_near_charges():
    # 4H-SrMnO3 (Battle et al. 1988): a = 5.449, c = 9.078 Å, 233.4 Å³ per 4 f.u.
    ions = PerovskiteIons.of("Sr", "Mn", "O")
    cell = fit_cell(ions, "4H")
    assert space_group_of(cell.structure)[0] == 194
    assert cell.volume_per_formula_unit == pytest.approx(233.4 / 4, rel=0.05)
    charges = [{"Sr": 2, "Mn": 4, "O": -2}[site.specie.symbol] for site in cell.structure]
    bvs = structure_bond_valence_sums(cell.structure, charges, ions.r0_table)
    assert bvs[[q == 4 for q in charges]] == pytest.approx(4.0, rel=0.10)


def test_unknown_polytype_is_named():
    with pytest.raises(ValueError, match="8H"):
        hexagonal_polytype("Ba", "Mn", "O", "8H", bond=1.9)  # type: ignore[arg-type]
