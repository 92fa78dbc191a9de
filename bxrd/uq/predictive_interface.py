"""The predictive interface shared by every classifier, ensembles and the inference predictor.

:class:`PredictiveMixin` turns class-probability samples into a summary; :class:`Classifier`
is what prediction, explanation and reports read of a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from bxrd.uq.batches import as_batch, split_batch
from bxrd.uq.predictive_summary import Predictive, concat, summarize

if TYPE_CHECKING:
    from bxrd.uq.conformal import ConformalSets
    from bxrd.uq.feature_density import FeatureDensity
    from bxrd.uq.methods import UQMethod
    from bxrd.xrd.axis import Axis
    from bxrd.xrd.grid import TwoThetaGrid


class Classifier(Protocol):
    """What prediction, explanation and reports read of a model.

    Both the Lightning classifiers (:class:`~bxrd.uq.base.BaseClassifier`) and the torch-only
    :class:`~bxrd.inference.dropout_predictor.DropoutPredictor` provide it.
    """

    method: UQMethod
    net: nn.Module
    hparams: Mapping[str, Any]
    class_names: list[str]
    axis: Axis | None
    grid: TwoThetaGrid | None
    abstain_threshold: float
    reference_reflections: dict[str, list[dict]]
    feature_density: FeatureDensity | None
    conformal: ConformalSets | None
    explained_net: nn.Module

    def predict_proba(
        self,
        inputs: torch.Tensor | Iterable,
        threshold: float | None = None,
        k: int = 3,
        seed: int | None = None,
        seeds: Sequence[int] | None = None,
    ) -> Predictive:
        """Predictive summary (see :meth:`PredictiveMixin.predict_proba`)."""
        ...

    def eval(self) -> nn.Module:
        """Switch to evaluation mode (dropout off, batch norm frozen)."""
        ...


class PredictiveMixin:
    """``predict_proba`` for anything that can draw class-probability samples.

    Subclasses implement :meth:`predict_samples` (S, B, C) and may override
    :meth:`predict_mean` (e.g. a probit approximation that is better than the sample mean).
    They set ``net`` and ``axis``; :attr:`grid` and :attr:`explained_net` follow from them.
    """

    abstain_threshold: float = 0.5
    axis: Axis | None = None
    net: nn.Module

    @property
    def grid(self) -> TwoThetaGrid | None:
        """The 2θ grid of :attr:`axis` (degrees), None without an axis."""
        return None if self.axis is None else self.axis.grid

    @property
    def explained_net(self) -> nn.Module:
        """The deterministic network that stands for the model: :attr:`net`.

        The attributions explain its softmax; the feature density scores its penultimate
        activations. Methods whose ``net`` is not deterministic (VI draws its Bayesian layers)
        override it.
        """
        return self.net

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """Class-probability samples for patterns ``x`` (B, L), shape (S, B, C)."""
        raise NotImplementedError

    def predict_mean(self, x: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
        """Mean class probabilities (B, C); default: the mean over ``samples``."""
        return samples.mean(dim=0)

    def predict_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw samples (S, B, C) and the mean probabilities (B, C) for patterns ``x`` (B, L)."""
        samples = self.predict_samples(x)
        return samples, self.predict_mean(x, samples)

    def predict_distribution_seeded(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`predict_distribution`, pattern i's samples drawn from ``seeds[i]`` alone.

        The default draws pattern by pattern; methods that can batch it override this.
        """
        parts = []
        with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):  # a GPU's too
            for row, seed in zip(x, seeds, strict=True):
                torch.manual_seed(int(seed))
                parts.append(self.predict_distribution(row[None]))
        return torch.cat([s for s, _ in parts], dim=1), torch.cat([m for _, m in parts])

    def predict_seeded_with_features(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """:meth:`predict_distribution_seeded` and the penultimate activations (B, H) used.

        Features are returned by methods whose samples all come from one deterministic
        backbone pass (MC dropout in the head); None otherwise (the default).
        """
        samples, probs = self.predict_distribution_seeded(x, seeds)
        return samples, probs, None

    def predict_and_assess(
        self,
        x: torch.Tensor,
        seeds: Sequence[int],
        threshold: float | None = None,
        k: int = 3,
    ) -> tuple[Predictive, torch.Tensor | None, torch.Tensor | None]:
        """Predictive summary of patterns ``x`` (B, L) and their distance from training.

        Pattern i's samples come from ``seeds[i]`` alone (see :meth:`predict_proba`). The
        feature-density scores (B,) and far-from-training flags (B,) (None without a
        density) reuse the backbone pass of the samples when the method has one, so the
        network runs once per pattern instead of twice; the numbers are those of
        :meth:`predict_proba` and ``feature_density.assess`` on the same batch.
        """
        was_training = self.training  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        threshold = self.abstain_threshold if threshold is None else threshold
        density: FeatureDensity | None = getattr(self, "feature_density", None)
        try:
            with torch.no_grad():
                x = as_batch(x).to(self._predict_device())
                samples, probs, features = self.predict_seeded_with_features(x, seeds)
                pred = summarize(samples, threshold, k, probs=probs)
                if density is None:
                    return pred, None, None
                if features is None:
                    return pred, *density.assess(self.explained_net, x)
                return pred, *density.assess_features(features, x)
        finally:
            self.train(was_training)  # type: ignore[attr-defined]

    @torch.no_grad()
    def _predict_batch(
        self, x: torch.Tensor, threshold: float, k: int, seeds: Sequence[int] | None = None
    ) -> Predictive:
        x = as_batch(x).to(self._predict_device())
        if seeds is None:
            samples, probs = self.predict_distribution(x)
        else:
            samples, probs = self.predict_distribution_seeded(x, seeds)
        return summarize(samples, threshold, k, probs=probs)

    def _predict_device(self) -> torch.device:
        param = next(iter(self.parameters()), None)  # type: ignore[attr-defined]
        return param.device if param is not None else torch.device("cpu")

    def predict_proba(
        self,
        inputs: torch.Tensor | Iterable,
        threshold: float | None = None,
        k: int = 3,
        seed: int | None = None,
        seeds: Sequence[int] | None = None,
    ) -> Predictive:
        """Predictive summary for one pattern, a batch, or a DataLoader.

        Args:
            inputs: (L,), (B, L), (B, 1, L), or an iterable of batches (tensors, dicts with
                ``pattern``, or (x, y) pairs).
            threshold: abstain below this top probability (default: the model's setting).
            k: number of top classes reported.
            seed: seed of the predictive samples (the caller's random state is left as it
                was), so the same inputs give the same summary; None: the global state.
            seeds: one seed per pattern of a tensor input: pattern i's samples depend on
                ``seeds[i]`` only, never on the other patterns of the batch.
        """
        was_training = self.training  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        threshold = self.abstain_threshold if threshold is None else threshold
        try:
            with torch.random.fork_rng(enabled=seed is not None):
                if seed is not None:
                    torch.manual_seed(seed)
                if isinstance(inputs, torch.Tensor):
                    return self._predict_batch(inputs, threshold, k, seeds)
                if seeds is not None:
                    raise ValueError("per-pattern seeds need a tensor of patterns")
                parts = [self._predict_batch(split_batch(b)[0], threshold, k) for b in inputs]
        finally:
            self.train(was_training)  # type: ignore[attr-defined]
        return concat(parts)
