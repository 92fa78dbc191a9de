"""Reliability diagrams and entropy histograms of the predictive, sent to TensorBoard.

Metrics themselves (accuracy, ECE, MCE, NLL, Brier) are logged by the LightningModule through
torchmetrics; this callback only gathers the probabilities its eval steps return and plots.
Under DDP the probabilities of all ranks are gathered (:class:`~bxrd.uq.calibration.
PredictionStore`) and global rank zero plots them.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger

from bxrd.uq.calibration import PredictionStore
from bxrd.uq.figures import entropy_figure, reliability_figure
from bxrd.uq.predictive_summary import entropy


class CalibrationFigures(pl.Callback):
    """At the end of each validation epoch and of testing, log reliability and entropy figures.

    Args:
        every_n_epochs: plot validation figures every n epochs (test: always).
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs
        self._store = PredictionStore()

    def _collect(self, pl_module: pl.LightningModule, outputs: Any) -> None:  # noqa: ANN401
        if isinstance(outputs, dict) and "probs" in outputs:
            self._store = self._store.to(pl_module.device)  # the device the backend syncs on
            self._store.update(outputs["probs"], outputs["label"])

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,  # noqa: ANN401
        dataloader_idx: int = 0,
    ) -> None:
        """Gather validation probabilities."""
        self._collect(pl_module, outputs)

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,  # noqa: ANN401
        dataloader_idx: int = 0,
    ) -> None:
        """Gather test probabilities."""
        self._collect(pl_module, outputs)

    def _flush(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        logger = trainer.logger
        # the same decision on every rank: compute() is collective under DDP
        if (
            isinstance(logger, TensorBoardLogger)
            and not trainer.sanity_checking
            and self._store.update_count
        ):
            p, y = (t.cpu() for t in self._store.compute())
            if trainer.is_global_zero:
                self._plot(logger, pl_module, stage, trainer.current_epoch, p, y)
        self._store.reset()

    @staticmethod
    def _plot(
        logger: TensorBoardLogger,
        pl_module: pl.LightningModule,
        stage: str,
        step: int,
        p: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        """Log the figures and histograms of probabilities ``p`` (N, C), labels ``y`` (N,)."""
        exp = logger.experiment
        exp.add_figure(f"{stage}/reliability", reliability_figure(p, y, stage), step)
        exp.add_figure(f"{stage}/entropy", entropy_figure(p, y, stage), step)
        h = entropy(p)
        correct = p.argmax(-1) == y
        for name, rows in (("correct", correct), ("wrong", ~correct)):
            if rows.any():
                exp.add_histogram(f"{stage}/entropy_{name}", h[rows], step)
        names = getattr(pl_module, "class_names", [str(i) for i in range(p.shape[-1])])
        for c, name in enumerate(names):
            if (y == c).any():
                exp.add_histogram(f"{stage}/entropy_class/{name}", h[y == c], step)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Plot validation figures every ``every_n_epochs``."""
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._flush(trainer, pl_module, "val")
        else:
            self._store.reset()

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Plot test figures."""
        self._flush(trainer, pl_module, "test")
