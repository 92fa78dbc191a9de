"""Bayesian layers for Pyro: turn named ``nn.Linear`` layers into Gaussian-prior PyroModules."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import pyro.distributions as dist
import torch
from pyro.nn import PyroSample
from pyro.nn.module import to_pyro_module_
from torch import nn


def make_bayesian_(
    module: nn.Module, layers: Sequence[str], prior_scale: float = 1.0
) -> dict[str, torch.Tensor]:
    """Convert ``module`` to a PyroModule in place; give the named Linear layers priors.

    Each weight and bias of the named layers becomes a ``PyroSample`` with an isotropic
    Gaussian prior N(0, prior_scale²). Returns the layers' current values by site name, to
    initialise a guide at the deterministic initialisation (not at the prior's zero mean).

    Raises:
        ValueError: a named layer does not exist or is not ``nn.Linear``.
    """
    initial = {}
    for name in layers:
        layer = dict(module.named_modules()).get(name)
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"no nn.Linear layer named {name!r} in {type(module).__name__}")
        initial[f"{name}.weight"] = layer.weight.detach().clone()
        initial[f"{name}.bias"] = layer.bias.detach().clone()
    to_pyro_module_(module)
    modules = dict(module.named_modules())
    for name in layers:
        layer = modules[name]
        w, b = layer.weight.shape, layer.bias.shape
        del layer.weight, layer.bias
        # the prior's scale is a buffer, so it moves with the module (to a GPU); not persistent,
        # so checkpoints are unchanged
        layer.register_buffer("prior_scale", torch.tensor(float(prior_scale)), persistent=False)
        # a partial of a module-level function, so the model still pickles (ddp_spawn)
        layer.weight = PyroSample(partial(_prior, shape=w, event_dims=2))
        layer.bias = PyroSample(partial(_prior, shape=b, event_dims=1))
    return initial


def _prior(layer: nn.Module, shape: torch.Size, event_dims: int) -> dist.Distribution:
    """N(0, s²) over a parameter of ``shape``, s the ``layer``'s ``prior_scale`` (its device)."""
    scale = layer.prior_scale
    return dist.Normal(torch.zeros_like(scale), scale).expand(shape).to_event(event_dims)
