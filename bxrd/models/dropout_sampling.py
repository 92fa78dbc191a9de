"""Monte Carlo dropout sampling of a :class:`~bxrd.models.vgg1d.VGG1D` (Gal & Ghahramani 2016).

Torch only, so the Lightning classifier and the fast inference path of ``bxrd predict``
draw the same samples with the same code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bxrd.models.vgg1d import VGG1D

#: seed of every pattern's MC draws (``bxrd predict --seed`` gives another): the same masks
#: for every pattern ("common random numbers"), so an answer is a smooth function of the
#: pattern alone — the same data as counts or counts per second, or alone or in a folder,
#: get the same probabilities to float rounding, where a seed hashed from the values
#: flipped at the smallest difference and redrew every mask
MC_SEED = 0


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


def mc_dropout_samples(
    net: VGG1D,
    x: torch.Tensor,
    num_samples: int,
    max_batch: int = 512,
    seeds: Sequence[int] | None = None,
) -> torch.Tensor:
    """``num_samples`` dropout samples of the class probabilities, shape (T, B, C).

    When dropout sits only in the head (``conv_dropout == 0``) the backbone runs once and
    only the head is sampled; otherwise the inputs (B, L) are repeated along the batch axis,
    in chunks of at most ``max_batch`` rows, never a Python loop over samples.

    With ``seeds`` (one per pattern) the dropout masks of pattern i are drawn from
    ``seeds[i]`` alone, so a pattern gets the same samples whatever else is in the batch
    (the global random state is restored afterwards).
    """
    if seeds is not None:
        return seeded_samples(net, x, num_samples, max_batch, seeds)[0]
    t, b = num_samples, x.shape[0]
    with dropout_active(net):
        if net.head_only_dropout:
            rows = net.embed(x).repeat(t, 1, 1)
            logits = torch.cat([net.head(c) for c in rows.split(max_batch)])
        else:
            rows = x.repeat(t, *([1] * (x.dim() - 1)))
            logits = torch.cat([net(c) for c in rows.split(max_batch)])
    return F.softmax(logits, dim=-1).view(t, b, -1)


def seeded_samples(
    net: VGG1D,
    x: torch.Tensor,
    num_samples: int,
    max_batch: int,
    seeds: Sequence[int],
    penultimate: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Draw samples (T, B, C), pattern i's masks from ``seeds[i]`` only; also return features.

    With dropout only in the head, everything up to the dropout layer is deterministic: the
    penultimate activations h (B, H) are computed once for the batch (by ``penultimate``,
    default ``net.penultimate``; e.g. a faster inference copy of the backbone) and returned
    with the samples (a feature density can score them without another backbone pass); the
    masks (T, B, H) are drawn per pattern from its own generator and the output layer runs
    once on all rows. With dropout in the backbone, there is no such single pass: features
    are None.
    """
    if len(seeds) != x.shape[0]:
        raise ValueError(f"{len(seeds)} seeds for {x.shape[0]} patterns")
    if net.head_only_dropout:
        h = (penultimate or net.penultimate)(x)
        return head_samples(net, h, num_samples, seeds), h
    parts = []
    with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):  # restores a GPU's too
        for row, seed in zip(x, seeds, strict=True):
            torch.manual_seed(int(seed))
            parts.append(mc_dropout_samples(net, row[None], num_samples, max_batch))
    return torch.cat(parts, dim=1), None


def head_samples(
    net: VGG1D, h: torch.Tensor, num_samples: int, seeds: Sequence[int]
) -> torch.Tensor:
    """Dropout samples (T, B, C) of the head on penultimate activations ``h`` (B, H).

    Pattern i's masks (Bernoulli(1 − p), scaled by 1/(1 − p) as ``nn.Dropout`` does) come
    from a CPU generator seeded with ``seeds[i]`` alone, then move to ``h``'s device: the same
    seed gives the same masks on a CPU and on a GPU.
    """
    keep = 1.0 - net.head.drop.p
    masks = torch.stack(
        [
            torch.bernoulli(
                torch.full((num_samples, h.shape[1]), keep),
                generator=torch.Generator().manual_seed(int(seed)),
            )
            for seed in seeds
        ],
        dim=1,
    ).to(h.device, h.dtype)
    return F.softmax(net.head.out(h[None] * masks / keep), dim=-1)
