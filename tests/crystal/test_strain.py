import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.generator import generate_one
from bxrd.crystal.strain import (
    CellStrain,
    apply_strain,
    conventional_cell,
    ideal_parameters,
    measure_strain,
)
from bxrd.crystal.strain_model import (
    NO_STRAIN,
    StrainModel,
    fit_strain_model,
    load_strain_model,
    write_strain_model,
)
from bxrd.crystal.structure_model import PerovskiteIons, fit_cell
from bxrd.crystal.template import space_group_of
from bxrd.crystal.tilts import tilted_perovskite


def _pc_strain(a: float, b: float, c: float) -> np.ndarray:
    """ln of a/√2, b/2, c/√2 (Pnma) at equal volume, from published cell constants."""
    v = np.log([a / math.sqrt(2), b / 2, c / math.sqrt(2)])
    return v - v.mean()


def _conventional_abc(structure: Structure) -> np.ndarray:
    return np.array(Lattice(conventional_cell(structure)[1]).abc)


def test_ideal_cells_are_the_pseudo_cubic_multiples():
    assert ideal_parameters(62) == pytest.approx((math.sqrt(2), 2, math.sqrt(2), 90, 90, 90))
    assert ideal_parameters(140) == pytest.approx((math.sqrt(2), math.sqrt(2), 2, 90, 90, 90))
    r3c = (math.sqrt(2), math.sqrt(2), 2 * math.sqrt(3), 90, 90, 120)
    assert ideal_parameters(167) == pytest.approx(r3c)
    assert ideal_parameters(221) == pytest.approx((1, 1, 1, 90, 90, 90))


def test_published_catio3_strain():
    # Sasaki et al. 1987, Pnma a = 5.4423, b = 7.6401, c = 5.3796 Å: a/√2 > b/2 > c/√2
    number, strain = measure_strain(builtin_templates()["CaTiO3_Pnma"].structure)
    assert number == 62
    assert strain.lengths == pytest.approx(_pc_strain(5.4423, 7.6401, 5.3796), abs=1e-5)
    assert strain.lengths[0] == pytest.approx(0.0063, abs=2e-4)


def test_lamno3_literature_file_has_its_jahn_teller_strain(shared_structures):
    # LaMnO3 (PRB 54, 15149): Pnma a = 5.7461, b = 7.6637, c = 5.5333 Å; the cooperative
    # Jahn–Teller order shortens b/2 below both a/√2 and c/√2 (the O' cell)
    s = Structure.from_file(shared_structures / "package_literature" / "LaMnO3.mcif")
    number, strain = measure_strain(s)
    assert number == 62
    assert strain.lengths == pytest.approx(_pc_strain(5.7461, 7.6637, 5.5333), abs=1e-4)
    assert strain.lengths[1] < strain.lengths[2] < strain.lengths[0]


def test_strained_pnma_cell_has_the_requested_ratio_and_stays_pnma():
    cell = tilted_perovskite("Gd", "Fe", "O", "a+b-b-", 12.0, charges=(3, 3, -2))
    a, b, c = _conventional_abc(cell)
    assert a == pytest.approx(c, rel=1e-9)  # the generated cell is pseudo-cubic
    strained = apply_strain(cell, CellStrain((0.026, -0.004, -0.022)))
    a, b, c = _conventional_abc(strained)
    assert a / c == pytest.approx(math.exp(0.048), rel=1e-9)
    assert (b / 2) / (c / math.sqrt(2)) == pytest.approx(math.exp(0.018), rel=1e-9)
    assert strained.volume == pytest.approx(cell.volume, rel=1e-9)
    assert np.allclose(strained.frac_coords, cell.frac_coords)
    assert space_group_of(strained)[0] == 62
    assert measure_strain(strained)[1].lengths == pytest.approx((0.026, -0.004, -0.022), abs=1e-9)


@pytest.mark.parametrize(
    ("notation", "number"), [("a0a0c-", 140), ("a-a-a-", 167), ("a0b+c-", 63), ("a0a0a0", 221)]
)
def test_strain_keeps_the_lattice_system_and_space_group(notation, number):
    cell = tilted_perovskite("Sr", "Ti", "O", notation)
    assert space_group_of(cell)[0] == number
    strained = apply_strain(cell, CellStrain((0.01, -0.004, -0.006)))
    assert space_group_of(strained)[0] == number
    got = measure_strain(strained)[1].lengths
    # what the lattice system allows: all three (orthorhombic), a = b (tetragonal and
    # hexagonal axes), nothing (cubic)
    allowed = {63: (0.01, -0.004, -0.006), 221: (0, 0, 0)}.get(number, (0.003, 0.003, -0.006))
    assert got == pytest.approx(allowed, abs=1e-9)


def test_monoclinic_cells_are_left_alone():
    # spglib re-chooses a monoclinic cell with the metric: a strain would not read back
    cell = tilted_perovskite("Sr", "Ti", "O", "a-b-b-")
    assert space_group_of(cell)[0] == 15
    assert apply_strain(cell, CellStrain((0.01, -0.004, -0.006))).lattice == cell.lattice
    with pytest.raises(KeyError):
        measure_strain(cell)


def test_fitted_law_recovers_a_sin_squared_slope_jahn_teller_offset_and_polar_medians(tmp_path):
    slope, jt = np.array([0.6, -0.1, -0.5]), np.array([0.03, -0.03, 0.0])

    def pnma(t: float, active: bool) -> tuple:
        return (
            62,
            t,
            CellStrain(tuple(slope * math.sin(math.radians(t)) ** 2 + jt * active)),
            active,
        )

    samples = [pnma(t, False) for t in (6.0, 9.0, 12.0, 15.0)] + [pnma(t, True) for t in (8, 11)]
    samples += [(99, 0.0, CellStrain((-0.01 * k, -0.01 * k, 0.02 * k)), False) for k in (1, 2, 3)]
    samples += [(140, 5.0, CellStrain((0.001, 0.001, -0.002)), False)]  # one structure: no row
    model = fit_strain_model(samples)
    assert sorted(model.rows) == [62, 99]
    s12 = math.sin(math.radians(12)) ** 2
    assert model.predict(62, 12.0).lengths == pytest.approx(slope * s12)
    assert model.predict(62, 12.0, jahn_teller=True).lengths == pytest.approx(slope * s12 + jt)
    assert model.predict(62, 0.0).lengths == pytest.approx((0, 0, 0))
    assert model.predict(99, 0.0).lengths == pytest.approx((-0.02, -0.02, 0.04))
    assert model.predict(140, 5.0) == CellStrain()
    draws = [model.sample(99, 0.0, np.random.default_rng(s)).lengths[2] for s in range(20)]
    row = model.rows[99]
    assert all(0.04 + row.lo[2] <= d <= 0.04 + row.hi[2] for d in draws) and np.std(draws) > 0
    write_strain_model(model, tmp_path / "strain.csv")
    assert load_strain_model.__wrapped__(tmp_path / "strain.csv") == model


def test_model_cell_gets_the_committed_strain_at_constant_volume():
    ions = PerovskiteIons.of("Gd", "Fe", "O", (3, 3, -2))
    flat, strained = fit_cell(ions, strain=NO_STRAIN), fit_cell(ions)
    a, _, c = _conventional_abc(flat.structure)
    assert a == pytest.approx(c, rel=1e-6)
    a, b, c = _conventional_abc(strained.structure)
    expected = load_strain_model().predict(62, strained.tilt).lengths
    assert math.log(a / c) == pytest.approx(expected[0] - expected[2], abs=1e-6)
    assert a / math.sqrt(2) > b / 2 > c / math.sqrt(2)  # as GdFeO3 (a 5.61, b 7.67, c 5.35)
    assert strained.volume_per_formula_unit == pytest.approx(flat.volume_per_formula_unit)
    assert space_group_of(strained.structure)[0] == 62
    assert StrainModel().rows == {}
    # Jahn–Teller Mn³⁺: b/2 the shortest, as LaMnO3's O' cell (a/√2 4.06, c/√2 3.91, b/2 3.83)
    lamno3 = fit_cell(PerovskiteIons.of("La", "Mn", "O", (3, 3, -2)))
    a, b, c = _conventional_abc(lamno3.structure)
    assert b / 2 < c / math.sqrt(2) < a / math.sqrt(2)
    assert space_group_of(lamno3.structure)[0] == 62


def test_generator_draws_strained_pnma_cells_labelled_pnma():
    ions = PerovskiteIons.of("Ca", "Ti", "O")
    rng = np.random.default_rng(3)
    splits = []
    for _ in range(3):
        structure, meta = generate_one(ions, "a+b-b-", None, rng)
        assert meta["space_group_number"] == 62
        a, _, c = _conventional_abc(structure)
        splits.append(math.log(a / c))
    assert min(np.abs(splits)) > 1e-3 and np.std(splits) > 1e-4  # split, and drawn


def test_a_cell_far_from_the_ideal_axes_is_named_not_strained():
    # P4mm with c/a = 1.8 is not a strained pseudo-cubic cell (ln c ≈ 0.39 > MAX_STRAIN)
    polar = tilted_perovskite("Ba", "Ti", "O", "a0a0a0", b_shift=(0.0, 0.0, 0.15))
    lat = polar.lattice.matrix * np.array([[1.0], [1.0], [1.8]])
    stretched = Structure(Lattice(lat), polar.species, polar.frac_coords)
    assert space_group_of(stretched)[0] == 99
    with pytest.raises(ValueError, match="99"):
        measure_strain(stretched)
    with pytest.raises(ValueError, match="99"):
        apply_strain(stretched, CellStrain((0.0, 0.0, 0.01)))
