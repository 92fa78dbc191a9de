"""Deterministic softmax B-VGGNet with post-hoc temperature scaling: the baseline to beat."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F

from bxrd.uq.base import BaseClassifier
from bxrd.uq.methods import UQMethod
from bxrd.uq.temperature import fit_temperature_on


class DeterministicClassifier(BaseClassifier):
    """Softmax of ``logits / T``; T = 1 until :meth:`fit_temperature` is called.

    Temperature scaling (Guo et al. 2017) fits one scalar T > 0 on held-out data by
    minimising the NLL; it changes confidence, never the predicted class.
    """

    method: ClassVar[UQMethod] = UQMethod.DETERMINISTIC

    def configure_models(self) -> None:
        """Network plus the temperature buffer (saved with the checkpoint)."""
        super().configure_models()
        self.register_buffer("temperature", torch.ones(()))

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """One sample: softmax(logits / T), shape (1, B, C)."""
        return F.softmax(self.net(x) / self.temperature, dim=-1)[None]

    def predict_distribution_seeded(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Nothing is drawn: the same as :meth:`predict_distribution` (seeds are ignored)."""
        return self.predict_distribution(x)

    def post_fit(self, train_loader: Iterable, val_loader: Iterable | None) -> str | None:
        """Temperature scaling on the validation data."""
        if val_loader is None:
            return None
        return f"temperature scaling: T = {self.fit_temperature(val_loader):.3f}"

    def fit_temperature(self, loader: Iterable, max_iter: int = 200) -> float:
        """Fit T on ``loader`` (validation data, never test data); returns T."""
        self.eval()
        self.temperature.fill_(fit_temperature_on(self.net, loader, self.device, max_iter))
        return float(self.temperature)
