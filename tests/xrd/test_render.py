import numpy as np
import pytest
import torch

from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer, scherrer_fwhm_deg

LAM = 1.5406


def _single_peak(renderer, two_theta, size_nm):
    u = torch.tensor([[np.sin(np.radians(two_theta / 2))]], dtype=torch.float32)
    return renderer(u, torch.ones(1, 1), torch.tensor([size_nm]))[0].numpy()


def _fwhm(x, y):
    half = y.max() / 2
    above = np.flatnonzero(y >= half)
    lo, hi = above[0], above[-1]
    left = np.interp(half, [y[lo - 1], y[lo]], [x[lo - 1], x[lo]])
    right = np.interp(half, [y[hi + 1], y[hi]], [x[hi + 1], x[hi]])
    return right - left


@pytest.mark.parametrize("profile", ["gaussian", "lorentzian", "pseudo_voigt"])
@pytest.mark.parametrize(("two_theta", "size_nm"), [(25.0, 20.0), (70.0, 20.0), (45.0, 60.0)])
def test_rendered_width_is_the_scherrer_width(profile, two_theta, size_nm):
    grid = TwoThetaGrid(10, 80, 0.005)
    r = Renderer(grid, LAM, profile=profile)
    y = _single_peak(r, two_theta, size_nm)
    assert grid.values[y.argmax()] == pytest.approx(two_theta, abs=grid.step)
    expected = scherrer_fwhm_deg(two_theta, size_nm, LAM)
    assert _fwhm(grid.values, y) == pytest.approx(expected, rel=0.03)
    assert y.max() == pytest.approx(1.0)


def test_peak_areas_follow_integrated_intensity():
    grid = TwoThetaGrid(10, 80, 0.01)
    r = Renderer(grid, LAM)
    u = torch.tensor([[np.sin(np.radians(20 / 2)), np.sin(np.radians(70 / 2))]])
    y = r(u.float(), torch.tensor([[1.0, 1.0]]), torch.tensor([30.0]))[0].numpy()
    x = grid.values
    low, high = y[(x > 15) & (x < 25)].sum(), y[(x > 65) & (x < 75)].sum()
    assert high / low == pytest.approx(1.0, rel=0.02)  # equal areas, not equal heights
    assert y[(x > 65) & (x < 75)].max() < y[(x > 15) & (x < 25)].max()


def test_out_of_range_and_padding_sticks_are_ignored():
    r = Renderer(TwoThetaGrid(), LAM)
    u = torch.tensor([[0.3, 0.99, 0.3]])
    y = r(u, torch.tensor([[1.0, 5.0, 0.0]]), torch.tensor([40.0]))
    assert torch.isfinite(y).all() and y.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="profile"):
        Renderer(TwoThetaGrid(), LAM, profile="box")
