"""Temperature scaling (Guo et al. 2017): one T > 0 fitted on held-out data by minimising NLL.

p_T = softmax(z / T) for scores z of shape (..., C): logits, or log-probabilities of a
predictive that has no logits (the Laplace probit mean). T < 1 sharpens, T > 1 softens; the
order of the classes of a pattern, and so the predicted class, never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from bxrd.uq.batches import labelled


def fit_temperature(scores: torch.Tensor, labels: torch.Tensor, max_iter: int = 200) -> float:
    """T minimising the NLL of softmax(``scores`` / T) on (N, C) scores and (N,) labels."""
    scores, labels = scores.detach(), labels.to(scores.device)
    log_t = torch.zeros((), device=scores.device, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(scores / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def fit_temperature_on(
    score: Callable[[torch.Tensor], torch.Tensor],
    loader: Iterable,
    device: torch.device,
    max_iter: int = 200,
) -> float:
    """T of :func:`fit_temperature` for ``score``'s (B, C) scores of a labelled ``loader``.

    ``loader``: validation data, never test data; its patterns are moved to ``device``.
    """
    scores, labels = [], []
    with torch.no_grad():
        for x, y in map(labelled, loader):
            scores.append(score(x.to(device)))
            labels.append(y)
    return fit_temperature(torch.cat(scores), torch.cat(labels), max_iter)


def tempered(probs: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    """Probabilities (..., C) with temperature T applied: softmax(log p / T), same shape."""
    return F.softmax(probs.clamp_min(1e-12).log() / temperature, dim=-1)
