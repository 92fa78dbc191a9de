"""Monte Carlo dropout B-VGGNet (Gal & Ghahramani 2016): dropout kept on at prediction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from bxrd.uq.base import BaseClassifier


@contextlib.contextmanager
def dropout_active(module: nn.Module) -> Iterator[None]:
    """Put only the dropout layers of ``module`` in training mode for the block."""
    drops = [m for m in module.modules() if isinstance(m, nn.Dropout)]
    states = [m.training for m in drops]
    for m in drops:
        m.train()
    try:
        yield
    finally:
        for m, state in zip(drops, states, strict=True):
            m.train(state)


class MCDropoutClassifier(BaseClassifier):
    """B-VGGNet with MC dropout; ``num_samples`` stochastic passes, batched.

    When dropout sits only in the head (``backbone.conv_dropout == 0``) the backbone runs
    once and only the head is sampled; otherwise the inputs are repeated along the batch
    axis, in chunks of at most ``max_batch`` rows, never a Python loop over samples.

    Args:
        num_samples: T, stochastic passes per prediction.
        max_batch: largest number of rows pushed through the network at once.
        **kwargs: see :class:`~bxrd.uq.base.BaseClassifier`.
    """

    def __init__(self, *args, num_samples: int = 30, max_batch: int = 512, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if num_samples < 2:
            raise ValueError(f"MC dropout needs num_samples >= 2, got {num_samples}")
        self.num_samples, self.max_batch = num_samples, max_batch

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """T dropout samples of the class probabilities, shape (T, B, C)."""
        t, b = self.num_samples, x.shape[0]
        net = self.net
        with dropout_active(net):
            if net.head_only_dropout:
                feats = net.embed(x)
                rows = feats.repeat(t, 1, 1)
                logits = torch.cat([net.head(c) for c in rows.split(self.max_batch)])
            else:
                rows = x.repeat(t, *([1] * (x.dim() - 1)))
                logits = torch.cat([net(c) for c in rows.split(self.max_batch)])
        return F.softmax(logits, dim=-1).view(t, b, -1)
