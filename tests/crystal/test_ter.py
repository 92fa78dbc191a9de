import json

import pytest
from pymatgen.core import Lattice, Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.io import read_structure
from bxrd.crystal.jahn_teller import add_jahn_teller
from bxrd.crystal.measure import measure
from bxrd.crystal.structure_model import PerovskiteIons, fit_cell
from bxrd.crystal.template import Template, space_group_of
from bxrd.crystal.ter import TERConfig, candidates, run_ter, write_ter


@pytest.fixture(scope="module")
def templates():
    t = builtin_templates()
    return {k: t[k] for k in ("SrTiO3_Pm-3m", "CaTiO3_Pnma", "CsPbBr3_Pm-3m")}


def test_every_substitution_is_charge_neutral(templates):
    result = run_ter(templates, TERConfig(charge_mode="neutral", max_per_template=40))
    assert len(result.structures) > 60
    for s in result.structures:
        sub = s.substitution
        assert sub.a.charge + sub.b.charge + 3 * sub.x.charge == 0
        assert 0.80 <= sub.tolerance <= 1.10 and 0.41 <= sub.octahedral <= 0.90
    charges = {(s.substitution.a.charge, s.substitution.b.charge) for s in result.structures}
    assert {(1, 5), (2, 4), (3, 3)} <= charges


def test_same_valence_mode_keeps_template_charges(templates):
    for tid, t in templates.items():
        for c in candidates(t, TERConfig()):
            assert (c.a.charge, c.b.charge) == (t.sites.a_charge, t.sites.b_charge), tid
            assert c.x.element == t.sites.x


def test_filters_and_element_restrictions(templates):
    t = templates["SrTiO3_Pm-3m"]
    narrow = candidates(t, TERConfig(tolerance_range=(0.95, 1.0)))
    assert narrow and all(0.95 <= c.tolerance <= 1.0 for c in narrow)
    only = candidates(t, TERConfig(a_elements=["Ba"], b_elements=["Zr", "Hf"]))
    assert sorted(c.formula for c in only) == ["BaHfO3", "BaZrO3"]


def test_substitution_retilts_and_rescales_by_the_structure_model(templates):
    t = templates["CaTiO3_Pnma"]
    result = run_ter({t.id: t}, TERConfig(a_elements=["Sr"], b_elements=["Zr"]))
    (new,) = result.structures
    assert new.structure.composition.reduced_formula == "SrZrO3"
    assert space_group_of(new.structure)[0] == new.space_group_number == 62
    # every tilt scaled by the ratio of the model's optimal tilts
    f = (
        fit_cell(PerovskiteIons.of("Sr", "Zr", "O"), "a+b-b-", a_displacements=False).tilt
        / fit_cell(PerovskiteIons.of("Ca", "Ti", "O"), "a+b-b-", a_displacements=False).tilt
    )
    assert f > 1.05  # SrZrO3 (t = 0.94) tilts more than CaTiO3 (t = 0.97, bond valence)
    g_old, g_new = measure(t.structure, t.sites), measure(new.structure)
    assert g_new.tilts == pytest.approx(g_old.tilts * f, abs=0.3)
    # SrZrO3 Pnma (Kennedy et al. 1999): 69.1 Å³ per formula unit
    assert new.structure.volume / 4 == pytest.approx(69.1, rel=0.03)


def test_batio3_from_a_bazro3_template_has_a_near_4_angstrom():
    bazro3 = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(4.193), ["Ba", "Zr", "O"], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
    )
    t = Template.from_structure("BaZrO3_Pm-3m", bazro3, "file", "test")
    (new,) = run_ter({t.id: t}, TERConfig(a_elements=["Ba"], b_elements=["Ti"])).structures
    # real cubic BaTiO3: 4.00 Å; the old radius rule kept 4.139 Å for every Ba compound
    assert new.structure.lattice.a == pytest.approx(4.00, abs=0.07)


def test_space_group_check_can_fail_when_tilts_vanish(templates):
    t = templates["CaTiO3_Pnma"]
    result = run_ter({t.id: t}, TERConfig(a_elements=["Ba"], b_elements=["Ti", "Zr"]))
    assert not result.structures
    assert {r.split(":")[0] for _, r in result.rejected} == {"tilts vanish"}


def test_identical_results_are_deduplicated(templates):
    t = templates["SrTiO3_Pm-3m"]
    twin = type(t)("SrTiO3_copy", t.structure, t.sites, 221, "Pm-3m", "file", "copy")
    cfg = TERConfig(a_elements=["Ba"], b_elements=["Zr"])
    result = run_ter({t.id: t, twin.id: twin}, cfg)
    assert [s.id for s in result.structures] == ["SrTiO3_Pm-3m__BaZrO3"]
    assert result.structures[0].duplicates == ["SrTiO3_copy__BaZrO3"]
    assert result.rejected == [("SrTiO3_copy__BaZrO3", "duplicate: of SrTiO3_Pm-3m__BaZrO3")]


def test_written_cifs_and_manifest_round_trip(templates, tmp_path):
    result = run_ter(templates, TERConfig(max_per_template=3))
    manifest = write_ter(result, tmp_path)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == len(result.structures) == 9 - len(result.rejected) >= 6
    for row in rows:
        s = read_structure(tmp_path / "cif" / f"{row['id']}.cif")
        assert s.composition.reduced_formula == row["formula"]
        assert space_group_of(s)[0] == row["space_group_number"]
        assert row["template_id"] in templates and row["substitutions"]["X"].endswith("-")


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="charge_mode"):
        TERConfig(charge_mode="any")
    with pytest.raises(ValueError, match="tolerance_range"):
        TERConfig(tolerance_range=(1.1, 0.8))


def test_jahn_teller_pattern_keeps_pnma_and_gives_long_and_short_bonds(templates):
    t = templates["CaTiO3_Pnma"]
    out = add_jahn_teller(t.structure, t.sites, 0.13)
    assert space_group_of(out)[0] == 62  # LaMnO3 is Pnma with its cooperative Q2 mode
    g0, g = measure(t.structure, t.sites), measure(out, t.sites)
    assert g0.distortion < 1e-4 < 15e-4 < g.distortion
    ti = t.sites.b_indices[0]
    o = list(t.sites.x_indices)
    bonds = sorted(out.get_distance(ti, j) for j in o)[:6]
    # two short (d − δ), two long (d + δ), two along the JT axis unchanged (± tilt effects)
    assert bonds[1] < g0.mean_bx - 0.08 and bonds[-1] > g0.mean_bx + 0.08


def test_jahn_teller_b_in_a_one_formula_unit_cell_keeps_regular_octahedra(templates):
    c = templates["CsPbBr3_Pm-3m"]
    assert add_jahn_teller(c.structure, c.sites, 0.1) is None  # no checkerboard fits
    config = TERConfig(
        a_elements=["Cs"], b_elements=["Cu"], tolerance_range=(0.7, 1.2), octahedral_range=(0.3, 1)
    )
    (child,) = run_ter({c.id: c}, config).structures
    assert child.space_group_number == 221 and measure(child.structure).distortion < 1e-6
