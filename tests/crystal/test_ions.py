import math

import pytest

from bxrd.crystal.ions import (
    candidate_ions,
    ion_for,
    octahedral_factor,
    pseudocubic_parameter,
    tolerance_factor,
)


def test_shannon_radii_follow_site_coordination():
    assert ion_for("Sr", 2, "A").cn == "XII"
    assert ion_for("Sr", 2, "A").radius == pytest.approx(1.44)
    assert ion_for("Ti", 4, "B").cn == "VI"
    assert ion_for("Ti", 4, "B").radius == pytest.approx(0.605)
    assert ion_for("Ti", 9, "B") is None


def test_tolerance_and_octahedral_factor_of_srtio3():
    a, b, x = ion_for("Sr", 2, "A"), ion_for("Ti", 4, "B"), ion_for("O", -2, "X")
    expected = (1.44 + 1.40) / (math.sqrt(2) * (0.605 + 1.40))
    assert tolerance_factor(a, b, x) == pytest.approx(expected)
    assert octahedral_factor(b, x) == pytest.approx(0.605 / 1.40)
    # t > 1: the A-X contact sets the cell; t < 1 (CaTiO3): the B-X octahedron does
    assert pseudocubic_parameter(a, b, x) == pytest.approx(math.sqrt(2) * (1.44 + 1.40))
    ca = ion_for("Ca", 2, "A")
    assert tolerance_factor(ca, b, x) < 1
    assert pseudocubic_parameter(ca, b, x) == pytest.approx(2 * (0.605 + 1.40))


@pytest.mark.parametrize(("role", "charge"), [("A", 2), ("B", 4), ("A", 1), ("B", 2), ("X", -1)])
def test_candidates_carry_requested_charge_and_radius(role, charge):
    ions = candidate_ions(role, charge)
    assert len(ions) >= 4
    assert all(i.charge == charge and i.radius > 0 for i in ions)
    assert [i.element for i in ions] == sorted(i.element for i in ions)
    assert not {"He", "Tc", "H"} & {i.element for i in ions}
