import numpy as np
import pytest

from bxrd.errors import BxrdInputError
from bxrd.xrd.wavelength import d_from_two_theta, resolve_wavelength, two_theta_from_d


def test_names_numbers_and_errors():
    assert resolve_wavelength("CuKa1") == pytest.approx(1.54056)
    assert resolve_wavelength("cuka") == resolve_wavelength("Cu") == pytest.approx(1.54184)
    assert resolve_wavelength("0.7093") == resolve_wavelength(0.7093)
    with pytest.raises(BxrdInputError, match="unknown wavelength 'XyKa'"):
        resolve_wavelength("XyKa")
    with pytest.raises(BxrdInputError, match="outside the X-ray range"):
        resolve_wavelength(12.0)


def test_bragg_round_trip_and_unreachable_d():
    d = np.array([3.905, 1.9525, 0.5])
    tt = two_theta_from_d(d, 1.5406)
    assert tt[0] == pytest.approx(2 * np.degrees(np.arcsin(1.5406 / (2 * 3.905))))
    assert np.isnan(tt[2])  # λ/2d > 1: no reflection
    assert d_from_two_theta(tt[:2], 1.5406) == pytest.approx(d[:2])
