"""Conformal prediction sets: the classes a pattern may be, at a stated coverage.

Adaptive prediction sets (APS; Romano, Sesia & Candès, NeurIPS 2020) with the uniform draw at
0. A class c of a pattern with predictive probabilities p (C,) scores

    s(c) = Σ_k p_k · [p_k > p_c]        (the probability ranked strictly above c).

With the scores of n held-out patterns' true classes and a miscoverage α, q̂ is the
⌈(n + 1)(1 − α)⌉-th smallest (infinite when that rank exceeds n: every class in every set).
A new pattern's set is {c : s(c) ≤ q̂}: its classes in decreasing probability while the
probability ranked above them is at most q̂, so the top class (s = 0) is always in. If the
held-out and the new patterns are exchangeable, P(y ∈ set) ≥ 1 − α over patterns (marginal
coverage; Vovk, Gammerman & Shafer 2005), and below 1 − α + 1 / (n + 1) when scores do not
tie (they do at q̂ = 0: every pattern whose true class leads scores 0, and the coverage is
then the accuracy). A confident pattern gets one class, an ambiguous one (a few pseudo-cubic lines)
several: the set is what the pattern does not decide.

bxrd fits q̂ on the model's validation split (held-out structures rendered with the training
measurement model; :class:`~bxrd.callbacks.finalize.Finalize`), each pattern's MC samples
drawn from its content seed as ``bxrd predict`` draws them, so the held-out scores are the
deployed ones. For ``deterministic+temperature`` the temperature is fitted on the same split
first, which makes the promise approximate (one fitted number). Measured films are not
exchangeable with it, so their coverage is measured (``scripts/evaluate_measured.py``), not
promised. Torch only: the fast inference path reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from bxrd.models.dropout_sampling import content_seed
from bxrd.uq.batches import labelled

#: Default coverage 1 − α of the sets ``bxrd fit`` fits.
COVERAGE = 0.9


def class_scores(probs: torch.Tensor) -> torch.Tensor:
    """Scores s (B, C): the probability of ``probs`` (B, C) ranked strictly above each class."""
    p = probs.double()
    return (p[:, None, :] * (p[:, None, :] > p[:, :, None])).sum(dim=-1)


def true_class_scores(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Scores (B,) of the classes ``labels`` (B,) of ``probs`` (B, C), in O(B·C) memory."""
    p = probs.double()
    return (p * (p > p.gather(1, labels[:, None].long()))).sum(dim=1)


def quantile_rank(n: int, coverage: float) -> int:
    """Return the rank ⌈(n + 1)·coverage⌉ of q̂ among n sorted scores (1-based; > n: none)."""
    return math.ceil((n + 1) * coverage - 1e-9)  # 20 × 0.9 is 18, not 18 + 4e-15


@dataclass
class ConformalSets:
    """The fitted threshold of adaptive prediction sets.

    Attributes:
        qhat: the score threshold q̂ (inf: every class in every set).
        coverage: the promised marginal coverage 1 − α.
        n: number of held-out patterns it was fitted on.
    """

    qhat: float
    coverage: float
    n: int

    @classmethod
    def fit(
        cls, probs: torch.Tensor, labels: torch.Tensor, coverage: float = COVERAGE
    ) -> ConformalSets:
        """Fit q̂ on held-out probabilities (N, C) and true classes (N,).

        Raises:
            ValueError: ``coverage`` outside (0, 1), or no patterns.
        """
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage}")
        n = len(labels)
        if n == 0:
            raise ValueError("conformal sets need at least one held-out pattern")
        rank = quantile_rank(n, coverage)
        scores = true_class_scores(probs, labels).sort().values
        qhat = math.inf if rank > n else float(scores[rank - 1])
        return cls(qhat, coverage, n)

    def sets(self, probs: torch.Tensor) -> torch.Tensor:
        """Membership (B, C) bool of the classes of ``probs`` (B, C) in each pattern's set."""
        return class_scores(probs) <= self.qhat

    def state_dict(self) -> dict:
        """Numbers for a checkpoint (torch's weights-only loader reads them)."""
        return {"qhat": self.qhat, "coverage": self.coverage, "n": self.n}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> ConformalSets | None:
        """Rebuild from the ``conformal`` entry of a checkpoint (None without one)."""
        state = checkpoint.get("conformal")
        return None if state is None else cls(state["qhat"], state["coverage"], state["n"])


@torch.no_grad()
def fit_conformal(model: object, loader: Iterable, coverage: float = COVERAGE) -> ConformalSets:
    """Fit :class:`ConformalSets` on ``model``'s predictive over a labelled ``loader``.

    ``model`` has ``predict_proba`` (:class:`~bxrd.uq.predictive_interface.PredictiveMixin`);
    each pattern's samples come from its content seed, as in ``bxrd predict``, so the fit
    is repeatable and scores the patterns as they would be scored when deployed.
    """
    probs, labels = [], []
    for x, y in map(labelled, loader):
        seeds = [content_seed(row) for row in x.cpu().numpy()]
        probs.append(model.predict_proba(x, seeds=seeds).probs.cpu())  # type: ignore[attr-defined]
        labels.append(y.cpu())
    return ConformalSets.fit(torch.cat(probs), torch.cat(labels), coverage)
