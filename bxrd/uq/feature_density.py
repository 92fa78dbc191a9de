"""Distance of a pattern from the training data in the network's feature space.

MC dropout and even Laplace can be confident on inputs unlike anything seen in training
(pure noise, a mineral outside the library). Following Lee et al. (2018) and Mukhoti et al.
(2023, DDU), the penultimate activations of the trained network are modelled by one Gaussian
per class with a shared covariance (Ledoit–Wolf shrinkage, scikit-learn). A pattern's score
is its smallest squared Mahalanobis distance to a class mean; it is *far from training*
when the score exceeds the ``quantile`` of the scores of held-out validation patterns, or
when the pattern itself is noise-dominated (:mod:`bxrd.xrd.roughness`: more than half of its
variance point-to-point noise). The second rule is the input-space side of the same
question: the feature distance alone let some uniform-noise patterns through for 22 of 46
fits of issue 19 (their noise lands inside the validation quantile), but no training
pattern has a roughness above 0.075 and uniform noise has about 1.

Fitting needs scikit-learn; scoring is torch only (the fast inference path).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from bxrd.uq.batches import labelled
from bxrd.xrd.roughness import noise_dominated


@dataclass
class FeatureDensity:
    """Class-conditional Gaussians on penultimate features.

    Attributes:
        means: means of the classes seen in training, shape (C', D).
        precision: shared precision matrix, shape (D, D).
        threshold: squared-distance threshold (the validation ``quantile``).
        quantile: the quantile of validation scores used as threshold.
    """

    means: torch.Tensor
    precision: torch.Tensor
    threshold: float
    quantile: float

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """Smallest squared Mahalanobis distance to a class mean, shape (B,)."""
        means, precision = self.means.to(features.device), self.precision.to(features.device)
        diff = features[:, None, :] - means[None]  # (B, C, D)
        return torch.einsum("bcd,de,bce->bc", diff, precision, diff).min(dim=1).values

    @torch.no_grad()
    def assess(self, net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (B,) of patterns ``x`` (B, L) under ``net`` (eval mode) and far flags (B,).

        ``net`` has ``penultimate(x)`` → (B, D): a model's ``explained_net`` (a ``VGG1D``, or
        a VI network at its posterior median; ``net`` of VI would draw a Bayesian ``fc``).
        """
        was_training = net.training
        net.eval()
        try:
            return self.assess_features(net.penultimate(x), x)
        finally:
            net.train(was_training)

    def assess_features(
        self, features: torch.Tensor, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (B,) and far flags (B,) of penultimate activations ``features`` (B, D).

        For a caller that already ran the backbone on patterns ``x`` (B, L) (the MC-dropout
        predictive does); a noise-dominated pattern of ``x`` is far whatever its score.
        """
        scores = self.score(features)
        far = (scores > self.threshold) | noise_dominated(x).to(scores.device)
        return scores, far

    def state_dict(self) -> dict:
        """Tensors and numbers for a checkpoint (torch's weights-only loader reads them)."""
        return {
            "means": self.means,
            "precision": self.precision,
            "threshold": self.threshold,
            "quantile": self.quantile,
        }

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> FeatureDensity | None:
        """Rebuild from the ``feature_density`` entry of a checkpoint (None without one)."""
        state = checkpoint.get("feature_density")
        if state is None:
            return None
        return cls(state["means"], state["precision"], state["threshold"], state["quantile"])


@torch.no_grad()
def _features(net: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    feats, labels = [], []
    device = next(net.parameters()).device
    for x, y in map(labelled, loader):
        feats.append(net.penultimate(x.to(device)).cpu())
        labels.append(y)
    return torch.cat(feats).double(), torch.cat(labels)


def fit_feature_density(
    net: nn.Module, train: Iterable, val: Iterable, n_classes: int, quantile: float = 0.99
) -> FeatureDensity:
    """Fit class means and the shared covariance on ``train``; set the threshold on ``val``.

    Args:
        net: the trained model's ``explained_net`` (see :meth:`FeatureDensity.assess`),
            put in eval mode here.
        train: loader of labelled batches (dicts or (x, y) pairs) for the Gaussians.
        val: loader of held-out labelled batches for the threshold.
        n_classes: number of classes; a class absent from ``train`` gets no Gaussian.
        quantile: validation quantile used as the far-from-training threshold.
    """
    from sklearn.covariance import LedoitWolf

    net.eval()
    z, y = _features(net, train)
    present = [c for c in range(n_classes) if (y == c).any()]
    means = torch.stack([z[y == c].mean(dim=0) for c in present])
    index = torch.full((n_classes,), -1, dtype=torch.long)
    index[present] = torch.arange(len(present))
    centred = (z - means[index[y]]).numpy()
    precision = torch.from_numpy(LedoitWolf().fit(centred).precision_)
    density = FeatureDensity(means.float(), precision.float(), 0.0, quantile)
    z_val, _ = _features(net, val)
    density.threshold = float(torch.quantile(density.score(z_val.float()), quantile))
    return density
