"""One preparation for rendered and measured patterns."""

import numpy as np
import pytest
import torch

from bxrd.xrd.prepare import estimate_background, prepare_measured, prepare_patterns

STEP = 0.02
X = torch.arange(10, 80 + STEP / 2, STEP, dtype=torch.float32)


def _pattern():
    bg = 0.2 * torch.exp(-(X - 10) / 6) + 0.05 + 0.02 * (X - 45) / 35
    peaks = sum(
        h * torch.exp(-0.5 * ((X - c) / 0.06) ** 2)
        for c, h in [(22, 1.0), (31.5, 0.6), (32.3, 0.4), (45, 0.8), (66, 0.3)]
    )
    return bg, peaks


def test_background_is_recovered_under_peaks():
    bg, peaks = _pattern()
    est = estimate_background((bg + peaks)[None], STEP)[0]
    assert float((est - bg).abs().max()) < 0.02
    out = prepare_patterns((bg + peaks)[None], STEP)[0]
    assert float(out.max()) == pytest.approx(1.0)
    assert float(X[out.argmax()]) == pytest.approx(22.0, abs=STEP)
    assert float((out - peaks).abs().max()) < 0.03  # the peaks are what is left


def test_without_background_it_only_clips_and_normalises():
    y = torch.tensor([[0.0, 2.0, -1.0, 4.0]])
    assert torch.equal(
        prepare_patterns(y, STEP, background=False), torch.tensor([[0, 0.5, 0, 1.0]])
    )


def test_measured_pattern_gets_the_same_preparation_inside_its_range():
    bg, peaks = _pattern()
    y = (bg + peaks).numpy()
    inside = (X > 15).numpy()
    out = prepare_measured(y, inside, STEP)
    assert (out[~inside] == 0).all()
    same = prepare_patterns(torch.from_numpy(y[inside])[None], STEP)[0].numpy()
    assert np.array_equal(out[inside], same)
    assert prepare_measured(np.zeros(5), np.zeros(5, bool), STEP).max() == 0
