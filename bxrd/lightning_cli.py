"""LightningCLI for ``bxrd fit|validate|test|predict`` (subclass mode over the classifiers).

The data module's number of classes, pattern length, class names, 2θ grid, wavelength and
task are linked into the model at instantiation, so a YAML names only what differs.
"""

from __future__ import annotations

from pathlib import Path

from pytorch_lightning.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

from bxrd.data.datamodule import XRDDataModule
from bxrd.uq.base import BaseClassifier
from bxrd.uq.feature_density import fit_feature_density

#: Trainer defaults (a YAML's ``trainer:`` overrides them): TensorBoard logs in ``runs/``.
TRAINER_DEFAULTS = {"max_epochs": 10, "log_every_n_steps": 10}


class BxrdCLI(LightningCLI):
    """LightningCLI with data → model links and the post-hoc step after ``fit``."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link data properties into the model's arguments."""
        for src, dst in (
            ("n_classes", "n_classes"),
            ("in_length", "in_length"),
            ("class_names", "class_names"),
            ("grid", "grid"),
            ("wavelength", "wavelength"),
            ("task", "task"),
        ):
            parser.link_arguments(f"data.{src}", f"model.init_args.{dst}", apply_on="instantiate")

    def before_fit(self) -> None:
        """Store reference reflections per class in the model (for hkl-annotated answers)."""
        self.model.reference_reflections = self.datamodule.class_reflections()

    def after_fit(self) -> None:
        """Run the model's post-hoc step, fit the feature density, save ``final.ckpt``."""
        note = self.model.post_fit(
            self.datamodule.train_dataloader(), self.datamodule.val_dataloader()
        )
        if note:
            print(note)
        dm = self.datamodule
        self.model.feature_density = fit_feature_density(
            self.model.net, dm.train_dataloader(), dm.val_dataloader(), dm.n_classes
        )
        threshold = self.model.feature_density.threshold
        print(f"feature density fitted, far-from-training threshold {threshold:.1f}")
        folder = Path(self.trainer.log_dir or ".") / "checkpoints"
        path = folder / "final.ckpt"
        self.trainer.save_checkpoint(path, weights_only=True)
        print(f"saved {path}")


def run_lightning(argv: list[str]) -> BxrdCLI:
    """Run LightningCLI on ``argv`` (``fit --config ...``).

    Only ``fit`` writes the resolved ``config.yaml`` (into its run folder); evaluation runs
    must not drop one into the working directory when they have no logger.
    """
    return BxrdCLI(
        BaseClassifier,
        XRDDataModule,
        subclass_mode_model=True,
        save_config_callback=SaveConfigCallback if argv[:1] == ["fit"] else None,
        seed_everything_default=0,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
        args=argv,
        auto_configure_optimizers=False,
    )
