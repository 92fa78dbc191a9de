"""The one uniform-draw helper of the measurement model."""

import torch

from bxrd.xrd.draws import uniform


def test_draws_fill_the_range_in_the_asked_shape_and_dtype():
    x = uniform(-0.3, 0.7, (4000, 2), torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.dtype == torch.float64
    assert x.min() >= -0.3 and x.max() < 0.7
    # U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12
    assert abs(float(x.mean()) - 0.2) < 0.01 and abs(float(x.var()) - 1 / 12) < 0.003


def test_float32_draws_are_torch_rand_of_the_same_generator_state():
    a = uniform(2.0, 5.0, 5, torch.Generator().manual_seed(3), torch.float32)
    b = 2.0 + 3.0 * torch.rand(5, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5,) and a.dtype == torch.float32 and torch.equal(a, b)
