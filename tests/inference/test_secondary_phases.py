"""Secondary-phase evidence on a CsPbI3 film pattern with and without PbI2.

Patterns are made here from two structures: cubic CsPbI3 (a = 6.29 Å) and 2H-PbI2 (P-3m1,
a = 4.557, c = 6.979 Å, I at z = 0.2675), mixed by weight fraction with the intensity of each
phase ∝ (w / ρ) |F|² m LP / V² (:func:`bxrd.xrd.phases.scattering_power`), Gaussian peaks of
0.12° FWHM and counting noise. The main phase's reflections stand in for the fitted reference
of a prediction (``reference["reflections"]``).
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from bxrd.inference.answer import Answer
from bxrd.inference.secondary_phases import (
    add_secondary_phases,
    main_phase_positions,
    secondary_phase_evidence,
    shipped_phases,
)
from bxrd.xrd.axis import Axis
from bxrd.xrd.formats.base import MeasuredPattern
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import to_grid
from bxrd.xrd.phases import scattering_power
from bxrd.xrd.reflections import hkl_label
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.wavelength import two_theta_from_d

AXIS = Axis(TwoThetaGrid(10.0, 80.0, 0.02), 1.54184)  # the shipped model's axis
MO_KA1 = 0.70932
C_PBI2 = 6.979  # Å: d of PbI2 (001)

CSPBI3 = Structure.from_spacegroup(
    "Pm-3m", Lattice.cubic(6.29), ["Cs", "Pb", "I"], [[0.5] * 3, [0.0] * 3, [0.5, 0, 0]]
)
PBI2 = Structure.from_spacegroup(
    "P-3m1", Lattice.hexagonal(4.557, C_PBI2), ["Pb", "I"], [[0, 0, 0], [1 / 3, 2 / 3, 0.2675]]
)


def _sticks(structure: Structure, wavelength: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(2θ degrees, relative intensity, scattering power per unit mass) at ``wavelength``."""
    power, inv_d2, rel = scattering_power(structure, wavelength)
    return two_theta_from_d(1 / np.sqrt(inv_d2), wavelength), rel, power


def _pattern(
    two_theta: np.ndarray, wavelength: float, w_pbi2: float, oriented: bool = False, seed: int = 0
) -> np.ndarray:
    """CsPbI3 with PbI2 at weight fraction ``w_pbi2`` (only its 00l when ``oriented``)."""
    tt_main, i_main, s_main = _sticks(CSPBI3, wavelength)
    tt, inten = [tt_main], [i_main]
    if w_pbi2 > 0:
        tt_imp, i_imp, s_imp = _sticks(PBI2, wavelength)
        if oriented:  # a θ–2θ scan of c-oriented platelets: the 00l series of d = c / l
            tt_imp = two_theta_from_d(C_PBI2 / np.arange(1, 5), wavelength)
            i_imp = np.array([1.0, 0.3, 0.2, 0.1])
        tt.append(tt_imp)
        inten.append(i_imp * w_pbi2 / (1 - w_pbi2) * s_imp / s_main)
    pos, height = np.concatenate(tt), np.concatenate(inten)
    ok = np.isfinite(pos)
    sigma = 0.12 / 2.3548
    y = (height[ok, None] * np.exp(-0.5 * ((two_theta - pos[ok, None]) / sigma) ** 2)).sum(0)
    counts = 20000 * y / y.max() + 50
    y = np.random.default_rng(seed).poisson(counts).astype(float) - 50
    return y / y.max()


def _main_reflections(wavelength: float, n: int = 10) -> list[dict]:
    """The ``n`` strongest CsPbI3 reflections with hkl, as a fitted reference lists them."""
    sticks = simulate_sticks(CSPBI3, wavelength, two_theta_range=(5.0, 90.0))
    top = np.argsort(sticks.intensity)[::-1][:n]
    return [{"two_theta": float(sticks.two_theta[i]), "hkl": hkl_label(sticks.hkl[i])} for i in top]


def test_main_phase_positions_are_every_hkl_of_the_fitted_lattice():
    pos = main_phase_positions(_main_reflections(AXIS.wavelength, n=5), AXIS.wavelength, (10, 80))
    for h2 in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16):  # h² + k² + l² of a cubic cell
        bragg = float(two_theta_from_d(6.29 / np.sqrt(h2), AXIS.wavelength))
        assert np.abs(pos - bragg).min() < 0.01
    assert np.abs(pos - float(two_theta_from_d(6.29 / np.sqrt(7), AXIS.wavelength))).min() > 0.3


def test_a_lattice_with_as_many_unknowns_as_lines_is_not_accepted():
    # three lines of no common cubic / tetragonal / hexagonal cell: the orthorhombic metric
    # would reproduce them exactly (three unknowns), which tests nothing
    refs = [
        {"two_theta": tt, "hkl": hkl}
        for tt, hkl in ((14.1, "(1 0 0)"), (21.7, "(0 1 0)"), (33.3, "(0 0 1)"))
    ]
    pos = main_phase_positions(refs, AXIS.wavelength, (10, 80))
    np.testing.assert_allclose(np.sort(pos), [14.1, 21.7, 33.3])


def _evidence(y: np.ndarray) -> tuple[list[dict], list[dict]]:
    return secondary_phase_evidence(
        y, AXIS, AXIS.wavelength, (10.0, 80.0), _main_reflections(AXIS.wavelength), shipped_phases()
    )


def test_pbi2_at_ten_percent_is_reported_with_its_001_near_12_7_degrees():
    phases, left = _evidence(_pattern(AXIS.two_theta, AXIS.wavelength, 0.10))
    assert [p["formula"] for p in phases] == ["PbI2"]
    pbi2 = phases[0]
    assert pbi2["orientation"] is None and pbi2["score"] >= 0.5 and len(pbi2["matched"]) >= 3
    first = {m["hkl"]: m for m in pbi2["matched"]}["001"]
    bragg = float(two_theta_from_d(C_PBI2, AXIS.wavelength))  # 12.68°
    assert first["two_theta_expected"] == pytest.approx(bragg, abs=0.02)
    assert first["two_theta_observed"] == pytest.approx(bragg, abs=0.05)
    assert first["d_observed"] == pytest.approx(C_PBI2, abs=0.03)
    assert pbi2["source"] and pbi2["space_group"] == "P-3m1"
    assert not [u for u in left if abs(u["two_theta"] - bragg) < 0.2]


def test_clean_pattern_reports_no_secondary_phase_and_no_unexplained_peak():
    phases, left = _evidence(_pattern(AXIS.two_theta, AXIS.wavelength, 0.0))
    assert phases == [] and left == []


def test_mo_k_alpha_measurement_still_finds_pbi2_through_d_spacings():
    mo = np.arange(4.0, 38.0, 0.01)
    measured = MeasuredPattern(mo, _pattern(mo, MO_KA1, 0.10) + 0.01, MO_KA1, "mo.xy")
    gridded = to_grid(measured, AXIS.grid, AXIS.wavelength, background=False)
    phases, _ = secondary_phase_evidence(
        gridded.intensity,
        AXIS,
        MO_KA1,
        gridded.measured_range,
        _main_reflections(AXIS.wavelength),
        shipped_phases(),
    )
    assert [p["formula"] for p in phases] == ["PbI2"]
    first = {m["hkl"]: m for m in phases[0]["matched"]}["001"]
    bragg_mo = float(two_theta_from_d(C_PBI2, MO_KA1))  # 5.83° at Mo Kα1
    assert first["two_theta_observed"] == pytest.approx(bragg_mo, abs=0.05)


def test_one_stray_peak_is_named_but_never_makes_a_phase():
    y = _pattern(AXIS.two_theta, AXIS.wavelength, 0.0)
    bragg = float(two_theta_from_d(C_PBI2, AXIS.wavelength))
    y = y + 0.3 * np.exp(-0.5 * ((AXIS.two_theta - bragg) / 0.05) ** 2)
    phases, left = _evidence(y)
    assert phases == []
    assert len(left) == 1 and left[0]["two_theta"] == pytest.approx(bragg, abs=0.05)
    assert "PbI2 001" in left[0]["consistent_with"]


def test_c_oriented_pbi2_platelets_are_found_from_their_00l_series():
    phases, _ = _evidence(_pattern(AXIS.two_theta, AXIS.wavelength, 0.10, oriented=True))
    assert [p["formula"] for p in phases] == ["PbI2"]
    assert phases[0]["orientation"] == "001"
    assert {m["hkl"] for m in phases[0]["matched"]} >= {"001", "002", "003"}


def test_answers_without_a_fitted_reference_are_not_checked():
    """--explain none: no main phase to subtract, so the fields stay None (not [])."""
    a = Answer(file="x.xy", decision="predict", wavelength=AXIS.wavelength)
    a.measured_range = (10.0, 80.0)
    add_secondary_phases([a], [_pattern(AXIS.two_theta, AXIS.wavelength, 0.1)], AXIS, False)
    assert a.secondary_phases is None and a.unexplained_peaks is None
    assert "secondary_phases" in a.to_json() and a.to_json()["secondary_phases"] is None


def test_other_answers_match_every_peak_and_find_a_film_of_mostly_pbi2():
    """`other` has no structure to subtract: every peak is a candidate, so strong c-oriented
    PbI2 (its 00l at d = c / l) is reported as a known phase, and the perovskite's peaks stay
    unexplained; the same answer without an explanation (--explain none) is not checked."""
    y = _pattern(AXIS.two_theta, AXIS.wavelength, 0.6, oriented=True)
    explained, bare = (
        Answer(
            file="x.xy",
            decision="predict",
            top_label="other",
            label="other",
            threshold=0.5,
            entropy=0.1,
            coverage=1.0,
            wavelength_source="file",
            top_k=[("other", 0.97, 0.01)],
        )
        for _ in "ab"
    )
    for a in (explained, bare):
        a.wavelength, a.measured_range = AXIS.wavelength, (10.0, 80.0)
    add_secondary_phases([explained], [y], AXIS, explained=True)
    add_secondary_phases([bare], [y], AXIS, explained=False)
    assert [p["formula"] for p in explained.secondary_phases] == ["PbI2"]
    assert explained.secondary_phases[0]["orientation"] == "001"
    assert "known phase PbI2" in explained.text() and "secondary phase" not in explained.text()
    cubic_100 = float(two_theta_from_d(6.29, AXIS.wavelength))  # CsPbI3 (100), 14.07°
    assert min(abs(u["two_theta"] - cubic_100) for u in explained.unexplained_peaks) < 0.05
    assert bare.secondary_phases is None and bare.unexplained_peaks is None
