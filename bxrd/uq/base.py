"""Base LightningModule of every B-VGGNet variant.

Template hooks, as in torchgeo's trainers: subclasses say how to build the network
(:meth:`configure_models`), the training loss (:meth:`training_loss`) and how to draw
predictive samples (:meth:`predict_samples`). Validation and test share one step that
scores the *predictive* (mean probabilities), so calibration numbers describe what users get.
Batches are dicts: ``pattern`` (B, L) float and ``label`` (B,) long.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from bxrd.models.vgg1d import VGG1D, VGG1DConfig
from bxrd.uq.batches import split_batch
from bxrd.uq.calibration import classification_metrics
from bxrd.uq.checkpoint_format import axis_from_hparams, check_stamp, make_stamp
from bxrd.uq.conformal import ConformalSets
from bxrd.uq.feature_density import FeatureDensity
from bxrd.uq.predictive_interface import PredictiveMixin
from bxrd.xrd.axis import Axis
from bxrd.xrd.grid import TwoThetaGrid


class BaseClassifier(PredictiveMixin, pl.LightningModule):
    """Shared training, evaluation, prediction and checkpoint logic.

    Args:
        n_classes: number of classes.
        in_length: pattern length (points on the model's 2θ grid).
        backbone: architecture of the VGG backbone.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        lr_schedule: ``constant``, or ``cosine``: the learning rate falls from ``lr`` to 0 along
            a half cosine over the fit's optimizer steps (needs a finite ``max_epochs`` or
            ``max_steps``, set on purpose: Lightning's default of 1,000 epochs gives a schedule
            that barely decays; a fit stopped earlier by ``max_time`` ends part-way down; a
            resumed fit keeps the schedule length of the checkpoint).
        abstain_threshold: abstain when the top mean probability is below this.
        class_names: names of the classes (index order), stored with the checkpoint.
        axis: the 2θ grid (degrees) and wavelength (Å) of the training patterns, as
            :class:`~bxrd.xrd.axis.Axis` or its ``to_dict()``; stored so ``bxrd predict`` can
            put measured patterns on it (None: patterns come already gridded).
        task: the task the classes belong to (``space_group``, ``structure_type``,
            ``in_library``).
        grid, wavelength: how checkpoints written before the axis object store it (read
            only when loading them; give ``axis``).
    """

    def __init__(
        self,
        n_classes: int,
        in_length: int,
        backbone: VGG1DConfig | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        abstain_threshold: float = 0.5,
        class_names: list[str] | None = None,
        axis: Axis | dict | None = None,
        task: str = "space_group",
        grid: TwoThetaGrid | None = None,
        wavelength: float | None = None,
    ) -> None:
        super().__init__()
        if isinstance(backbone, dict):  # from YAML through a subclass's **kwargs
            backbone = VGG1DConfig(**backbone)
        axis = axis_from_hparams({"axis": axis, "grid": grid, "wavelength": wavelength})
        if class_names is not None and len(class_names) != n_classes:
            raise ValueError(f"{len(class_names)} class names for {n_classes} classes")
        self.save_hyperparameters(ignore=["grid", "wavelength"])
        self.hparams["axis"] = None if axis is None else axis.to_dict()
        self.backbone_config = backbone
        self.abstain_threshold = abstain_threshold
        self.class_names = class_names or [str(i) for i in range(n_classes)]
        self.axis = axis
        if axis is not None and axis.n_points != in_length:
            raise ValueError(f"axis has {axis.n_points} points but in_length is {in_length}")
        self.reference_reflections: dict[str, list[dict]] = {}
        self.feature_density: FeatureDensity | None = None
        self.conformal: ConformalSets | None = None
        self.configure_models()
        self.val_metrics = classification_metrics(n_classes, prefix="val/")
        self.test_metrics = classification_metrics(n_classes, prefix="test/")

    # -- template hooks -------------------------------------------------------------------
    def configure_models(self) -> None:
        """Build ``self.net``; subclasses may add Bayesian parts."""
        self.net = VGG1D(self.hparams.n_classes, self.hparams.in_length, self.backbone_config)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Loss minimised in training (default: cross-entropy of the network)."""
        return F.cross_entropy(self.net(x), y)

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """One sample: the softmax of the network, shape (1, B, C)."""
        return F.softmax(self.net(x), dim=-1)[None]

    # -- Lightning ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mean predictive class probabilities, shape (B, C)."""
        return self.predict_distribution(x)[1]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Minimise :meth:`training_loss` on one batch."""
        loss = self.training_loss(batch["pattern"], batch["label"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["label"]))
        return loss

    def eval_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities scored in validation and test (default: the mean predictive)."""
        return self(x)

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> dict[str, torch.Tensor]:
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        probs = self.eval_probs(batch["pattern"])
        metrics.update(probs, batch["label"])
        self.log_dict(metrics, batch_size=len(batch["label"]), prog_bar=stage == "val")
        return {"probs": probs.detach(), "label": batch["label"]}

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        """Score the predictive on a validation batch; return probabilities for callbacks."""
        return self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        """Score the predictive on a test batch; return probabilities for callbacks."""
        return self._eval_step(batch, "test")

    def post_fit(self, train_loader: Iterable, val_loader: Iterable | None) -> str | None:
        """Post-hoc step after training (Laplace posterior, temperature); returns a note."""
        return None

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor | None]:
        """Predictive summary of a batch as a dict of tensors."""
        p = self.predict_proba(split_batch(batch)[0])
        return {
            "probs": p.probs,
            "std": p.std,
            "entropy": p.entropy,
            "mutual_information": p.mutual_information,
            "abstain": p.abstain,
        }

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        """AdamW over the trainable parameters, with the ``lr_schedule`` of the constructor."""
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        if self.hparams.get("lr_schedule", "constant") == "constant":
            return opt
        steps = self.trainer.estimated_stepping_batches
        if not math.isfinite(steps):
            raise ValueError("lr_schedule cosine needs trainer.max_epochs or trainer.max_steps")
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(steps), 1))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Stamp the checkpoint (format, version); keep references, density, conformal sets."""
        checkpoint["bxrd"] = make_stamp(self)
        checkpoint["reference_reflections"] = self.reference_reflections
        if self.feature_density is not None:
            checkpoint["feature_density"] = self.feature_density.state_dict()
        if self.conformal is not None:
            checkpoint["conformal"] = self.conformal.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse checkpoints of another bxrd format with a clear message."""
        check_stamp(checkpoint)
        self.reference_reflections = checkpoint.get("reference_reflections", {})
        self.feature_density = FeatureDensity.from_checkpoint(checkpoint)
        self.conformal = ConformalSets.from_checkpoint(checkpoint)
