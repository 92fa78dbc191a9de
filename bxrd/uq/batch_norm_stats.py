"""Batch-norm statistics of the final weights ("precise BN", Wu & Johnson 2021).

During training each batch-norm layer keeps an exponential moving average (momentum 0.1) of
its batch means and variances. The average mixes the weights of the last ~20 optimiser
steps: at a constant learning rate the stored statistics lag behind the final weights. A
network trained on sparse peak patterns is very sensitive to that lag in its first layers,
where most of each pattern is flat baseline and a channel's variance is tiny (1e-4 in the
first layer of B-VGGNet): a 6 % error in one early layer's stored mean sent every real
perovskite test pattern of a virtual-only model to one class (accuracy 0.14 as stored, 0.85
with the statistics recomputed; docs/RESULTS.md, transfer section).

:func:`recompute_batch_norm` replaces the moving averages by the plain average over
``max_batches`` training batches, computed with the final weights (the network is otherwise
unchanged; its mode is restored).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import torch
from torch import nn

from bxrd.uq.batches import split_batch


@torch.no_grad()
def recompute_batch_norm(net: nn.Module, batches: Iterable, max_batches: int) -> int:
    """Set every batch-norm layer's running mean and variance from ``batches``.

    Args:
        net: the network; its batch-norm layers get the cumulative average of the batch
            statistics of its forward passes in training mode. A network with ``embed``
            (:class:`~bxrd.models.vgg1d.VGG1D`, whose batch-norm layers all sit in the
            backbone) runs only that: the head, whose weights a VI model draws from Pyro, is
            not needed.
        batches: training batches (dicts with ``pattern``, (x, y) pairs or tensors (B, L)),
            moved to the network's device.
        max_batches: at most this many batches are used (> 0).

    Returns:
        The number of batches used (0: ``net`` has no batch-norm layer, or ``batches`` is
        empty, and nothing was changed).
    """
    if max_batches < 1:
        raise ValueError(f"max_batches must be >= 1, got {max_batches}")
    layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return 0
    saved = [({k: v.clone() for k, v in m.state_dict().items()}, m.momentum) for m in layers]
    was_training = net.training
    device = next(net.parameters()).device
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes below
    net.train()
    forward = getattr(net, "embed", net)
    used = 0
    try:
        for batch in islice(batches, max_batches):
            forward(split_batch(batch)[0].to(device))
            used += 1
    finally:
        net.train(was_training)
        for m, (state, momentum) in zip(layers, saved, strict=True):
            m.momentum = momentum
            if not used:
                m.load_state_dict(state)
    return used
