"""Calibration metrics on predicted probabilities, as torchmetrics ``Metric`` objects.

ECE/MCE come from torchmetrics (``MulticlassCalibrationError``); NLL and the multiclass Brier
score are defined here on *probabilities* (the output of any Bayesian predictive), with their
state registered by ``add_state`` so they sync across devices: under DDP, ``compute`` gives
the value over all processes' data. :class:`PredictionStore` gathers the probabilities
themselves the same way, for figures drawn on one process.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassCalibrationError
from torchmetrics.utilities import dim_zero_cat


class MulticlassNLL(Metric):
    """Mean negative log-likelihood −log p(y) of the true class, in nats."""

    higher_is_better = False
    full_state_update = False

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        """Add probabilities (B, C) and integer targets (B,)."""
        p = probs.gather(1, target[:, None]).squeeze(1).clamp_min(self.eps)
        self.total += -torch.log(p.double()).sum()
        self.count += target.numel()

    def compute(self) -> torch.Tensor:
        """Mean NLL."""
        return (self.total / self.count).float()


class MulticlassBrierScore(Metric):
    """Mean over samples of Σ_c (p_c − 1[y = c])², in [0, 2]."""

    higher_is_better = False
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        """Add probabilities (B, C) and integer targets (B,)."""
        onehot = torch.nn.functional.one_hot(target, probs.shape[1]).to(probs.dtype)
        self.total += ((probs - onehot) ** 2).sum().double()
        self.count += target.numel()

    def compute(self) -> torch.Tensor:
        """Mean Brier score."""
        return (self.total / self.count).float()


class PredictionStore(Metric):
    """Every probability vector and label seen; ``compute`` gathers them from all processes.

    ``compute`` is a collective call under DDP: every rank must make it.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("probs", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        """Add probabilities (B, C) and integer targets (B,)."""
        self.probs.append(probs.detach())
        self.labels.append(target.detach())

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All probabilities (N, C) and targets (N,), every process's included."""
        return dim_zero_cat(self.probs), dim_zero_cat(self.labels)


def classification_metrics(
    num_classes: int, prefix: str = "", n_bins: int = 15
) -> MetricCollection:
    """Accuracy, ECE (l1), MCE (max), NLL and Brier on probabilities."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "ece": MulticlassCalibrationError(num_classes, n_bins=n_bins, norm="l1"),
            "mce": MulticlassCalibrationError(num_classes, n_bins=n_bins, norm="max"),
            "nll": MulticlassNLL(),
            "brier": MulticlassBrierScore(),
        },
        prefix=prefix,
    )
