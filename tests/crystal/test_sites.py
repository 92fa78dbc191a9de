import pytest
from pymatgen.core import Lattice, Structure

from bxrd.crystal.builtin import PUBLISHED, builtin_templates
from bxrd.crystal.sites import identify_abx3_sites
from bxrd.errors import NotPerovskiteError, OxidationStateError

EXPECTED_SITES = {
    "SrTiO3_Pm-3m": ("Sr", "Ti", "O"),
    "CsPbBr3_Pm-3m": ("Cs", "Pb", "Br"),
    "BaTiO3_P4mm": ("Ba", "Ti", "O"),
    "CaTiO3_Pnma": ("Ca", "Ti", "O"),
    "LaAlO3_R-3c": ("La", "Al", "O"),
    "SrTiO3_I4mcm": ("Sr", "Ti", "O"),
    "BiFeO3_R3c": ("Bi", "Fe", "O"),
    "BaTiO3_Amm2": ("Ba", "Ti", "O"),
}


@pytest.mark.parametrize("template_id", sorted(EXPECTED_SITES))
def test_builtin_sites(template_id):
    t = builtin_templates()[template_id]
    assert (t.sites.a, t.sites.b, t.sites.x) == EXPECTED_SITES[template_id]
    assert t.sites.a_charge + t.sites.b_charge + 3 * t.sites.x_charge == 0
    assert t.sites.b_cn == 6
    n = len(t.structure) // 5
    assert len(t.sites.a_indices) == len(t.sites.b_indices) == n
    assert len(t.sites.x_indices) == 3 * n


def test_supercell_and_oxidation_decorated_input(srtio3):
    big = srtio3.copy()
    big.make_supercell([2, 2, 2])
    big.add_oxidation_state_by_element({"Sr": 2, "Ti": 4, "O": -2})
    sites = identify_abx3_sites(big)
    assert (sites.a, sites.b, sites.x) == ("Sr", "Ti", "O")
    assert len(sites.b_indices) == 8 and sites.a_cn == 12


def test_rock_salt_is_not_abx3():
    mgo = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.21), ["Mg", "O"], [[0] * 3, [0.5] * 3])
    with pytest.raises(
        NotPerovskiteError, match="mgo.cif \\(MgO\\): composition is not of the ABX3 type"
    ):
        identify_abx3_sites(mgo, name="mgo.cif")


def test_ilmenite_like_abx3_is_rejected_by_coordination(shared_structures):
    from bxrd.crystal.io import read_structure

    ilmenite = read_structure(shared_structures / "amcsd" / "Ilmenite.cif")
    with pytest.raises(NotPerovskiteError, match="Ilmenite.cif.*coordination"):
        identify_abx3_sites(ilmenite, name=str(shared_structures / "amcsd" / "Ilmenite.cif"))


def test_missing_oxidation_state_is_reported(srtio3):
    babio3 = srtio3.copy()
    babio3.replace_species({"Sr": "Ba", "Ti": "Bi"})  # Bi4+ does not exist in the tables
    with pytest.raises(OxidationStateError, match="weird.cif.*BaBiO3"):
        identify_abx3_sites(babio3, name="weird.cif")


def test_real_perovskites_in_shared_data(shared_structures):
    from bxrd.crystal.io import read_structure

    for rel, abx in [
        ("amcsd/Perovskite.cif", ("Ca", "Ti", "O")),
        ("cod_one_per_spacegroup/161.cif", ("Na", "Nb", "O")),
        ("package_literature/LaMnO3.mcif", ("La", "Mn", "O")),
    ]:
        s = identify_abx3_sites(read_structure(shared_structures / rel), name=rel)
        assert (s.a, s.b, s.x) == abx


def test_published_table_space_groups_match_spglib():
    from pymatgen.symmetry.groups import SpaceGroup

    templates = builtin_templates()
    for entry in PUBLISHED:
        assert templates[entry.id].space_group_number == SpaceGroup(entry.space_group).int_number
    required = {"Pm-3m", "P4mm", "Pnma", "R-3c", "I4/mcm", "R3c", "Amm2"}
    assert required <= {t.space_group_symbol for t in templates.values()}


def test_catio3_cell_volume_matches_literature():
    # Sasaki et al. 1987: V = 5.3796 * 5.4423 * 7.6401 Å^3 for Z = 4
    t = builtin_templates()["CaTiO3_Pnma"]
    assert t.structure.volume == pytest.approx(5.3796 * 5.4423 * 7.6401, rel=1e-4)
    assert len(t.structure) == 20
