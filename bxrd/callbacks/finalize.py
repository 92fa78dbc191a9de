"""The post-fit step of every bxrd model, as a callback: whoever calls ``Trainer.fit`` gets it.

At fit start the model receives the reference reflections of each class (from a data module
that has ``class_reflections()``), so answers can name hkl. At fit end, unless training was
interrupted:

0. the batch-norm statistics are recomputed with the final weights over training batches
   (:func:`~bxrd.uq.batch_norm_stats.recompute_batch_norm`: the moving averages of training
   lag behind the weights, and B-VGGNet's first layers are very sensitive to that lag);
1. the model's post-hoc step runs (:meth:`~bxrd.uq.base.BaseClassifier.post_fit`: the Laplace
   posterior with marginal-likelihood prior precision and its predictive's temperature, or the
   softmax's temperature, each fitted on validation);
2. the far-from-training feature density is fitted (training data for the Gaussians,
   validation data for the threshold);
3. the conformal prediction sets are fitted on validation data (:mod:`bxrd.uq.conformal`);
4. ``final.ckpt`` is written atomically next to the run's checkpoints, on global rank zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_info

from bxrd.uq.base import BaseClassifier
from bxrd.uq.batch_norm_stats import recompute_batch_norm
from bxrd.uq.checkpoint_format import save_trainer_checkpoint
from bxrd.uq.conformal import COVERAGE, check_coverage, fit_conformal
from bxrd.uq.feature_density import fit_feature_density


class Finalize(pl.Callback):
    """Post-hoc fit, feature density and ``final.ckpt`` after ``Trainer.fit``.

    Args:
        feature_density: fit the far-from-training feature density.
        quantile: validation quantile used as the far-from-training threshold.
        filename: name of the final checkpoint in ``<log_dir>/checkpoints/``.
        bn_batches: training batches over which the batch-norm statistics are recomputed
            with the final weights (0: keep the moving averages of training).
        coverage: promised coverage of the conformal prediction sets (None: fit none).
    """

    def __init__(
        self,
        feature_density: bool = True,
        quantile: float = 0.99,
        filename: str = "final.ckpt",
        bn_batches: int = 32,
        coverage: float | None = COVERAGE,
    ) -> None:
        if bn_batches < 0:
            raise ValueError(f"bn_batches must be >= 0, got {bn_batches}")
        # a bad value fails now, not after training
        self.coverage = None if coverage is None else check_coverage(coverage)
        self.bn_batches = bn_batches
        self.feature_density = feature_density
        self.quantile = quantile
        self.filename = filename
        self.path: Path | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Store reference reflections per class in the model (for hkl-annotated answers)."""
        reflections = getattr(trainer.datamodule, "class_reflections", None)
        if isinstance(pl_module, BaseClassifier) and reflections is not None:
            pl_module.reference_reflections = reflections()

    def _loaders(self, trainer: pl.Trainer) -> tuple[Iterable, Iterable | None]:
        """Return the post-hoc data: identical on every rank where the data module can give it.

        :class:`~bxrd.data.datamodule.XRDDataModule` ``posthoc_dataloaders()`` returns one
        process's training stream and the whole validation split, so under DDP every rank
        fits the same posterior / temperature / density and all ranks hold the same model.
        """
        dm = trainer.datamodule
        if dm is not None and hasattr(dm, "posthoc_dataloaders"):
            return dm.posthoc_dataloaders()
        if dm is not None:
            return dm.train_dataloader(), dm.val_dataloader()
        return trainer.train_dataloader, trainer.val_dataloaders

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Post-hoc step, feature density, then ``final.ckpt`` (skipped after an interrupt)."""
        if trainer.interrupted or not isinstance(pl_module, BaseClassifier):
            return
        train, val = self._loaders(trainer)
        # Lightning's teardown has moved the module to the CPU before on_fit_end: run the
        # post-hoc passes on the fit's device (a GPU fit would otherwise do them on one core)
        pl_module.to(trainer.strategy.root_device)
        try:
            if self.bn_batches:
                used = recompute_batch_norm(pl_module.net, train, self.bn_batches)
                if used:
                    rank_zero_info(f"batch-norm statistics recomputed over {used} training batches")
            note = pl_module.post_fit(train, val)
            if note:
                rank_zero_info(note)
            if self.feature_density and val is not None:
                density = fit_feature_density(
                    pl_module.explained_net, train, val, pl_module.hparams.n_classes, self.quantile
                )
                pl_module.feature_density = density
                rank_zero_info(
                    f"feature density fitted, far-from-training threshold {density.threshold:.1f}"
                )
            # sets of earlier weights (a resumed fit) never outlive them
            pl_module.conformal = None
            if self.coverage is not None and val is not None:
                sets = fit_conformal(pl_module, val, self.coverage)
                pl_module.conformal = sets
                rank_zero_info(
                    f"conformal sets fitted on {sets.n} validation patterns: q = {sets.qhat():.4f} "
                    f"for {sets.coverage:.0%} coverage"
                )
        finally:
            pl_module.cpu()
        folder = Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"
        self.path = save_trainer_checkpoint(trainer, folder / self.filename)
        rank_zero_info(f"saved {self.path}")
