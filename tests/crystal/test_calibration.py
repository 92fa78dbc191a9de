import math

import numpy as np
import pytest

from bxrd.crystal.bond_valence import structure_bond_valence_sums
from bxrd.crystal.calibration import (
    UNCALIBRATED,
    Calibration,
    fit_tilt_threshold,
    fit_volume_correction,
    grouped_folds,
    load_calibration,
)
from bxrd.crystal.structure_model import PerovskiteIons, fit_cell, predict_tilt_system


def test_volume_fit_recovers_offsets_and_weight_despite_outliers():
    rng = np.random.default_rng(0)
    fam = rng.choice(["oxide", "halide", "chalcogenide"], 300)
    disagreement = rng.normal(0.0, 0.06, 300)
    truth = {"oxide": 0.01, "halide": 0.08, "chalcogenide": -0.03}
    y = np.array([truth[f] for f in fam]) + 0.5 * disagreement + rng.normal(0, 0.005, 300)
    y[:15] += 0.5  # a few wrong oxidation-state guesses must not drag the fit
    offsets, weight = fit_volume_correction(fam, disagreement, y)
    assert offsets == pytest.approx(truth, abs=0.005)
    assert weight == pytest.approx(0.5, abs=0.05)


def test_absent_family_gets_no_offset_and_folds_keep_formulas_together():
    offsets, _ = fit_volume_correction(["oxide", "oxide"], [0.0, 0.1], [0.02, 0.02])
    assert set(offsets) == {"oxide"}
    formulas = [f"F{i % 37}" for i in range(200)]
    folds = grouped_folds(formulas, k=5)
    assert set(folds) == set(range(5))
    for f in set(formulas):
        assert len({int(k) for k, g in zip(folds, formulas, strict=True) if g == f}) == 1


def test_tilt_threshold_separates_tilted_from_cubic():
    tilts = [0.0, 1.0, 3.0, 6.5, 9.0, 12.0]
    assert 3.0 < fit_tilt_threshold(tilts, [False, False, False, True, True, True]) <= 6.5


def test_calibration_scales_the_cell_and_keeps_bond_valence_sums():
    cal = Calibration(offsets={"halide": 0.09}, shannon_weight=0.0, tilt_threshold=4.0)
    ions = PerovskiteIons.of("Cs", "Pb", "Br", calibration=cal)
    bare = PerovskiteIons.of("Cs", "Pb", "Br", calibration=UNCALIBRATED)
    assert ions.length_scale == pytest.approx(math.exp(0.03))
    assert ions.d_bx == pytest.approx(bare.d_bx * math.exp(0.03))
    cell, bare_cell = fit_cell(ions, "a+b-b-"), fit_cell(bare, "a+b-b-")
    assert cell.volume_per_formula_unit == pytest.approx(
        bare_cell.volume_per_formula_unit * math.exp(0.09), rel=1e-9
    )
    assert cell.tilt == bare_cell.tilt
    charges = [{"Cs": 1, "Pb": 2, "Br": -1}[s.specie.symbol] for s in cell.structure]
    bvs = structure_bond_valence_sums(cell.structure, charges, ions.r0_table)
    cations = np.array(charges) > 0
    assert np.all(np.abs(bvs[cations] / np.array(charges)[cations] - 1) < 0.10)


def test_committed_calibration_is_applied_by_default():
    committed = load_calibration()
    ions = PerovskiteIons.of("Cs", "Pb", "I")
    assert ions.length_scale == pytest.approx(
        committed.length_scale("halide", ions.shannon_disagreement)
    )
    assert committed.offsets  # the table is committed, not the uncalibrated fallback
    notation, cell = predict_tilt_system(ions)
    assert notation == ("a+b-b-" if cell.tilt >= committed.tilt_threshold else "a0a0a0")
