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
then the accuracy). A confident pattern gets one class, an ambiguous one (a few pseudo-cubic
lines) several: the set is what the pattern does not decide.

Class-conditional (Mondrian) sets (Vovk 2003; Vovk, Gammerman & Shafer 2005, ch. 4) take q̂_c
from the held-out patterns of class c alone, so P(y ∈ set | y = c) ≥ 1 − α for every class c,
not only on average over the held-out class mix. A class with fewer than ⌈(1 − α)/α⌉ held-out
patterns (9 at 0.9) has q̂_c = ∞ and is in every set: the model has no held-out evidence about
it. The marginal promise is dominated by the common classes: on the honest 20-epoch runs of
issue 19 (validation split: Pnma, Pm-3m, `other` and three patterns each of three rare
classes) the 90 % sets held 0 of the 6 I4/mcm test patterns and 0.44–0.78 of the 9 P4mm ones
at 0.93 overall coverage (docs/RESULTS.md).

The held-out scores and their classes are kept, so a set can be asked for at any coverage
(``bxrd predict --coverage``), marginal or per class (``--sets_by_class``). bxrd fits them on
the model's validation split (held-out structures rendered with the training measurement
model; :class:`~bxrd.callbacks.finalize.Finalize`), the MC samples drawn from the seed
``bxrd predict`` draws them from, so the held-out scores are the deployed ones.
(On a GPU, VI draws its samples from the GPU's generator: the same distribution as the CPU's
draws in ``bxrd predict``, other draws, so its held-out scores match the deployed ones in
distribution only. MC dropout draws its masks on the CPU, and Laplace's probit mean has no
draws: theirs are the same on either.)
For the deterministic softmax and for Laplace a temperature is fitted on the same split first,
which makes the promise approximate (one fitted number).
Measured films are not exchangeable with it, so their coverage is measured
(``scripts/evaluate_measured.py``), not promised. Torch only: the fast inference path reads
it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from bxrd.models.dropout_sampling import MC_SEED
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


def sorted_quantile(scores: torch.Tensor, coverage: float) -> float:
    """Return q̂ of ascending ``scores`` (n,): the ⌈(n + 1)·coverage⌉-th, inf when that rank > n."""
    rank = quantile_rank(len(scores), coverage)
    return math.inf if rank > len(scores) else float(scores[rank - 1])


def check_coverage(coverage: float) -> float:
    """Return ``coverage`` if it lies in (0, 1).

    Raises:
        ValueError: it does not.
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    return coverage


@dataclass
class ConformalSets:
    """The held-out scores of adaptive prediction sets: sets at any coverage.

    Attributes:
        scores: the true classes' scores of the held-out patterns, sorted, shape (n,).
        coverage: the coverage 1 − α used when none is asked for (the fit's).
        labels: the held-out patterns' true classes in the order of ``scores``, shape (n,);
            None in sets fitted before they were kept (marginal sets only).
    """

    scores: torch.Tensor
    coverage: float
    labels: torch.Tensor | None = None

    @property
    def n(self) -> int:
        """Number of held-out patterns."""
        return len(self.scores)

    @classmethod
    def fit(
        cls, probs: torch.Tensor, labels: torch.Tensor, coverage: float = COVERAGE
    ) -> ConformalSets:
        """Keep the scores of held-out probabilities (N, C) with true classes (N,).

        Raises:
            ValueError: ``coverage`` outside (0, 1), or no patterns.
        """
        check_coverage(coverage)
        if len(labels) == 0:
            raise ValueError("conformal sets need at least one held-out pattern")
        scores, order = true_class_scores(probs, labels).sort()
        return cls(scores, coverage, labels.long().cpu()[order.cpu()])

    def qhat(self, coverage: float | None = None) -> float:
        """Return q̂ for ``coverage`` (None: the fit's); inf when n is too small for it."""
        c = self.coverage if coverage is None else coverage
        return sorted_quantile(self.scores, check_coverage(c))

    def class_qhat(self, n_classes: int, coverage: float | None = None) -> torch.Tensor:
        """Return q̂_c (C,) of each of ``n_classes`` classes from its own held-out scores.

        inf for a class with too few held-out patterns for ``coverage`` (None: the fit's).

        Raises:
            ValueError: the sets were fitted without their labels.
        """
        if self.labels is None:
            raise ValueError(
                "these conformal sets were fitted without their classes, so they are marginal "
                "only: refit them (scripts/fit_posthoc.py --parts conformal)"
            )
        c = check_coverage(self.coverage if coverage is None else coverage)
        # each class's scores stay sorted, as ``scores`` is
        own = [sorted_quantile(self.scores[self.labels == k], c) for k in range(n_classes)]
        return torch.tensor(own, dtype=torch.float64)

    def thresholds(
        self, n_classes: int, coverage: float | None = None, by_class: bool = False
    ) -> torch.Tensor:
        """Return the score threshold (C,) float64 of each class: q̂_c or, marginal, q̂ for all.

        A class whose threshold is inf is in every set.
        """
        if by_class:
            return self.class_qhat(n_classes, coverage)
        return torch.full((n_classes,), self.qhat(coverage), dtype=torch.float64)

    def sets(
        self,
        probs: torch.Tensor,
        coverage: float | None = None,
        by_class: bool = False,
        thresholds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Membership (B, C) bool of the classes of ``probs`` (B, C) in each pattern's set.

        ``by_class``: class-conditional (Mondrian) sets, else marginal ones; ``thresholds``:
        those of :meth:`thresholds` when already computed.
        """
        scores = class_scores(probs)
        if thresholds is None:
            thresholds = self.thresholds(probs.shape[1], coverage, by_class)
        return scores <= thresholds.to(scores.device)

    def holds(
        self,
        probs: torch.Tensor,
        labels: torch.Tensor,
        coverage: float | None = None,
        by_class: bool = False,
    ) -> torch.Tensor:
        """Whether each pattern's set holds its class ``labels`` (B,), shape (B,) bool."""
        return truth_in_set(self.sets(probs, coverage, by_class), labels)

    def state_dict(self) -> dict:
        """Tensors and number for a checkpoint (torch's weights-only loader reads them)."""
        state = {"scores": self.scores, "coverage": self.coverage}
        return state if self.labels is None else {**state, "labels": self.labels}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> ConformalSets | None:
        """Rebuild from the ``conformal`` entry of a checkpoint (None without one)."""
        state = checkpoint.get("conformal")
        if state is None:
            return None
        return cls(state["scores"], state["coverage"], state.get("labels"))


def truth_in_set(member: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Whether each set of ``member`` (B, C) bool holds its class ``labels`` (B,), shape (B,)."""
    return member[torch.arange(len(member)), labels.long()]


def class_coverage(holds: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Share of each class's patterns whose set held it, shape (C,); nan for absent classes.

    ``holds`` (N,) bool (:meth:`ConformalSets.holds`), ``labels`` (N,) the true classes.
    """
    labels = labels.long().cpu()
    count = torch.bincount(labels, minlength=n_classes).double()
    held = torch.bincount(labels, weights=holds.double().cpu(), minlength=n_classes)
    return torch.where(count > 0, held / count.clamp_min(1), torch.nan)


@torch.no_grad()
def held_out_probs(model: object, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """``model``'s predictive probabilities (N, C) over a labelled ``loader``, and its labels (N,).

    ``model`` has ``predict_proba`` (:class:`~bxrd.uq.predictive_interface.PredictiveMixin`);
    each pattern's samples come from :data:`MC_SEED`, as in ``bxrd predict``, so the result
    is repeatable and scores the patterns as they would be scored when deployed.
    """
    probs, labels = [], []
    for x, y in map(labelled, loader):
        seeds = [MC_SEED] * len(x)
        probs.append(model.predict_proba(x, seeds=seeds).probs.cpu())  # type: ignore[attr-defined]
        labels.append(y.cpu())
    return torch.cat(probs), torch.cat(labels)


def fit_conformal(model: object, loader: Iterable, coverage: float = COVERAGE) -> ConformalSets:
    """Fit :class:`ConformalSets` on ``model``'s :func:`held_out_probs` over ``loader``."""
    return ConformalSets.fit(*held_out_probs(model, loader), coverage)
