"""Attributions: SHAP per target class, completeness of Integrated Gradients and SHAP."""

import numpy as np
import pytest
import torch

from bxrd.explain.attributions import (
    BASELINE_LEVEL,
    ProbabilityOf,
    integrated_gradients,
    shap_values,
)

from ..conftest import SHARED
from .toy import patterns


def _p(model, x, y):
    with torch.no_grad():
        return ProbabilityOf(model)(x)[torch.arange(len(y)), y]


def test_shap_of_one_class_equals_that_column_of_the_all_class_explainer(trained):
    import shap

    model, _, _ = trained("deterministic")
    x, _ = patterns((1,), 3, seed=21)
    target = torch.full((3,), 1)
    background = patterns((0, 1, 2), 4, seed=22)[0]
    got = shap_values(model, x, background, target, nsamples=16, seed=3)
    full = shap.GradientExplainer(ProbabilityOf(model), background)
    values = torch.as_tensor(full.shap_values(x, nsamples=16, rseed=3)).reshape(3, x.shape[1], 3)
    assert torch.allclose(got, values[:, :, 1].float(), atol=1e-6)


def test_shap_values_sum_to_the_probability_gain_over_background(trained):
    model, _, _ = trained("deterministic")
    x, y = patterns((0, 1, 2), 2, seed=24)
    background = patterns((0, 1, 2), 10, seed=25)[0]
    values = shap_values(model, x, background, y, nsamples=400, seed=0)
    expected = torch.stack([_p(model, background, torch.full((30,), c)).mean() for c in y])
    # expected gradients are complete in expectation: Σ φ ≈ p(x) − E_background p; single
    # rows are noisy (sampled paths through a saturating softmax), their mean much less so
    gain = _p(model, x, y) - expected
    assert gain.min() > 0.5
    assert abs(float(values.sum(dim=1).mean() - gain.mean())) < 0.1


def test_integrated_gradients_sum_to_the_gain_over_a_flat_pattern(trained):
    model, _, _ = trained("deterministic")
    x, y = patterns((0, 1, 2), 2, seed=23)
    attr = integrated_gradients(model, x.clone(), y, n_steps=256)
    flat = (BASELINE_LEVEL * x.amax(dim=-1, keepdim=True)).expand_as(x)
    gain = _p(model, x, y) - _p(model, flat, y)
    assert gain.abs().max() > 0.5  # the test means something: the peaks matter
    assert torch.allclose(attr.sum(dim=1), gain, atol=0.03)


FILMS = SHARED / "patterns" / "thinfilm_perovskites"


@pytest.mark.skipif(not FILMS.is_dir(), reason="shared measured films absent")
@pytest.mark.slow
def test_integrated_gradients_are_complete_on_measured_films_where_a_median_baseline_is_not():
    """Background-subtracted films have a median ~0: the old median baseline lost the gain.

    The network max-normalises its input, so on the straight path from a ~0 baseline the
    normalised pattern jumps to x/max within the first α ≈ level/max (1e-4 to 3e-2): a step
    no quadrature of practical size integrates. From the flat 0.2·max baseline the normalised
    path is smooth, and the sum converges as the steps grow (0.09, 0.05, 0.03, 0.007 mean
    error at 32, 64, 128, 256 steps on the shipped model) while the median's does not.
    """
    from captum.attr import IntegratedGradients

    from bxrd.inference.loading import load_predictor
    from bxrd.inference.pipeline import IG_STEPS
    from bxrd.xrd.pattern_io import load_patterns

    model = load_predictor("checkpoints/default.ckpt")
    files = ["checkpoints/example_CsPbI3.txt", *sorted(FILMS.glob("*/*.xy"))[::4]]
    patterns_, _ = load_patterns(files, model.grid, model.axis.wavelength, "CuKa")
    x = torch.from_numpy(np.stack([p.intensity for p in patterns_]))
    assert len(x) >= 10
    with torch.no_grad():
        y = ProbabilityOf(model)(x).argmax(-1)
    flat = (BASELINE_LEVEL * x.amax(dim=-1, keepdim=True)).expand_as(x)
    gain = _p(model, x, y) - _p(model, flat, y)
    assert gain.abs().mean() > 0.3  # there is something to attribute
    shipped = integrated_gradients(model, x.clone(), y, n_steps=IG_STEPS["full"]).sum(1) - gain
    assert shipped.abs().mean() < 0.05 and shipped.abs().max() < 0.2  # `--explain full`
    error = (integrated_gradients(model, x.clone(), y, n_steps=256).sum(1) - gain).abs()
    assert error.mean() < 0.015 and error.max() < 0.08  # the converged integral
    median = x.median(dim=-1, keepdim=True).values.expand_as(x)
    old = IntegratedGradients(ProbabilityOf(model)).attribute(x, median, target=y, n_steps=256)
    old_error = (old.sum(1) - (_p(model, x, y) - _p(model, median, y))).abs()
    assert old_error.mean() > 5 * error.mean()


def test_integrated_gradients_equal_the_path_integral_summed_by_hand(trained):
    """Baseline, target and chunking wired right: a 1,024-point midpoint sum of ∇p along the
    straight path from the flat pattern, times (x − flat), for each pattern's own class."""
    model, _, _ = trained("deterministic")
    model.eval()  # as integrated_gradients takes it (batch norm on its running statistics)
    x, y = patterns((0, 1, 2), 2, seed=26)
    flat = (BASELINE_LEVEL * x.amax(dim=-1, keepdim=True)).expand_as(x)
    mean_grad = torch.zeros_like(x)
    for alpha in (torch.arange(1024) + 0.5) / 1024:
        point = (flat + alpha * (x - flat)).requires_grad_()
        chosen = ProbabilityOf(model)(point)[torch.arange(len(y)), y].sum()
        mean_grad += torch.autograd.grad(chosen, point)[0] / 1024
    by_hand = mean_grad * (x - flat)
    got = integrated_gradients(model, x.clone(), y, n_steps=256, batch_rows=10)
    other = integrated_gradients(model, x.clone(), (y + 1) % 3, n_steps=64, batch_rows=10)
    # ReLU kinks along the path limit the quadratures' agreement (measured: 2.4 % at 64
    # Gauss–Legendre steps, 0.6 % at 256)
    error, norm = (got - by_hand).norm(), by_hand.norm()
    assert norm > 1e-2
    assert error < 0.02 * norm
    assert (other - by_hand).norm() > 0.5 * norm  # another class's attributions differ
    flat_at_zero = integrated_gradients(model, x.clone() - flat, y, n_steps=64, batch_rows=10)
    assert (flat_at_zero - by_hand).norm() > 0.1 * norm  # and so would another baseline
