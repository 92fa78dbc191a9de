"""MC-dropout predictive read straight from a checkpoint: the torch-only path of ``bxrd predict``.

Importing Lightning, torchmetrics and laplace-torch costs about 4 s on 2 CPU cores, more than
a prediction. An MC-dropout checkpoint needs none of them at inference: the network, its
dropout samples (:func:`~bxrd.models.dropout_sampling.mc_dropout_samples`, the same code the
Lightning classifier runs) and the metadata stored with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from bxrd.models.dropout_sampling import mc_dropout_samples, seeded_samples
from bxrd.models.inference_backbone import InferenceBackbone
from bxrd.models.vgg1d import VGG1D, VGG1DConfig
from bxrd.uq.checkpoint_format import axis_from_hparams
from bxrd.uq.conformal import ConformalSets
from bxrd.uq.feature_density import FeatureDensity
from bxrd.uq.methods import UQMethod
from bxrd.uq.predictive_interface import PredictiveMixin


class DropoutPredictor(PredictiveMixin, nn.Module):
    """Predictive of an ``MCDropoutClassifier`` checkpoint, without its training code.

    Attributes mirror :class:`~bxrd.uq.base.BaseClassifier` where prediction and explanation
    read them: ``net``, ``hparams``, ``class_names``, ``axis`` (2θ grid and wavelength),
    ``abstain_threshold``, ``reference_reflections``, ``feature_density`` and ``conformal``.
    """

    method: ClassVar[UQMethod] = UQMethod.MC_DROPOUT

    def __init__(
        self,
        net: VGG1D,
        hparams: dict[str, Any],
        reference_reflections: dict,
        feature_density: FeatureDensity | None = None,
        conformal: ConformalSets | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.hparams = hparams
        self.class_names: list[str] = hparams["class_names"]
        self.axis = axis_from_hparams(hparams)
        self.abstain_threshold: float = hparams["abstain_threshold"]
        self.reference_reflections = reference_reflections
        self.feature_density = feature_density
        self.conformal = conformal
        self._backbone: InferenceBackbone | None = None  # built at the first prediction

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> DropoutPredictor:
        """Build from a loaded checkpoint dict (hyper-parameters and ``net.*`` weights)."""
        hp = dict(checkpoint["hyper_parameters"])
        backbone = hp["backbone"]
        config = VGG1DConfig(**backbone) if isinstance(backbone, dict) else backbone
        net = VGG1D(hp["n_classes"], hp["in_length"], config)
        state = {
            k.removeprefix("net."): v
            for k, v in checkpoint["state_dict"].items()
            if k.startswith("net.")
        }
        net.load_state_dict(state)
        references = checkpoint.get("reference_reflections", {})
        density = FeatureDensity.from_checkpoint(checkpoint)
        return cls(net, hp, references, density, ConformalSets.from_checkpoint(checkpoint)).eval()

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """T dropout samples of the class probabilities, shape (T, B, C)."""
        hp = self.hparams
        return mc_dropout_samples(self.net, x, hp["num_samples"], hp["max_batch"])

    def predict_distribution_seeded(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dropout samples (T, B, C) with pattern i's masks from ``seeds[i]``, and their mean."""
        samples, probs, _ = self.predict_seeded_with_features(x, seeds)
        return samples, probs

    def predict_seeded_with_features(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Seeded samples (T, B, C), their mean and the penultimate activations (B, H).

        Features are None when dropout sits in the backbone (no single backbone pass).
        """
        hp = self.hparams
        samples, features = seeded_samples(
            self.net, x, hp["num_samples"], hp["max_batch"], seeds, self.inference_backbone()
        )
        return samples, samples.mean(dim=0), features

    def inference_backbone(self) -> InferenceBackbone | None:
        """Return the network's faster penultimate path, rebuilt when its weights change.

        None when dropout sits in the backbone (no single backbone pass) or the network
        has a layer the rearrangement does not know.
        """
        if not self.net.head_only_dropout:
            return None
        if self._backbone is None or not self._backbone.matches(self.net):
            try:
                self._backbone = InferenceBackbone(self.net)
            except ValueError:
                return None
        return self._backbone
