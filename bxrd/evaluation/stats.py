"""Scores with 95 % bootstrap intervals over structures, paired differences, seed spread.

A test set holds several patterns per structure (one clean, some augmented); they are not
independent, so intervals resample **structures** with replacement (all patterns of a drawn
structure come along), ``n_draws`` ≥ 1,000 times, and report the 2.5 and 97.5 percentiles.
Two models scored on the same patterns are compared by a *paired* bootstrap: the same draws
score both, and the interval is that of the difference.

Metrics on probabilities ``probs`` (N, C) and labels ``y`` (N,):

* accuracy; balanced accuracy (mean over the classes present of per-class recall);
* ECE: 15 equal-width bins of the top probability, Σ_b (n_b/N) |acc_b − conf_b| (biased low
  below a few hundred patterns: read it beside NLL and Brier);
* NLL: mean −ln p(y) (p clipped at 1e-12), nats; Brier: mean Σ_c (p_c − 1[y=c])²;
* AURC: area under the risk–coverage curve when patterns are answered in order of
  decreasing top probability (mean over k of the error rate of the k most confident);
  lower is better, equal to the error rate for an uninformative confidence.

Hard predictors (search-match, an SVM without probabilities) give one-hot ``probs``; their
calibration numbers are meaningless and are left out of tables (``hard=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Metrics of :func:`metrics`, in table order.
METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "ece", "nll", "brier", "aurc")
#: Metrics that need probabilities (not reported for hard predictors).
PROBABILISTIC: tuple[str, ...] = ("ece", "nll", "brier", "aurc")


@dataclass
class Interval:
    """A point estimate and its 95 % bootstrap interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def ece(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Return the expected calibration error of the top class (equal-width bins)."""
    return ece_of_top(probs.max(axis=1), probs.argmax(axis=1) == y, n_bins)


def ece_of_top(conf: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """ECE from each pattern's top probability ``conf`` (N,) and whether it was right (N,)."""
    conf, correct = np.asarray(conf, dtype=float), np.asarray(correct, dtype=float)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        m = bins == b
        total += m.sum() * abs(correct[m].mean() - conf[m].mean())
    return float(total / len(conf))


def aurc(probs: np.ndarray, y: np.ndarray) -> float:
    """Area under the risk–coverage curve (answers by decreasing top probability)."""
    order = np.argsort(-probs.max(axis=1), kind="stable")
    wrong = (probs.argmax(axis=1)[order] != y[order]).astype(float)
    return float(np.mean(np.cumsum(wrong) / np.arange(1, len(y) + 1)))


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean over the classes present in ``y`` of the fraction predicted right."""
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())


def _brier(probs: np.ndarray, y: np.ndarray) -> float:
    return float(((probs - np.eye(probs.shape[1])[y]) ** 2).sum(axis=1).mean())


#: Each metric of :data:`METRICS` as a function of probabilities (N, C) and labels (N,).
METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda p, y: float((p.argmax(axis=1) == y).mean()),
    "balanced_accuracy": lambda p, y: balanced_accuracy(p.argmax(axis=1), y),
    "ece": ece,
    "nll": _nll,
    "brier": _brier,
    "aurc": aurc,
}


def metrics(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` for probabilities (N, C) and labels (N,)."""
    return {m: METRIC_FUNCTIONS[m](probs, y) for m in METRICS}


def per_class_accuracy(probs: np.ndarray, y: np.ndarray) -> dict[int, tuple[int, float]]:
    """Class index → (patterns of that class, accuracy on them), classes present in ``y``."""
    pred = probs.argmax(axis=1)
    return {int(c): (int((y == c).sum()), float((pred[y == c] == c).mean())) for c in np.unique(y)}


def _draws(groups: np.ndarray, n_draws: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n_draws`` bootstrap samples of the structures in ``groups`` (N,)."""
    names, inverse = np.unique(np.asarray(groups), return_inverse=True)
    rows = [np.nonzero(inverse == g)[0] for g in range(len(names))]
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([rows[g] for g in rng.integers(0, len(names), len(names))])
        for _ in range(n_draws)
    ]


def bootstrap(
    score: Callable[[np.ndarray], dict[str, float]],
    groups: np.ndarray,
    n_draws: int = 1000,
    seed: int = 0,
) -> dict[str, Interval]:
    """Point value and 95 % interval of every number ``score(rows)`` returns.

    Args:
        score: rows (indices into the test set) → named numbers; called on all rows for
            the point value and on each bootstrap draw.
        groups: structure id per test pattern, shape (N,).
        n_draws: bootstrap draws over structures.
        seed: seed of the draws (the same seed gives the same draws: paired comparisons).
    """
    point = score(np.arange(len(groups)))
    samples = [score(rows) for rows in _draws(groups, n_draws, seed)]
    out = {}
    for name, value in point.items():
        vals = np.array([s[name] for s in samples], dtype=float)
        lo, hi = np.nanpercentile(vals, [2.5, 97.5])
        out[name] = Interval(float(value), float(lo), float(hi))
    return out


def score_intervals(
    probs: np.ndarray, y: np.ndarray, groups: np.ndarray, n_draws: int = 1000, seed: int = 0
) -> dict[str, Interval]:
    """:func:`metrics` with bootstrap intervals over structures."""
    return bootstrap(lambda r: metrics(probs[r], y[r]), groups, n_draws, seed)


def paired_difference(
    probs_a: np.ndarray,
    probs_b: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    metric: str = "balanced_accuracy",
    n_draws: int = 1000,
    seed: int = 0,
) -> Interval:
    """``metric`` of model a minus model b, with a paired bootstrap interval over structures.

    ``probs_a`` and ``probs_b`` are (N, C), or (S, N, C) for S seeds of each model: the
    difference is then the mean over seeds of a's metric minus b's, and every bootstrap draw
    scores all seeds on the same structures (the interval covers structures, not seeds).
    """
    a_seeds, b_seeds = np.asarray(probs_a), np.asarray(probs_b)
    a_seeds = a_seeds[None] if a_seeds.ndim == 2 else a_seeds
    b_seeds = b_seeds[None] if b_seeds.ndim == 2 else b_seeds

    def diff(rows: np.ndarray) -> dict[str, float]:
        score = METRIC_FUNCTIONS[metric]
        a = np.mean([score(p[rows], y[rows]) for p in a_seeds])
        b = np.mean([score(p[rows], y[rows]) for p in b_seeds])
        return {metric: float(a - b)}

    return bootstrap(diff, groups, n_draws, seed)[metric]


def seed_spread(values: list[float], count: bool = True) -> str:
    """``mean ± SD (n seeds)`` of one number over seeds (SD with ddof 1; 0 for one seed).

    ``count=False`` leaves out `` (n seeds)`` (a table that has a seeds column).
    """
    v = np.asarray(values, dtype=float)
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    seeds = f" ({len(v)} seed{'s' if len(v) > 1 else ''})" if count else ""
    return f"{v.mean():.3f} ± {sd:.3f}{seeds}"


def one_hot(pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Hard predictions (N,) as probabilities (N, C)."""
    return np.eye(n_classes)[np.asarray(pred, dtype=np.int64)]
