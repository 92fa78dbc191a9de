import numpy as np
import pytest

from bxrd.errors import BxrdInputError
from bxrd.xrd.axis import Axis
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.wavelength import emission_lines


def test_axis_round_trip_and_bragg():
    axis = Axis(TwoThetaGrid(10.0, 80.0, 0.02), 1.5406)
    assert Axis.from_dict(axis.to_dict()) == axis
    # Si (111), d = 3.1356 Å, sits at 28.44° 2θ with Cu Kα1
    assert axis.two_theta_of(np.array([3.1356]))[0] == pytest.approx(28.443, abs=0.01)
    d_min, d_max = axis.d_range
    assert d_min == pytest.approx(1.5406 / (2 * np.sin(np.radians(40.0))))
    assert d_max == pytest.approx(1.5406 / (2 * np.sin(np.radians(5.0))))
    assert np.all(np.diff(axis.d_spacing) < 0)


def test_emission_lines_weighted_average():
    cu = emission_lines("CuKa")
    assert cu.ka == pytest.approx(1.54184, abs=2e-5)
    assert emission_lines("mo").ka2 > emission_lines("mo").ka1
    with pytest.raises(BxrdInputError, match="unknown anode"):
        emission_lines("Xx")


def test_axis_rejects_non_xray_wavelength():
    with pytest.raises(ValueError, match="X-ray range"):
        Axis(TwoThetaGrid(), 12.0)
