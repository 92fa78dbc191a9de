"""Monte Carlo dropout B-VGGNet (Gal & Ghahramani 2016): dropout kept on at prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from bxrd.models.dropout_sampling import mc_dropout_samples
from bxrd.uq.base import BaseClassifier
from bxrd.uq.methods import UQMethod


class MCDropoutClassifier(BaseClassifier):
    """B-VGGNet with MC dropout; ``num_samples`` stochastic passes, batched.

    Sampling is :func:`~bxrd.models.dropout_sampling.mc_dropout_samples` (the backbone runs
    once when dropout sits only in the head).

    Args:
        num_samples: T, stochastic passes per prediction.
        max_batch: largest number of rows pushed through the network at once.
        **kwargs: see :class:`~bxrd.uq.base.BaseClassifier`.
    """

    method: ClassVar[UQMethod] = UQMethod.MC_DROPOUT

    def __init__(self, *args, num_samples: int = 30, max_batch: int = 512, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if num_samples < 2:
            raise ValueError(f"MC dropout needs num_samples >= 2, got {num_samples}")
        self.num_samples, self.max_batch = num_samples, max_batch

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """T dropout samples of the class probabilities, shape (T, B, C)."""
        return mc_dropout_samples(self.net, x, self.num_samples, self.max_batch)

    def predict_distribution_seeded(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dropout samples (T, B, C) with pattern i's masks from ``seeds[i]``, and their mean."""
        samples = mc_dropout_samples(self.net, x, self.num_samples, self.max_batch, seeds)
        return samples, samples.mean(dim=0)
