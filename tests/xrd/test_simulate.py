import numpy as np
import pytest

from bxrd.crystal.builtin import builtin_templates
from bxrd.errors import StickFileError
from bxrd.xrd.debye_waller import DEBYE_WALLER_TABLE, debye_waller_b, debye_waller_factors
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.sticks import StickPattern


def test_cubic_peaks_sit_where_bragg_puts_them(srtio3):
    sticks = simulate_sticks(srtio3, wavelength="CuKa1")
    lam, a = 1.54056, 3.905
    for hkl in ([1, 0, 0], [1, 1, 0], [2, 0, 0]):
        i = next(k for k, h in enumerate(sticks.hkl.tolist()) if sorted(h) == sorted(hkl))
        d = a / np.linalg.norm(hkl)
        assert sticks.d[i] == pytest.approx(d)
        assert sticks.two_theta[i] == pytest.approx(2 * np.degrees(np.arcsin(lam / (2 * d))))
    assert sticks.intensity.max() == pytest.approx(100.0)
    assert sticks.multiplicity[0] == 6


def test_debye_waller_damps_high_angles(srtio3):
    cold = simulate_sticks(srtio3, debye_waller={"Sr": 0.0, "Ti": 0.0, "O": 0.0})
    hot = simulate_sticks(srtio3, debye_waller={"Sr": 2.0, "Ti": 2.0, "O": 2.0})
    # equal B on every atom: I_hot / I_cold = C exp(-2 B sin²θ / λ²), C from the scaling
    s2 = (np.sin(np.radians(hot.two_theta / 2)) / hot.wavelength) ** 2
    slope = np.polyfit(s2, np.log(hot.intensity / cold.intensity), 1)[0]
    assert slope == pytest.approx(-2 * 2.0, rel=1e-3)


def test_debye_waller_table_and_fallback():
    assert all(b > 0 and src for b, _, src in DEBYE_WALLER_TABLE.values())
    assert debye_waller_b("O") == DEBYE_WALLER_TABLE["O"][0]
    # Eu3+ is not tabulated: no group match (f-block), same state -> closest Z among 3+ (Gd)
    assert debye_waller_b("Eu", 3) == DEBYE_WALLER_TABLE["Gd"][0]
    # Se2- falls back to the same group and state: O2-
    assert debye_waller_b("Se", -2) == DEBYE_WALLER_TABLE["O"][0]
    assert set(debye_waller_factors(builtin_templates()["BiFeO3_R3c"].structure)) == {
        "Bi",
        "Fe",
        "O",
    }


def test_hexagonal_indices_become_three_index():
    sticks = simulate_sticks(builtin_templates()["LaAlO3_R-3c"].structure)
    assert sticks.hkl.shape[1] == 3
    lattice_recip = np.linalg.inv(sticks.lattice).T
    d = 1 / np.linalg.norm(sticks.hkl @ lattice_recip, axis=1)
    assert d == pytest.approx(sticks.d, rel=1e-6)  # each stick's hkl reproduces its d


def test_merged_families_share_the_peak_intensity():
    sticks = simulate_sticks(builtin_templates()["SrTiO3_Pm-3m"].structure, wavelength="CuKa")
    # in cubic (300) and (221) coincide: two sticks at one 2θ, shares ∝ multiplicity (6 : 24)
    same = np.isclose(sticks.two_theta, sticks.two_theta[:, None]).sum(axis=1) > 1
    assert same.sum() == 2
    i, j = np.flatnonzero(same)
    assert sticks.intensity[i] / sticks.intensity[j] == pytest.approx(
        sticks.multiplicity[i] / sticks.multiplicity[j]
    )


def test_stick_file_round_trip_and_corruption(tmp_path, srtio3):
    sticks = simulate_sticks(srtio3, meta={"id": "sto"})
    sticks.save(tmp_path / "sto.npz")
    back = StickPattern.load(tmp_path / "sto.npz")
    assert back.meta == {"id": "sto"} and back.hkl.tolist() == sticks.hkl.tolist()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(StickFileError, match="bad.npz"):
        StickPattern.load(tmp_path / "bad.npz")
    assert not list(tmp_path.glob("*.tmp-*"))
