"""Variational-inference B-VGGNet with Pyro: Bayesian head layers, AutoNormal guide, SVI.

The last layer (and optionally the penultimate ``fc``) gets Gaussian priors; a factorised
Gaussian guide (``AutoNormal``) is fitted by minimising the negative ELBO,

    −ELBO = −E_q[log p(y | x, w)] · N/B + KL(q(w) ‖ p(w)),

with the likelihood scaled to the dataset size N through ``pyro.plate(size=N)``; the loss is
divided by N so its scale matches a per-pattern cross-entropy. The backbone is trained
jointly (point estimate) or frozen. Guide parameters are ordinary module parameters
(``module_local_params``), so Lightning checkpoints save and restore them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.infer import Trace_ELBO
from pyro.infer.autoguide import AutoNormal
from pyro.infer.autoguide.initialization import init_to_value
from torch import nn

from bxrd.models.bayesian import make_bayesian_
from bxrd.uq.base import BaseClassifier
from bxrd.uq.dataset_size import training_size
from bxrd.uq.methods import UQMethod


class PosteriorMedianNet(nn.Module):
    """Logits (B, C) of a VI network with its Bayesian layers at the guide's median.

    For the factorised Gaussian guide the median is the posterior mean. Its train / eval
    mode is the classifier's: ``eval()`` and ``train()`` reach the classifier as a child
    module, and reading ``training`` reads the classifier's flag, so a caller that saves and
    restores the mode (``FeatureDensity.assess``) restores the classifier's.
    """

    def __init__(self, classifier: VIClassifier) -> None:
        super().__init__()
        self.classifier = classifier

    @property
    def training(self) -> bool:  # type: ignore[override]
        """The classifier's mode (False before it is attached)."""
        classifier = self.__dict__.get("_modules", {}).get("classifier")
        return bool(classifier is not None and classifier.training)

    @training.setter
    def training(self, mode: bool) -> None:
        """Ignored: ``train(mode)`` sets the classifier's mode through its children."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of patterns ``x`` (B, L)."""
        vi = self.classifier
        return poutine.condition(vi.net.head, data=vi.guide.median())(vi.net.embed(x))

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations (B, hidden) of patterns ``x`` (B, L), a Bayesian ``fc`` at its median.

        What the feature density scores: ``net.penultimate`` would draw a Bayesian ``fc``
        from the prior, a random feature space at every call.
        """
        vi = self.classifier
        return poutine.condition(vi.net.penultimate, data=vi.guide.median())(x)


class VIClassifier(BaseClassifier):
    """B-VGGNet with a variational Bayesian head.

    Args:
        num_samples: posterior samples S per prediction.
        bayesian_layers: head layers with priors: ``("out",)`` or ``("fc", "out")``.
        prior_scale: std of the Gaussian priors.
        guide_init_scale: initial std of the guide.
        freeze_backbone: keep the backbone fixed (e.g. after MAP pre-training).
        num_data: dataset size N for the ELBO; default: the number of distinct training
            structures (:func:`~bxrd.uq.dataset_size.training_size`), not the epoch length.
        **kwargs: see :class:`~bxrd.uq.base.BaseClassifier`.
    """

    method: ClassVar[UQMethod] = UQMethod.VI

    def __init__(
        self,
        *args,  # noqa: ANN002
        num_samples: int = 30,
        bayesian_layers: Sequence[str] = ("out",),
        prior_scale: float = 1.0,
        guide_init_scale: float = 0.01,
        freeze_backbone: bool = False,
        num_data: int | None = None,
        **kwargs,  # noqa: ANN003
    ) -> None:
        pyro.settings.set(module_local_params=True)  # guide parameters live in the module
        self._vi = dict(
            layers=tuple(bayesian_layers),
            prior_scale=prior_scale,
            init_scale=guide_init_scale,
        )
        super().__init__(*args, **kwargs)
        self.num_samples, self.num_data = num_samples, num_data
        self.elbo = Trace_ELBO()
        if freeze_backbone:  # Bayesian layers are guide parameters, not net parameters
            for p in self.net.parameters():
                p.requires_grad_(False)

    def configure_models(self) -> None:
        """Network with Bayesian head layers, and its guide (set up on a dummy batch)."""
        super().configure_models()
        initial = make_bayesian_(self.net.head, self._vi["layers"], self._vi["prior_scale"])
        self.guide = AutoNormal(
            self.model, init_loc_fn=init_to_value(values=initial), init_scale=self._vi["init_scale"]
        )
        dummy = torch.zeros(2, self.hparams.in_length)
        with torch.no_grad():
            self.guide(dummy, torch.zeros(2, dtype=torch.long), num_data=2)

    def model(
        self, x: torch.Tensor, y: torch.Tensor | None = None, num_data: int | None = None
    ) -> torch.Tensor:
        """Pyro model: backbone → Bayesian head → categorical likelihood scaled to N."""
        logits = self.net.head(self.net.embed(x))
        n = num_data or self.num_data or x.shape[0]
        with pyro.plate("data", size=n, subsample=torch.arange(x.shape[0], device=x.device)):
            pyro.sample("obs", dist.Categorical(logits=logits), obs=y)
        return logits

    def on_train_start(self) -> None:
        """Take N from the training data (distinct structures) when it was not given."""
        if self.num_data is None:
            self.num_data = training_size(self.trainer.train_dataloader.dataset)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per training pattern."""
        n = self.num_data or x.shape[0]
        return self.elbo.differentiable_loss(self.model, self.guide, x, y, num_data=n) / n

    @property
    def explained_net(self) -> nn.Module:
        """The network at the guide's posterior median, deterministic like its explanations.

        Attributions and feature-density scores use it; ``net`` itself draws its Bayesian
        head layers from the prior at every call.
        """
        return PosteriorMedianNet(self)

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """S posterior samples: the backbone runs once, the head once per guide sample."""
        feats = self.net.embed(x)
        probs = []
        for _ in range(self.num_samples):
            weights = self.guide()
            probs.append(F.softmax(poutine.condition(self.net.head, data=weights)(feats), dim=-1))
        return torch.stack(probs)
