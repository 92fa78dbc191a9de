"""Bootstrap statistics over structures: facts that can fail."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, log_loss

from bxrd.evaluation.stats import (
    aurc,
    ece,
    metrics,
    one_hot,
    paired_difference,
    score_intervals,
    seed_spread,
)


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    groups = np.repeat(np.arange(100), 3)  # three patterns per structure
    return probs, y, groups


def test_metrics_match_independent_implementations(scored):
    probs, y, _ = scored
    m = metrics(probs, y)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, probs.argmax(1)))
    assert m["nll"] == pytest.approx(log_loss(y, probs, labels=[0, 1, 2]))
    binary = np.c_[1 - probs[:, 1], probs[:, 1]]
    assert metrics(binary, (y == 1).astype(int))["brier"] == pytest.approx(
        2 * brier_score_loss(y == 1, probs[:, 1])
    )


def test_aurc_is_zero_when_confidence_ranks_errors_last_and_ece_zero_when_calibrated():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3]])  # last two wrong
    assert aurc(probs, y) == pytest.approx(np.mean([0, 0, 1 / 3, 2 / 4]))
    right = one_hot(y, 2)
    assert aurc(right, y) == 0.0 and ece(right, y) == 0.0


def test_interval_brackets_point_and_is_over_structures(scored):
    probs, y, groups = scored
    iv = score_intervals(probs, y, groups, n_draws=300)
    for v in iv.values():
        assert v.low <= v.value <= v.high
    # duplicating every pattern (same structures) leaves the interval as it was
    twice = score_intervals(
        np.repeat(probs, 2, axis=0), np.repeat(y, 2), np.repeat(groups, 2), n_draws=300
    )
    assert twice["accuracy"].high - twice["accuracy"].low == pytest.approx(
        iv["accuracy"].high - iv["accuracy"].low, abs=0.02
    )


def test_paired_difference_of_a_model_with_itself_is_exactly_zero(scored):
    probs, y, groups = scored
    d = paired_difference(probs, probs, y, groups, n_draws=200)
    assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)
    worse = paired_difference(probs, one_hot(np.zeros_like(y), 3), y, groups, n_draws=200)
    assert worse.low > 0


def test_seed_spread_reports_mean_and_sd():
    assert seed_spread([0.5, 0.7, 0.9]) == "0.700 ± 0.200 (3 seeds)"
    assert seed_spread([0.5, 0.7, 0.9], count=False) == "0.700 ± 0.200"


def test_paired_difference_over_seeds_averages_each_seeds_difference(scored):
    probs, y, groups = scored
    wrong = one_hot((y + 1) % 3, 3)  # every answer wrong
    one = paired_difference(probs, wrong, y, groups, "accuracy", n_draws=200)
    # a model right as `probs` on one seed and always wrong on the other, against always wrong
    two = paired_difference(
        np.stack([probs, wrong]), np.stack([wrong, wrong]), y, groups, "accuracy", n_draws=200
    )
    assert two.value == pytest.approx(one.value / 2)
    assert two.low == pytest.approx(one.low / 2) and two.high == pytest.approx(one.high / 2)
    same = paired_difference(np.stack([probs, probs]), probs, y, groups, n_draws=200)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
