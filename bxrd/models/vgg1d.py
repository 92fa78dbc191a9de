"""B-VGGNet backbone: a 1D VGG-style CNN over a powder pattern on a fixed 2θ grid."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class VGG1DConfig:
    """Architecture of :class:`VGG1D`.

    Attributes:
        channels: output channels of each conv block (one max-pool per block).
        convs_per_block: conv + ReLU layers per block.
        kernel_size: conv kernel size (odd; small kernels, VGG style).
        batch_norm: batch normalisation after each conv (without it a 10-layer plain stack
            barely trains on sparse peak patterns).
        pool_size: max-pool factor after each block.
        conv_dropout: dropout after each conv block (0 disables; MC dropout then samples
            only the head, which is much faster).
        head_length: the feature map is max-pooled to this length before flattening, so the
            head keeps coarse 2θ position information.
        hidden: width of the penultimate fully connected layer.
        dropout: dropout after the penultimate layer.
    """

    channels: tuple[int, ...] = (16, 32, 64, 64, 128)
    convs_per_block: int = 2
    kernel_size: int = 3
    batch_norm: bool = True
    pool_size: int = 2
    conv_dropout: float = 0.0
    head_length: int = 16
    hidden: int = 256
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        for name in ("conv_dropout", "dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")


class PatternNorm(nn.Module):
    """Scale each pattern to maximum 1, then standardise with stored statistics.

    The statistics are buffers, so checkpoints carry them; set them from training data with
    :meth:`set_stats`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def set_stats(self, mean: float, std: float) -> None:
        """Store the mean and std of max-scaled training patterns."""
        self.mean.fill_(mean)
        self.std.fill_(max(std, 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` of shape (B, 1, L)."""
        x = x / x.amax(dim=-1, keepdim=True).clamp_min(1e-12)
        return (x - self.mean) / self.std


class VGG1D(nn.Module):
    """1D VGG for patterns of length ``in_length``; logits for ``n_classes``.

    Input: (B, L) or (B, 1, L) intensities on the model's 2θ grid. The last layer is
    ``head.out`` (the layer Laplace and VI make Bayesian); ``head.fc`` is the penultimate
    fully connected layer.
    """

    def __init__(self, n_classes: int, in_length: int, config: VGG1DConfig | None = None) -> None:
        super().__init__()
        cfg = config or VGG1DConfig()
        self.config, self.n_classes, self.in_length = cfg, n_classes, in_length
        self.norm = PatternNorm()
        layers: list[nn.Module] = []
        c_in, length = 1, in_length
        for c_out in cfg.channels:
            for _ in range(cfg.convs_per_block):
                layers += [nn.Conv1d(c_in, c_out, cfg.kernel_size, padding=cfg.kernel_size // 2)]
                if cfg.batch_norm:
                    layers.append(nn.BatchNorm1d(c_out))
                layers += [nn.ReLU(inplace=True)]
                c_in = c_out
            layers.append(nn.MaxPool1d(cfg.pool_size))
            if cfg.conv_dropout > 0:
                layers.append(nn.Dropout(cfg.conv_dropout))
            length //= cfg.pool_size
        if length < cfg.head_length:
            raise ValueError(
                f"input length {in_length} is too short for {len(cfg.channels)} pooling blocks "
                f"and head_length {cfg.head_length}"
            )
        layers.append(nn.AdaptiveMaxPool1d(cfg.head_length))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            OrderedDict(
                flatten=nn.Flatten(),
                fc=nn.Linear(c_in * cfg.head_length, cfg.hidden),
                act=nn.ReLU(inplace=True),
                drop=nn.Dropout(cfg.dropout),
                out=nn.Linear(cfg.hidden, n_classes),
            )
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone feature maps, shape (B, C, head_length)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.features(self.norm(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (B, n_classes)."""
        return self.head(self.embed(x))

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations before dropout and the output layer, shape (B, hidden)."""
        return self.head.act(self.head.fc(self.head.flatten(self.embed(x))))

    @property
    def head_only_dropout(self) -> bool:
        """True when dropout sits only in the head (backbone is deterministic)."""
        return self.config.conv_dropout == 0
