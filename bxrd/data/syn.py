"""Synthetic spectra (SYN) of B-VGGNet: X = e + ε·t within one class.

``e`` is a max-normalised real-structure pattern (RSS, training split only), ``t`` a
max-normalised virtual-structure pattern (VSS) of the same class, ε ~ U(0, 1) per pattern.
The sum is rescaled to maximum 1 like every other pattern in bxrd (the classifier normalises
its input anyway, so this only fixes the scale, not the shape).
"""

from __future__ import annotations

import torch


def synthesize(e: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Mix real and virtual patterns of the same classes.

    Args:
        e: RSS patterns, shape (B, L).
        t: VSS patterns of the same classes, shape (B, L).
        eps: mixing weights in [0, 1], shape (B,).

    Returns:
        (e / max e + ε t / max t) / max(...), shape (B, L).
    """
    if e.shape != t.shape or eps.shape != e.shape[:1]:
        raise ValueError(
            f"shapes differ: e {tuple(e.shape)}, t {tuple(t.shape)}, ε {tuple(eps.shape)}"
        )
    norm = lambda x: x / x.amax(dim=-1, keepdim=True).clamp_min(1e-12)  # noqa: E731
    return norm(norm(e) + eps[:, None] * norm(t))
