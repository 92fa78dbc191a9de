"""One reflection family: orders n of one spacing d at 2θ_n = 2 arcsin(nλ / 2d)."""

from pathlib import Path

import numpy as np
import pytest

from bxrd.explain.one_family import one_family
from bxrd.inference.answer import abstain_reason
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.pipeline import PredictOptions, predict_files
from bxrd.report.html import flags

CU = 1.54184
TT = np.arange(10.0, 80.0 + 1e-9, 0.02)
FILM = Path(__file__).resolve().parents[2] / (
    "../shared/data/patterns/thinfilm_perovskites/pm-3m/MAPbBr3_2-Theta_Omega.xy"
)


def peaks_at(centres, heights, fwhm=0.15) -> np.ndarray:
    sigma = fwhm / 2.3548
    pairs = zip(centres, heights, strict=True)
    return sum(h * np.exp(-0.5 * ((TT - c) / sigma) ** 2) for c, h in pairs)


def bragg(d: float, n: int) -> float:
    return float(2 * np.degrees(np.arcsin(n * CU / (2 * d))))


def test_orders_of_one_spacing_are_found_with_their_d():
    d = 6.30  # a (100)-oriented CsPbI3-like film: orders 1-4 inside 10-80°
    x = peaks_at([bragg(d, n) for n in (1, 2, 3, 4)], [1.0, 0.6, 0.1, 0.05])
    fam = one_family(x, TT, CU)
    assert fam is not None and fam.orders == [1, 2, 3, 4]
    assert fam.d_spacing == pytest.approx(d, abs=0.01)
    assert fam.share == pytest.approx(1.0)
    # the strongest line may be order 2: d is still that of order 1
    fam2 = one_family(peaks_at([bragg(d, 1), bragg(d, 2)], [0.4, 1.0]), TT, CU)
    assert fam2 is not None and fam2.d_spacing == pytest.approx(d, abs=0.01)


def test_strongest_order_three_and_a_zero_offset_still_give_d():
    d, offset = 7.0, 0.08  # orders 1-5 in range (1-4 drawn); order 3 strongest; all shifted
    x = peaks_at([bragg(d, n) + offset for n in (1, 2, 3, 4)], [0.3, 0.5, 1.0, 0.2])
    fam = one_family(x, TT, CU)
    assert fam is not None and fam.orders == [1, 2, 3, 4]
    assert fam.d_spacing == pytest.approx(d, abs=0.03)


def test_orders_with_a_gap_inside_the_range_are_no_family():
    # d = 5 Å and 3 Å are orders 3 and 5 of 15 Å, but orders 1, 2 and 4 (5.9°, 11.8°, 23.7°)
    # would be seen too: two in range and missing
    assert one_family(peaks_at([bragg(5.0, 1), bragg(3.0, 1)], [1.0, 0.8]), TT, CU) is None
    # orders 2, 4, 6 of d are orders 1, 2, 3 of d/2
    x = peaks_at([bragg(12.6, n) for n in (2, 4, 6)], [1.0, 0.5, 0.2])
    fam = one_family(x, TT, CU)
    assert fam is not None and fam.orders == [1, 2, 3]
    assert fam.d_spacing == pytest.approx(6.3, abs=0.01)


def test_a_powder_with_other_families_is_not_one_family():
    a = 6.30  # cubic: (100), (110), (111), (200), (210), (211)
    lines = [bragg(a / np.sqrt(s), 1) for s in (1, 2, 3, 4, 5, 6)]
    assert one_family(peaks_at(lines, [0.6, 1.0, 0.3, 0.8, 0.5, 0.4]), TT, CU) is None
    # a weak second family above 5 % of the height breaks it too
    x = peaks_at([bragg(a, 1), bragg(a, 2), bragg(a / np.sqrt(2), 1)], [1.0, 0.6, 0.12])
    assert one_family(x, TT, CU) is None


@pytest.mark.skipif(not FILM.is_file(), reason=f"shared film pattern not found at {FILM}")
def test_measured_oriented_film_abstains_and_says_why():
    model = load_predictor(shipped("default.ckpt"))
    options = PredictOptions(wavelength="CuKa", explain="none", keep_arrays=False)
    (a,) = predict_files([FILM], model=model, options=options)
    assert a.decision == "abstain" and a.label is None
    assert a.one_family["d_spacing"] == pytest.approx(5.92, abs=0.02)  # MAPbBr3, a = 5.92 Å
    assert a.one_family["orders"][:2] == [1, 2]
    assert "ONE REFLECTION FAMILY" in a.text() and "ABSTAIN (one reflection family" in a.text()
    assert any(text.startswith("one reflection family") for text, _ in flags(a.to_json()))


def test_abstain_reason_names_each_cause():
    fam = {"d_spacing": 5.92, "orders": [1, 2]}
    low, high = [("Pm-3m (221)", 0.3, 0.1)], [("Pm-3m (221)", 0.9, 0.1)]
    assert abstain_reason(None, low, 0.5) == "top probability below 0.50"
    assert abstain_reason(fam, high, 0.5) == "one reflection family"
    assert abstain_reason(fam, low, 0.5) == "one reflection family; top probability below 0.50"
