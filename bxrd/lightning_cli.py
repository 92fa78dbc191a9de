"""LightningCLI for ``bxrd fit|validate|test|predict`` (subclass mode over the classifiers).

The data module's number of classes, pattern length, class names, 2θ grid, wavelength and
task are linked into the model at instantiation, so a YAML names only what differs.
"""

from __future__ import annotations

from pathlib import Path

from pytorch_lightning.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from pytorch_lightning.utilities import rank_zero_only

from bxrd.callbacks.checkpoint import LastCheckpoint
from bxrd.data.datamodule import XRDDataModule
from bxrd.errors import BxrdInputError
from bxrd.uq.base import BaseClassifier
from bxrd.uq.feature_density import fit_feature_density

#: ``print`` on global rank zero only (messages of the post-hoc step).
say = rank_zero_only(print)

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

    def instantiate_classes(self) -> None:
        """Instantiate; an input error names the YAML file(s) it came from."""
        try:
            super().instantiate_classes()
        except BxrdInputError as exc:
            files = self.config.get(str(self.subcommand), self.config).get("config") or []
            prefix = ", ".join(str(getattr(f, "relative", f)) for f in files)
            raise BxrdInputError(f"{prefix}: {exc}" if prefix else str(exc)) from None

    def before_fit(self) -> None:
        """Store reference reflections per class in the model (for hkl-annotated answers)."""
        self.model.reference_reflections = self.datamodule.class_reflections()

    def after_fit(self) -> None:
        """Run the model's post-hoc step, fit the feature density, save ``final.ckpt``.

        Every rank fits on the same full data (``posthoc_dataloaders``), so all ranks hold the
        same model; only global rank zero writes and prints.
        """
        dm = self.datamodule
        train, val = dm.posthoc_dataloaders()
        note = self.model.post_fit(train, val)
        if note:
            say(note)
        self.model.feature_density = fit_feature_density(self.model.net, train, val, dm.n_classes)
        threshold = self.model.feature_density.threshold
        say(f"feature density fitted, far-from-training threshold {threshold:.1f}")
        folder = Path(self.trainer.log_dir or ".") / "checkpoints"
        path = folder / "final.ckpt"
        self.trainer.save_checkpoint(path, weights_only=True)
        say(f"saved {path}")


def run_lightning(argv: list[str]) -> BxrdCLI:
    """Run LightningCLI on ``argv`` (``fit --config ...``).

    A :class:`~bxrd.callbacks.checkpoint.LastCheckpoint` is always added, so a stopped fit
    resumes with ``--ckpt_path last``.

    Only ``fit`` writes the resolved ``config.yaml`` (into its run folder); evaluation runs
    must not drop one into the working directory when they have no logger.
    """
    return BxrdCLI(
        BaseClassifier,
        XRDDataModule,
        subclass_mode_model=True,
        save_config_callback=SaveConfigCallback if argv[:1] == ["fit"] else None,
        seed_everything_default=0,
        trainer_defaults={**TRAINER_DEFAULTS, "callbacks": [LastCheckpoint()]},
        save_config_kwargs={"overwrite": True},
        args=argv,
        auto_configure_optimizers=False,
    )
