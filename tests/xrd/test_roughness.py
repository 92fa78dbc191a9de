"""Roughness: the share of a pattern's variance that is point-to-point noise."""

import math

import numpy as np
import pytest
import torch

from bxrd.uq.feature_density import FeatureDensity
from bxrd.xrd.roughness import noise_dominated, roughness

L = 3500  # the shipped grid: 10-80° at 0.02°


def gaussian_peaks(sigma_points: float, centres: list[float]) -> torch.Tensor:
    """Sum of unit Gaussian peaks of standard deviation ``sigma_points`` (grid points), (L,)."""
    i = torch.arange(L, dtype=torch.float64)
    return sum(torch.exp(-0.5 * ((i - c) / sigma_points) ** 2) for c in centres)


def test_white_noise_has_roughness_one():
    gen = torch.Generator().manual_seed(0)
    r = roughness(torch.rand(50, L, generator=gen))
    assert r.mean().item() == pytest.approx(1.0, abs=0.02)
    assert noise_dominated(torch.rand(50, L, generator=gen)).all()


@pytest.mark.parametrize("sigma", [2.0, 4.0, 8.0])
def test_gaussian_peak_roughness_is_one_over_four_sigma_squared(sigma):
    # ∫g'² / ∫g² = 1 / (2σ²) for a Gaussian, so r ≈ 1 / (4σ²) for well separated peaks
    x = gaussian_peaks(sigma, [500.0, 1500.0, 2600.0])[None]
    expected = 1.0 / (4.0 * sigma**2) / (1.0 - x.mean().item() ** 2 / x.pow(2).mean().item())
    assert roughness(x).item() == pytest.approx(expected, rel=0.05)
    assert not noise_dominated(x).item()


def test_noise_of_equal_variance_gives_one_half():
    # a smooth pattern plus white noise of the same variance: half of the variance is noise
    smooth = gaussian_peaks(10.0, [float(c) for c in range(150, L, 400)])
    gen = torch.Generator().manual_seed(3)
    noise = torch.randn(20, L, generator=gen, dtype=torch.float64) * smooth.std().item()
    r = roughness(smooth[None] + noise)
    assert r.mean().item() == pytest.approx(0.5 + 1.0 / (4 * 10.0**2) / 2, abs=0.03)


def test_constant_pattern_is_noise_dominated():
    assert math.isinf(roughness(torch.ones(1, L)).item())
    assert noise_dominated(torch.ones(1, L)).item()


def test_far_flag_holds_noise_whatever_the_feature_threshold():
    density = FeatureDensity(torch.zeros(2, 4), torch.eye(4), math.inf, 0.99)
    peaks = gaussian_peaks(5.0, [700.0, 2100.0]).float()[None]
    noise = torch.rand(1, L, generator=torch.Generator().manual_seed(1))
    scores, far = density.assess_features(torch.zeros(2, 4), torch.cat([peaks, noise]))
    assert far.tolist() == [False, True]
    assert scores.tolist() == [0.0, 0.0]


def test_measured_noise_at_a_coarser_step_is_far_from_training(tmp_path):
    # Poisson counts with no peak at 0.03° over 10-60°: gridding to 0.02° smooths it and the
    # unmeasured 60-80° are zeros, so only the scan's own roughness says it is noise
    from bxrd.inference.loading import load_predictor, shipped
    from bxrd.inference.pipeline import PredictOptions, predict_files

    two_theta = np.arange(10.0, 60.0, 0.03)
    counts = np.random.default_rng(0).poisson(200.0, len(two_theta))
    body = "\n".join(f"{t:.2f} {c}" for t, c in zip(two_theta, counts, strict=True))
    (tmp_path / "noise.xy").write_text(body + "\n")
    model = load_predictor(shipped("default.ckpt"))
    options = PredictOptions(wavelength="CuKa", explain="none", keep_arrays=False)
    (a,) = predict_files([tmp_path / "noise.xy"], model=model, options=options)
    assert roughness(torch.as_tensor(counts, dtype=torch.float64)[None]).item() > 0.9
    assert a.far_from_training is True
