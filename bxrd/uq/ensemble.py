"""Deep ensembles: K trained classifiers (any variant, different seeds), predictive pooled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from bxrd.uq.base import BaseClassifier
from bxrd.uq.methods import UQMethod
from bxrd.uq.predictive_interface import PredictiveMixin


class DeepEnsemble(PredictiveMixin, nn.Module):
    """Pool the predictive samples of ``members`` (a mixture with equal weights).

    Each member contributes its own samples (1 for a deterministic network, S for a Bayesian
    one), so the mixture's mutual information includes the disagreement between members.
    """

    method: ClassVar[UQMethod] = UQMethod.ENSEMBLE

    def __init__(self, members: Sequence[BaseClassifier]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        classes = {m.hparams.n_classes for m in members}
        if len(classes) != 1:
            raise ValueError(f"members disagree on the number of classes: {sorted(classes)}")
        self.members = nn.ModuleList(members)
        self.abstain_threshold = members[0].abstain_threshold
        self.class_names = members[0].class_names

    def predict_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All members' samples stacked (Σ S_k, B, C) and the mean of their means (B, C)."""
        parts = [m.predict_distribution(x) for m in self.members]
        samples = torch.cat([s for s, _ in parts])
        return samples, torch.stack([mean for _, mean in parts]).mean(dim=0)

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """All members' samples stacked, shape (Σ S_k, B, C)."""
        return self.predict_distribution(x)[0]
