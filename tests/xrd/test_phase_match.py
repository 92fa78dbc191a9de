"""The shipped secondary-phase library and the pure peak matching."""

from __future__ import annotations

import numpy as np
import pytest

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import shipped
from bxrd.xrd.phase_match import (
    chance_probability,
    covered_fraction,
    match_phases,
)
from bxrd.xrd.phase_sticks import CU_KA1, PhaseSticks, lorentz_polarisation
from bxrd.xrd.wavelength import two_theta_from_d

LIBRARY = PhaseSticks.load(shipped("phases.npz"))
MO_KA1 = 0.70932


def _line(name: str, hkl: tuple[int, int, int]) -> float:
    i = LIBRARY.names.index(name)
    sl = slice(int(LIBRARY.offsets[i]), int(LIBRARY.offsets[i + 1]))
    rows = np.nonzero((LIBRARY.hkl[sl] == hkl).all(axis=1))[0]
    return float(LIBRARY.d[sl][rows[0]])


def test_library_is_small_with_provenance_and_experimental_spacings():
    assert shipped("phases.npz").stat().st_size <= 200_000
    assert "make_phase_library.py" in LIBRARY.meta["command"]
    assert {"PbI2", "PbBr2", "CsI", "PbO", "SnO2", "In2O3", "Si", "TiO2 anatase"} <= set(
        LIBRARY.names
    )
    assert all(s.startswith("mp-") or s.startswith("structure type") for s in LIBRARY.sources)
    assert _line("PbI2", (0, 0, 1)) == pytest.approx(6.979, abs=1e-3)  # c of 2H-PbI2
    assert _line("CsI", (1, 1, 0)) == pytest.approx(4.5667 / np.sqrt(2), abs=1e-3)
    assert _line("Si", (1, 1, 1)) == pytest.approx(5.4309 / np.sqrt(3), abs=1e-3)
    assert _line("SnO2", (1, 1, 0)) == pytest.approx(4.7382 / np.sqrt(2), abs=1e-3)


def test_lines_move_with_the_wavelength_by_bragg_and_lorentz_polarisation():
    i = LIBRARY.names.index("PbI2")
    tt_cu, i_cu, _ = LIBRARY.lines(i, CU_KA1)
    tt_mo, i_mo, _ = LIBRARY.lines(i, MO_KA1)
    d = LIBRARY.d[int(LIBRARY.offsets[i]) : int(LIBRARY.offsets[i + 1])]
    np.testing.assert_allclose(tt_mo, two_theta_from_d(d, MO_KA1))
    np.testing.assert_allclose(
        i_mo / i_cu, lorentz_polarisation(tt_mo) / lorentz_polarisation(tt_cu)
    )
    assert lorentz_polarisation(np.array(90.0)) == pytest.approx(2 * np.sqrt(2))


def test_save_load_round_trip(tmp_path):
    LIBRARY.save(tmp_path / "p.npz")
    back = PhaseSticks.load(tmp_path / "p.npz")
    assert back.names == LIBRARY.names and back.sources == LIBRARY.sources
    np.testing.assert_allclose(back.d, LIBRARY.d)
    with pytest.raises(BxrdInputError, match="not a bxrd phase library"):
        PhaseSticks.load(tmp_path / "missing.npz")
    offsets = LIBRARY.offsets.copy()
    offsets[2] = offsets[1]  # the second phase without a line
    with pytest.raises(ValueError, match="at least one stick"):
        PhaseSticks(**{**vars(LIBRARY), "offsets": offsets, "_at": {}})


def test_chance_of_matches_is_a_binomial_tail():
    assert chance_probability(0, 5, 0.1) == pytest.approx(1.0)
    assert chance_probability(2, 3, 0.5) == pytest.approx(0.5)
    assert covered_fraction(np.array([20.0, 20.3]), (10.0, 30.0), 0.2) == pytest.approx(0.035)


def test_one_peak_never_makes_a_phase_and_the_rule_cannot_be_lowered():
    peak = float(two_theta_from_d(6.979, CU_KA1))  # PbI2 (001)
    assert match_phases(LIBRARY, np.array([peak]), np.array([False]), CU_KA1, (10, 80)) == []
    with pytest.raises(ValueError, match="at least 2"):
        match_phases(LIBRARY, np.array([peak]), np.array([False]), CU_KA1, (10, 80), min_matches=1)


def test_strong_lines_of_pbi2_are_found_and_explained_peaks_are_not_reused():
    i = LIBRARY.names.index("PbI2")
    tt, inten, _ = LIBRARY.lines(i, CU_KA1)
    strong = np.sort(tt[(inten >= 30) & (tt < 80)])
    found = match_phases(LIBRARY, strong, np.zeros(len(strong), bool), CU_KA1, (10, 80))
    assert [LIBRARY.names[m.index] for m in found] == ["PbI2"]
    assert found[0].chance < 0.01
    assert match_phases(LIBRARY, strong, np.ones(len(strong), bool), CU_KA1, (10, 80)) == []


def test_a_pattern_crowded_with_random_peaks_claims_no_phase():
    peaks = np.sort(np.random.default_rng(1).uniform(10, 80, 60))
    assert match_phases(LIBRARY, peaks, np.zeros(60, bool), CU_KA1, (10, 80)) == []
