import numpy as np
import pytest

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.generated import generated_templates
from bxrd.crystal.template import space_group_of
from bxrd.crystal.ter import TERConfig, run_ter
from bxrd.crystal.tilt_fit import compare, fit_tilts
from bxrd.crystal.tilts import (
    POLAR_SPACE_GROUPS,
    TILT_SPACE_GROUPS,
    bond_length,
    hexagonal_2h,
    parse_glazer,
    tilt_angles,
    tilted_perovskite,
)
from bxrd.xrd.simulate import simulate_sticks


@pytest.mark.parametrize("notation", sorted(TILT_SPACE_GROUPS))
def test_each_tilt_system_has_its_space_group(notation):
    s = tilted_perovskite("Ca", "Ti", "O", notation)
    assert space_group_of(s)[0] == TILT_SPACE_GROUPS[notation]
    assert s.composition.reduced_formula == "CaTiO3" and len(s) == 40


@pytest.mark.parametrize(("key", "number"), sorted(POLAR_SPACE_GROUPS.items()))
def test_polar_families(key, number):
    notation, direction = key
    s = tilted_perovskite("Ba", "Ti", "O", notation, b_shift=tuple(0.12 * d for d in direction))
    assert space_group_of(s)[0] == number


def test_2h_polytype_and_octahedra_stay_corner_shared():
    assert space_group_of(hexagonal_2h("Ba", "Ni", "O"))[0] == 194
    s = tilted_perovskite("Ca", "Ti", "O", "a+b-b-", (10.0, 10.0))
    ti = [i for i, site in enumerate(s) if site.specie.symbol == "Ti"]
    for i in ti:  # six O neighbours at the bond length, within the small-angle error
        d = sorted(n.nn_distance for n in s.get_neighbors(s[i], 2.3))
        assert len(d) == 6 and np.allclose(d, bond_length("Ti", 4, "O", -2), rtol=0.02)


def test_bond_valence_length_and_tilt_shortening():
    assert bond_length("Ti", 4, "O", -2) == pytest.approx(3.905 / 2, rel=0.01)  # SrTiO3
    flat = tilted_perovskite("Sr", "Ti", "O", "a0a0a0")
    tilted = tilted_perovskite("Sr", "Ti", "O", "a0a0c-", (10.0,))
    a0, a1 = flat.lattice.abc[0], tilted.lattice.abc[0]
    assert a1 / a0 == pytest.approx(np.cos(np.radians(10.0)))
    assert tilted.lattice.abc[2] == pytest.approx(flat.lattice.abc[2])


def test_glazer_parsing_and_angles():
    assert parse_glazer("a+b-b-") == (("a", "b", "b"), ("+", "-", "-"))
    assert tilt_angles("a0b-c-", (5.0, 3.0)) == (0.0, 5.0, 3.0)
    assert tilt_angles("a-a-a-", 7.0) == (7.0, 7.0, 7.0)
    with pytest.raises(ValueError, match="Glazer"):
        parse_glazer("a+b-")


def test_generated_templates_cover_the_missing_symmetries_and_feed_ter():
    gen = generated_templates()
    numbers = {t.space_group_number for t in gen.values()} | {
        t.space_group_number for t in builtin_templates().values()
    }
    assert (
        len(numbers) >= 12 and {127, 74, 139, 204, 71, 137, 11, 63, 12, 15, 2, 160, 194} <= numbers
    )
    assert all(t.origin == "generated" and "generated" in t.source for t in gen.values())
    assert all(t.tilt_system for t in (*gen.values(), *builtin_templates().values()))
    assert builtin_templates()["CaTiO3_Pnma"].tilt_system == "a+b-b-"
    result = run_ter({"SrZrO3_P4mbm": gen["SrZrO3_P4mbm"]}, TERConfig(max_per_template=3))
    assert result.structures and all(s.space_group_number == 127 for s in result.structures)


def cu_sticks(structure):
    s = simulate_sticks(structure, "CuKa", (10.0, 80.0))
    return s.two_theta, s.intensity


# literature structures and the tilt system that describes them
CASES = [
    ("SrTiO3_Pm-3m", ("Sr", "Ti", "O"), "a0a0a0", (2, 4, -2)),
    ("CsPbBr3_Pm-3m", ("Cs", "Pb", "Br"), "a0a0a0", (1, 2, -1)),
    ("CsPbI3_Pm-3m", ("Cs", "Pb", "I"), "a0a0a0", (1, 2, -1)),
    ("SrTiO3_I4mcm", ("Sr", "Ti", "O"), "a0a0c-", (2, 4, -2)),
    ("LaAlO3_R-3c", ("La", "Al", "O"), "a-a-a-", (3, 3, -2)),
]


@pytest.mark.parametrize(("name", "elements", "notation", "charges"), CASES)
def test_fitted_generated_structure_matches_the_real_one(name, elements, notation, charges):
    real = builtin_templates()[name].structure
    angles, _, generated = fit_tilts(real, *elements, notation, charges, fit_bond=True)
    c = compare(name, real, generated, notation, angles, cu_sticks)
    assert c.space_group == space_group_of(real)[0]
    assert c.lattice_error < 0.02 and c.max_peak_offset < 0.2


def test_bond_valence_alone_puts_oxide_lattices_within_2_percent():
    for name, elements, notation, charges in (CASES[0], CASES[3], CASES[4]):
        real = builtin_templates()[name].structure
        angles, _, generated = fit_tilts(real, *elements, notation, charges, fit_bond=False)
        assert compare(name, real, generated, notation, angles, cu_sticks).lattice_error < 0.02
