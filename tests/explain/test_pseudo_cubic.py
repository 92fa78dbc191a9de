"""Pseudo-cubic indexing: d = a_p / √N on the primitive cell, tilt lines on the doubled cell.

Glazer (1975): out-of-phase tilts give R-point lines (all indices odd of the 2a_p cell),
in-phase tilts M-point lines (two odd); an untilted cell gives none.
"""

from pathlib import Path

import numpy as np
import pytest

from bxrd.crystal.tilts import tilted_perovskite
from bxrd.explain.pseudo_cubic import HKL_OF_N, TILT_POINTS, pseudo_cubic, tilt_note
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.pipeline import PredictOptions, predict_files
from bxrd.report.html import flags
from bxrd.xrd.simulate import simulate_sticks

CU = 1.54184
TT = np.arange(10.0, 80.0 + 1e-9, 0.02)
MAPBI3_FILM = Path(__file__).resolve().parents[2] / (
    "../shared/data/patterns/thinfilm_perovskites/I4Imcm/"
    "20180121_MAPI_3D_2-Theta_Omega_2-Theta_Omega.xy"
)


def bragg(d: float) -> float:
    return float(2 * np.degrees(np.arcsin(CU / (2 * d))))


def peaks_at(centres, heights, fwhm=0.12) -> np.ndarray:
    sigma = fwhm / 2.3548
    return sum(
        h * np.exp(-0.5 * ((TT - c) / sigma) ** 2) for c, h in zip(centres, heights, strict=True)
    )


def rendered(structure, noise=0.002, seed=0) -> np.ndarray:
    sticks = simulate_sticks(structure, CU, (10.0, 80.0))
    x = peaks_at(sticks.two_theta, sticks.intensity)
    return x / x.max() + np.random.default_rng(seed).normal(0.0, noise, TT.shape)


def test_cubic_edge_and_zero_offset_from_bragg_law():
    a, zero = 6.30, 0.06  # primitive lines 100 … 222, all shifted by a zero offset
    n_p = (1, 2, 3, 4, 5, 6, 8, 9, 12)
    x = peaks_at([bragg(a / np.sqrt(n)) + zero for n in n_p], np.linspace(1.0, 0.2, len(n_p)))
    cell = pseudo_cubic(x, TT, CU)
    assert cell is not None
    assert cell.a == pytest.approx(a, abs=0.003)
    assert cell.zero == pytest.approx(zero, abs=0.02)
    assert cell.share == pytest.approx(1.0) and cell.points() == ""
    assert [line.hkl for line in cell.lines][:4] == ["100", "110", "111", "200"]


def test_superstructure_lines_are_named_by_their_point():
    a = 6.30
    # primitive lines, plus 311 (R), 321 (M) and 320 (X) of the doubled cell at d = 2a/√N
    prim = [bragg(a / np.sqrt(n)) for n in (1, 2, 3, 4, 5, 6)]
    extra = {"R": 11, "M": 14, "X": 13}
    x = peaks_at(prim + [bragg(2 * a / np.sqrt(n)) for n in extra.values()], [1.0] * 6 + [0.1] * 3)
    cell = pseudo_cubic(x, TT, CU)
    got = {line.point: line.hkl for line in cell.lines if line.point}
    assert got == {"R": "311", "M": "321", "X": "320"}
    assert 0 < cell.r_chance < 0.5  # three peaks off the primitive lines


def test_111_of_the_doubled_cell_is_b_site_order_not_a_tilt():
    a = 5.64  # Cs2AgBiBr6-like: rock-salt Ag/Bi order puts 111 of 2a_p at d = 2a/√3
    prim = [bragg(a / np.sqrt(n)) for n in (1, 2, 3, 4, 5, 6)]
    x = peaks_at(prim + [bragg(2 * a / np.sqrt(3))], [1.0, 0.8, 0.5, 0.9, 0.3, 0.3, 0.15])
    cell = pseudo_cubic(x, TT, CU)
    assert cell.points() == "B"
    note = tilt_note(cell.as_dict(), "Pm-3m (221)")
    assert "rock-salt B-site order" in note and "tilts" not in note


@pytest.mark.parametrize(
    ("glazer", "space_group", "must"),
    [
        ("a0a0a0", "Pm-3m", ""),
        ("a0a0c-", "I4/mcm", "R"),
        ("a0a0c+", "P4/mbm", "M"),
        ("a-a-a-", "R-3c", "R"),
        ("a0b-b-", "Imma", "R"),
        ("a+b-b-", "Pnma", "RM"),
        ("a+a+a+", "Im-3", "M"),
    ],
)
def test_tilted_perovskites_show_the_lines_of_their_tilt_system(glazer, space_group, must):
    cell = pseudo_cubic(rendered(tilted_perovskite("Cs", "Pb", "I", glazer, 6.0)), TT, CU)
    assert cell is not None and 6.2 < cell.a < 6.5
    seen = cell.points()
    assert set(must) <= set(seen), (glazer, seen)  # the tilts' lines are found
    assert set(seen) <= set(TILT_POINTS[space_group]), (glazer, seen)  # and no other


def test_tilt_note_holds_r_lines_against_the_answer():
    x = peaks_at(
        [bragg(6.3 / np.sqrt(n)) for n in (1, 2, 3, 4, 5)] + [bragg(12.6 / np.sqrt(11))],
        [1.0, 0.6, 0.4, 0.8, 0.5, 0.1],
    )
    reading = pseudo_cubic(x, TT, CU).as_dict()
    note = tilt_note(reading, "Pm-3m (221)")
    assert "out-of-phase octahedral tilts" in note
    assert "(311)" in note and "(100)" not in note  # names the R line, not the primitive ones
    assert ("tilt lines vs answer", "warn") in flags({"tilt_note": note, "pseudo_cubic": reading})
    assert tilt_note(reading, "I4/mcm (140)") is None  # R lines are what I4/mcm predicts
    assert tilt_note(reading, "other") is None  # tilted: a perovskite `other` may hold
    # R lines that the peaks off the primitive lines would hit by chance say nothing
    assert tilt_note({**reading, "r_chance": 0.5}, "Pm-3m (221)") is None
    plain = pseudo_cubic(peaks_at([bragg(6.3 / np.sqrt(n)) for n in (1, 2, 4)], [1, 1, 1]), TT, CU)
    assert "no R-point line is seen" in tilt_note(plain.as_dict(), "I4/mcm (140)")
    assert tilt_note(plain.as_dict(), "Pm-3m (221)") is None


def test_no_cell_for_a_pattern_that_is_not_pseudo_cubic():
    # three unrelated spacings (a layered A3B2X9-like pattern has no cubic cell in 3.5-7 Å)
    x = peaks_at([bragg(8.1), bragg(4.37), bragg(3.05), bragg(2.21)], [1.0, 0.7, 0.9, 0.6])
    assert pseudo_cubic(x, TT, CU) is None
    assert pseudo_cubic(np.zeros_like(TT), TT, CU) is None


def test_every_n_has_its_indices():
    for n, hkl in list(HKL_OF_N.items())[:60]:
        h, k, ell = map(int, hkl) if " " not in hkl else map(int, hkl.split())
        assert h * h + k * k + ell * ell == n and h >= k >= ell >= 0
    assert 7 not in HKL_OF_N and 15 not in HKL_OF_N  # 8b + 7 is no sum of three squares
    assert HKL_OF_N[27] == "511"  # not 333: tilts never give h = k = l


@pytest.mark.skipif(not MAPBI3_FILM.is_file(), reason=f"film not found at {MAPBI3_FILM}")
def test_measured_mapbi3_film_shows_its_tetragonal_211_as_an_r_line():
    model = load_predictor(shipped("default.ckpt"))
    options = PredictOptions(wavelength="CuKa", explain="fast", keep_arrays=False)
    (answer,) = predict_files([MAPBI3_FILM], model=model, options=options)
    cell = answer.pseudo_cubic
    assert cell["a"] == pytest.approx(6.28, abs=0.03)  # MAPbI3, a_p ≈ 6.28-6.31 Å
    (r_line,) = [line for line in cell["lines"] if line["point"] == "R"]
    assert r_line["hkl"] == "311" and r_line["two_theta"] == pytest.approx(23.5, abs=0.1)
    assert "pseudo-cubic a = 6.2" in answer.text() and "R 23.4" in answer.text()
    # prediction only (--explain none) does not index: not checked, null
    cheap = PredictOptions(wavelength="CuKa", explain="none", keep_arrays=False)
    (plain,) = predict_files([MAPBI3_FILM], model=model, options=cheap)
    assert plain.pseudo_cubic is None and plain.tilt_note is None


def test_split_lines_of_a_tetragonal_cell_are_not_read_as_tilts():
    a, c = 6.25, 6.39  # c / a = 1.022: lines with l ≠ 0 split by up to 2 % in d
    hkls = [(h, k, m) for h in range(4) for k in range(h + 1) for m in range(4) if h + k + m]
    d = [1 / np.sqrt((h * h + k * k) / a**2 + m * m / c**2) for h, k, m in hkls]
    d = [s for s in d if CU / (2 * s) < 0.99]
    x = peaks_at([bragg(s) for s in d], [1.0 / (1 + i % 4) for i in range(len(d))])
    cell = pseudo_cubic(x, TT, CU)
    assert cell is not None and a < cell.a < c
    assert cell.points() == ""


def test_no_cell_and_no_crash_without_trial_edges():
    # peaks only below 12.6° (d > 7 Å): no trial edge in range; a flat pattern has no peaks
    assert pseudo_cubic(peaks_at([11.0, 11.9], [1.0, 0.7]), TT, CU) is None
    assert pseudo_cubic(np.ones_like(TT), TT, CU) is None


@pytest.mark.parametrize("zero", [-0.3, -0.15, 0.15, 0.3])
def test_a_zero_offset_moves_no_line_in_or_out(zero):
    a = 6.3
    prim = [bragg(a / np.sqrt(n)) for n in (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16)]
    r_lines = [bragg(2 * a / np.sqrt(n)) for n in (11, 19, 27, 59)]
    heights = [1, 0.6, 0.4, 0.8, 0.5, 0.4, 0.4, 0.2, 0.3, 0.2, 0.2, 0.2, 0.1] + [0.1] * 4
    ref = pseudo_cubic(peaks_at(prim + r_lines, heights), TT, CU)
    cell = pseudo_cubic(peaks_at([t + zero for t in prim + r_lines], heights), TT, CU)
    assert cell.zero == pytest.approx(zero, abs=0.02) and cell.a == pytest.approx(a, abs=0.003)
    assert [x.hkl for x in cell.lines if x.point] == [x.hkl for x in ref.lines if x.point]
    assert cell.r_chance == pytest.approx(ref.r_chance, abs=0.01)


def test_an_oxide_with_weak_tilt_lines_keeps_its_small_cell():
    # CaTiO3-like a+a+a+ at 10°: the √2 supercell would index the M lines as primitive ones
    cell = pseudo_cubic(rendered(tilted_perovskite("Ca", "Ti", "O", "a+a+a+", 10.0)), TT, CU)
    assert 3.7 < cell.a < 3.9 and "M" in cell.points()


def test_other_wavelength_and_axis():
    mo, tt = 0.70932, np.arange(5.0, 40.0 + 1e-9, 0.01)  # Mo Kα on 5-40°
    a = 6.3
    lines = [2 * np.degrees(np.arcsin(mo * np.sqrt(n) / (2 * a))) for n in (1, 2, 3, 4, 5, 6, 8)]
    lines.append(2 * np.degrees(np.arcsin(mo * np.sqrt(11) / (4 * a))))  # R 311
    x = sum(
        h * np.exp(-0.5 * ((tt - c) / 0.03) ** 2)
        for c, h in zip(lines, [1, 0.6, 0.4, 0.8, 0.5, 0.4, 0.3, 0.08], strict=True)
    )
    cell = pseudo_cubic(x, tt, mo)
    assert cell.a == pytest.approx(a, abs=0.005) and cell.points() == "R"


def test_a_film_led_by_a_pbi2_line_gets_no_cell_from_it():
    # c-oriented PbI2 (c = 6.98 Å: 001 12.68°, 002, 003) strongest, a weaker perovskite
    pbi2 = [bragg(6.98 / n) for n in (1, 2, 3)]
    perovskite = [bragg(6.3 / np.sqrt(n)) for n in (1, 2, 4)]
    cell = pseudo_cubic(peaks_at(pbi2 + perovskite, [1.0, 0.5, 0.3, 0.4, 0.2, 0.3]), TT, CU)
    assert cell is None or cell.a < 6.6  # PbI2's 00l series is no perovskite cell


def test_a_zero_offset_past_the_bound_is_not_fitted():
    # lines of a = 6.3 Å all shifted by 1°: a sample this displaced is out of the model
    x = peaks_at([bragg(6.3 / np.sqrt(n)) + 1.0 for n in (1, 2, 3, 4, 5)], [1, 0.6, 0.4, 0.8, 0.5])
    cell = pseudo_cubic(x, TT, CU)
    assert cell is None or abs(cell.zero) <= 0.3


def test_random_peaks_rarely_earn_a_note():
    rng = np.random.default_rng(0)
    notes = 0
    for _ in range(200):
        x = peaks_at(rng.uniform(12, 78, 4), rng.uniform(0.1, 1.0, 4))
        cell = pseudo_cubic(x, TT, CU)
        notes += cell is not None and tilt_note(cell.as_dict(), "Pm-3m (221)") is not None
    assert notes <= 8  # ≤ 4 % of patterns of four unrelated peaks (measured: 6)


def test_pnma_may_show_the_111_line():
    b, r = {"point": "B", "two_theta": 12.2, "hkl": "111"}, {"point": "R", "two_theta": 23.4}
    reading = {"points": "RB", "r_chance": 0.05, "lines": [b, r]}
    assert tilt_note(reading, "Pnma (62)") is None  # A-cation shifts allow it (CaTiO3, GdFeO3)
    assert "rock-salt B-site order" in tilt_note(reading, "I4/mcm (140)")  # a0a0c-: exactly 0


def test_an_other_answer_is_noted_when_the_pattern_reads_as_an_untilted_perovskite():
    """Five primitive lines of a_p = 6.3 Å and nothing else: an `other` answer is checked."""
    cubic = [bragg(6.3 / np.sqrt(n)) for n in (1, 2, 3, 4, 5)]
    heights = [1.0, 0.6, 0.4, 0.8, 0.5]
    reading = pseudo_cubic(peaks_at(cubic, heights), TT, CU).as_dict()
    note = tilt_note(reading, "other")
    assert "a_p = 6.300 Å (5 lines, 100% of the peak height)" in note
    assert tilt_note(reading, "Pm-3m (221)") is None  # what Pm-3m predicts
    # three lines fit any cell; an R line is a tilted perovskite, which `other` may hold
    three = pseudo_cubic(peaks_at(cubic[:3], heights[:3]), TT, CU)
    assert three is None or tilt_note(three.as_dict(), "other") is None
    tilted = pseudo_cubic(peaks_at([*cubic, bragg(12.6 / np.sqrt(11))], [*heights, 0.1]), TT, CU)
    assert tilted.points() == "R" and tilt_note(tilted.as_dict(), "other") is None
    # a strong peak off the cell (another phase's) leaves less than 90 % of the height on it
    mixed = pseudo_cubic(peaks_at([*cubic, bragg(6.98)], [*heights, 1.0]), TT, CU)
    assert mixed.share < 0.9 and tilt_note(mixed.as_dict(), "other") is None
