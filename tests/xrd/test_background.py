"""Background model and counting statistics."""

import pytest
import torch

from bxrd.xrd.background import NORMAL_ABOVE, counting_noise, sample_background, sample_peak_counts
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.wavelength import two_theta_from_d


@pytest.mark.parametrize("mean", [3.0, 15.0, 400.0, 5e4])
def test_counting_variance_equals_the_mean(mean):
    gen = torch.Generator().manual_seed(0)
    x = torch.full((200, 1000), 1.0)
    counts = counting_noise(x, torch.full((200,), mean), gen)
    assert float(counts.mean()) == pytest.approx(mean, rel=0.01)
    assert float(counts.var()) == pytest.approx(mean, rel=0.03)
    if mean < NORMAL_ABOVE:  # exact Poisson draws: integers
        assert torch.equal(counts, counts.round())


def test_noise_relative_to_the_peak_shrinks_with_counts():
    gen = torch.Generator().manual_seed(0)
    x = torch.full((2, 5000), 0.5)
    counts = counting_noise(x, torch.tensor([1e3, 1e5]), gen)
    rel = counts.std(dim=1) / counts.mean(dim=1)
    assert float(rel[0] / rel[1]) == pytest.approx(10.0, rel=0.1)


def test_peak_counts_are_log_uniform_in_range():
    counts = sample_peak_counts(RealismConfig(), 20000, torch.Generator().manual_seed(0))
    assert counts.min() >= 1e3 and counts.max() <= 1e5
    assert float((counts < 1e4).float().mean()) == pytest.approx(0.5, abs=0.02)


def test_hump_sits_at_the_glass_spacing_and_air_scatter_falls_with_angle():
    grid = TwoThetaGrid(10, 80, 0.02)
    only_hump = RealismConfig(
        background=False,
        air_scatter=False,
        hump_d=(3.6, 3.6),
        hump_height=(0.2, 0.2),
        hump_fwhm_deg=(8.0, 8.0),
    )
    y = sample_background(only_hump, grid, 1.5406, 3, torch.Generator().manual_seed(0))
    top = grid.values[y[0].argmax()]
    assert top == pytest.approx(float(two_theta_from_d(3.6, 1.5406)), abs=0.05)
    assert float(y.max()) == pytest.approx(0.2, rel=1e-3)
    only_air = RealismConfig(background=False, hump=False, air_level=(0.3, 0.3))
    y = sample_background(only_air, grid, 1.5406, 3, torch.Generator().manual_seed(0))
    assert (y[:, 1:] <= y[:, :-1] + 1e-7).all() and float(y[0, 0]) == pytest.approx(0.3)
    none = RealismConfig(background=False, hump=False, air_scatter=False)
    assert not sample_background(none, grid, 1.5406, 3, torch.Generator()).any()
    poly = RealismConfig(hump=False, air_scatter=False)
    y = sample_background(poly, grid, 1.5406, 50, torch.Generator().manual_seed(0))
    assert (y >= 0).all() and (y.amax(dim=1) <= 0.1 * 1.9 + 1e-6).all()
