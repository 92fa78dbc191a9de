import numpy as np
import pytest

from bxrd.crystal.generator import (
    SYSTEMS,
    GeneratorConfig,
    generate_one,
    generate_perovskites,
    run_generator,
)
from bxrd.crystal.measure import measure
from bxrd.crystal.structure_model import PerovskiteIons
from bxrd.crystal.template import space_group_of
from bxrd.crystal.tilts import POLAR_SPACE_GROUPS, TILT_SPACE_GROUPS


def test_generated_a_minus_a_minus_c_plus_reads_as_pnma_with_sane_valences():
    rng = np.random.default_rng(0)
    for _ in range(3):
        s, meta = generate_one(PerovskiteIons.of("Ca", "Ti", "O"), "a+b-b-", None, rng)
        assert meta["space_group_number"] == space_group_of(s)[0] == 62
        assert measure(s).glazer == "a+b-b-" and meta["a_shift"] > 0
        assert meta["bvs_max_relative_error"] < 0.10


@pytest.mark.slow
def test_every_system_is_drawn_and_labelled_by_spglib():
    assert len(SYSTEMS) == len(TILT_SPACE_GROUPS) + len(POLAR_SPACE_GROUPS) + 3  # 2H, 4H, 6H
    out = generate_perovskites([("Sr", "Zr", "O")], n_per_system=1, seed=1)
    assert len(out) == len(SYSTEMS)
    found = {m["system"]: m["space_group_number"] for _, m in out}
    for s, m in out:
        assert m["space_group_number"] == space_group_of(s)[0]
    # the symmetric A and X displacements keep each system's group (spglib, 0.01 Å)
    assert {found[n] for n in TILT_SPACE_GROUPS} == set(TILT_SPACE_GROUPS.values())
    assert found["2H"] == found["4H"] == found["6H"] == 194 and found["a0a0a0 [111]"] == 160


@pytest.mark.parametrize(
    "comp", [("Cs", "Pb", "I"), ("Ba", "Zr", "S"), ("La", "Mn", "O", (3, 3, -2))]
)
def test_halides_chalcogenides_and_jahn_teller_oxides(comp):
    ((s, meta),) = generate_perovskites([comp], 1, 3, systems=[("a+b-b-", None)])
    assert s.composition.reduced_formula == PerovskiteIons.of(*comp).formula.replace("O3", "O3")
    assert meta["space_group_number"] == 62
    assert (meta["jahn_teller"] > 0) == (comp[1] == "Mn")


def test_same_seed_same_structures():
    a = generate_perovskites([("Ca", "Ti", "O")], 1, 5, systems=[("a0b-c-", None)])
    b = generate_perovskites([("Ca", "Ti", "O")], 1, 5, systems=[("a0b-c-", None)])
    assert np.allclose(a[0][0].frac_coords, b[0][0].frac_coords)


def test_config_parses_compositions_and_names_bad_ones():
    cfg = GeneratorConfig(compositions=["La-Mn-O:3,3,-2", "Cs-Pb-Br", "MA-Pb-I"])
    (lamno, m0), (cspbbr, m1), (mapbi, m2) = cfg.ions()
    assert lamno.charges == (3, 3, -2) and cspbbr.charges == (1, 2, -1)
    assert (m0, m1, m2) == (None, None, "MA") and mapbi.formula == "CsPbI3"
    with pytest.raises(ValueError, match="A-B-X"):
        GeneratorConfig(compositions=["CaTiO3"]).ions()
    for bad in ("MA-Ti-O", "FA-Pb-I:2,1,-1"):
        with pytest.raises(ValueError, match="halide X .* and charge \\+1"):
            GeneratorConfig(compositions=[bad]).ions()


def test_config_picks_systems_by_metadata_name_and_names_bad_ones():
    cfg = GeneratorConfig(systems=["a-a-a- [111]", "a0a0c-", "2H"])
    assert cfg.chosen_systems() == [("a-a-a-", (1, 1, 1)), ("a0a0c-", None), ("2H", None)]
    assert len(GeneratorConfig().chosen_systems()) == len(SYSTEMS)
    with pytest.raises(ValueError, match="a0a0a0 \\[001\\]"):
        GeneratorConfig(systems=["a0a0a0 [100]"]).chosen_systems()


def test_molecular_composition_keeps_framework_label_and_electrons():
    """MA-Pb-I: the Cs framework drawn, Cs replaced by MA (19 electrons as neutral atoms)."""
    cfg = GeneratorConfig(compositions=["MA-Pb-I"], systems=["a0a0a0", "a0a0c-"], seed=3)
    rows = run_generator(cfg)
    framework = generate_perovskites(
        [("Cs", "Pb", "I")], 1, 3, systems=[("a0a0a0", None), ("a0a0c-", None)]
    )
    for (sid, structure, meta), (cs, cs_meta) in zip(rows, framework, strict=True):
        assert sid.startswith("gen_MAPbI3_") and meta["molecule"] == "MA"
        assert space_group_of(structure)[0] == cs_meta["space_group_number"]
        n_pb = structure.composition["Pb"]
        electrons = sum(el.Z * n for el, n in structure.composition.items() if el.symbol in "CNH")
        assert electrons == pytest.approx(19 * n_pb)  # CH3NH3: 6 + 7 + 6 (neutral atoms)
        assert "Cs" not in structure.composition and len(cs) < len(structure)
