"""Predictive summaries from sampled class probabilities: mean, entropy, MI, std, abstain."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Predictive:
    """Summary of a predictive distribution for B inputs over C classes.

    Attributes:
        probs: mean class probabilities, shape (B, C); rows sum to 1.
        std: std of each class probability over samples, shape (B, C) (0 for one sample).
        entropy: predictive entropy of ``probs`` in nats, shape (B,).
        mutual_information: entropy minus mean per-sample entropy (epistemic part), shape
            (B,); None when the method draws a single sample.
        topk_indices: classes by decreasing probability, shape (B, k).
        topk_probs: their probabilities, shape (B, k).
        abstain: True where the top probability is below the threshold, shape (B,).
        num_samples: samples the summary was computed from.
    """

    probs: torch.Tensor
    std: torch.Tensor
    entropy: torch.Tensor
    mutual_information: torch.Tensor | None
    topk_indices: torch.Tensor
    topk_probs: torch.Tensor
    abstain: torch.Tensor
    num_samples: int

    @property
    def prediction(self) -> torch.Tensor:
        """Top class per input, shape (B,)."""
        return self.topk_indices[:, 0]


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats over the last axis."""
    return -(probs * torch.log(probs.clamp_min(1e-12))).sum(dim=-1)


def summarize(
    samples: torch.Tensor, threshold: float = 0.5, k: int = 3, probs: torch.Tensor | None = None
) -> Predictive:
    """Summarise class-probability samples of shape (S, B, C).

    Args:
        samples: per-sample probabilities (each row sums to 1).
        threshold: abstain when the mean top probability is below this value.
        k: how many top classes to report (capped at C).
        probs: mean probabilities (B, C) if the method has a better estimate than the sample
            mean (e.g. Laplace's probit approximation); default: the sample mean.
    """
    if samples.dim() != 3:
        raise ValueError(f"samples must have shape (S, B, C), got {tuple(samples.shape)}")
    s = samples.shape[0]
    probs = samples.mean(dim=0) if probs is None else probs
    probs = probs / probs.sum(dim=-1, keepdim=True)
    h = entropy(probs)
    mi = (h - entropy(samples).mean(dim=0)).clamp_min(0.0) if s > 1 else None
    std = samples.std(dim=0, unbiased=False) if s > 1 else torch.zeros_like(probs)
    top_p, top_i = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return Predictive(probs, std, h, mi, top_i, top_p, top_p[:, 0] < threshold, s)


def concat(parts: list[Predictive]) -> Predictive:
    """Concatenate summaries of consecutive batches."""
    if not parts:
        raise ValueError("no batches to predict")
    cat = lambda name: torch.cat([getattr(p, name) for p in parts])  # noqa: E731
    mi = None if parts[0].mutual_information is None else cat("mutual_information")
    return Predictive(
        cat("probs"),
        cat("std"),
        cat("entropy"),
        mi,
        cat("topk_indices"),
        cat("topk_probs"),
        cat("abstain"),
        parts[0].num_samples,
    )
