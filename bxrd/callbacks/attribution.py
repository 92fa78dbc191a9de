"""Attribution figures (Captum Integrated Gradients and SHAP) on a fixed sample, to TensorBoard."""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger

from bxrd.explain.attributions import explain_classes, integrated_gradients, shap_values
from bxrd.explain.figures import attribution_figure


class AttributionFigures(pl.Callback):
    """After testing, attribute the predicted class of a fixed test sample to 2θ.

    Logs, per class, the mean |attribution| over the sample with its strongest regions
    annotated by the reference reflections (hkl) the model carries. Under DDP only global rank
    zero computes them (it reads the fixed sample from the file itself).

    Args:
        method: ``integrated_gradients`` (Captum) or ``shap`` (GradientExplainer).
        n_patterns: size of the fixed sample (the first patterns of the test set).
        n_regions: strongest 2θ regions annotated per class.
    """

    def __init__(
        self,
        method: Literal["integrated_gradients", "shap"] = "integrated_gradients",
        n_patterns: int = 32,
        n_regions: int = 3,
    ) -> None:
        if method not in ("integrated_gradients", "shap"):
            raise ValueError(f"method must be integrated_gradients or shap, got {method!r}")
        self.method, self.n_patterns, self.n_regions = method, n_patterns, n_regions

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Compute and log the figures."""
        logger, dm = trainer.logger, trainer.datamodule
        if not trainer.is_global_zero or not isinstance(logger, TensorBoardLogger):
            return
        if dm is None or pl_module.grid is None:
            return
        device = pl_module.device
        x = dm.test_set.first(self.n_patterns).to(device)
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone()
            pred = pl_module.explained_net(x).argmax(-1).detach()
            if self.method == "shap":
                background = next(iter(dm.val_dataloader()))["pattern"][:16].to(device)
                attr = shap_values(pl_module, x, background, pred)
            else:
                attr = integrated_gradients(pl_module, x, pred)
        explanations = explain_classes(  # numpy from here on: host tensors
            pl_module, x.cpu(), pred.cpu(), attr.detach().cpu(), pl_module.grid.values,
            self.n_regions,
        )  # fmt: skip
        for e in explanations:
            fig = attribution_figure(
                pl_module.grid.values,
                e.pattern,
                e.attribution,
                e.regions,
                f"{e.label}: mean |{self.method}|",
            )
            logger.experiment.add_figure(f"attribution/{e.label}", fig, trainer.current_epoch)
