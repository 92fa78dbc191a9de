"""LightningCLI in subclass mode over the classifiers: the one training path.

``bxrd fit|validate|test|lightning-predict`` and ``bxrd experiments`` both train and score
through :func:`run_lightning`.

The data module's number of classes, pattern length, class names, 2θ axis (grid and
wavelength) and task are linked into the model at instantiation, so a YAML names only what
differs. ``fit`` always runs the post-fit step (:class:`~bxrd.callbacks.finalize.Finalize`),
added here when the trainer YAML does not list it.
"""

from __future__ import annotations

import warnings
from argparse import ArgumentError
from pathlib import Path

import torch
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

from bxrd.callbacks.checkpoint import LastCheckpoint
from bxrd.callbacks.finalize import Finalize
from bxrd.data.datamodule import XRDDataModule
from bxrd.errors import BxrdInputError
from bxrd.uq.base import BaseClassifier
from bxrd.uq.ensemble import ENSEMBLE_CLASS, NOT_ONE_MODEL
from bxrd.xrd.axis import Axis

#: Trainer defaults (a YAML's ``trainer:`` overrides them): TensorBoard logs in ``runs/``.
TRAINER_DEFAULTS = {"max_epochs": 10, "log_every_n_steps": 10}


def _axis(grid: object, wavelength: float) -> dict:
    return Axis(grid, float(wavelength)).to_dict()  # type: ignore[arg-type]


class BxrdCLI(LightningCLI):
    """LightningCLI with data → model links and the post-fit callback."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link data properties into the model's arguments."""
        for name in ("n_classes", "in_length", "class_names", "task"):
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        parser.link_arguments(
            ("data.grid", "data.wavelength"),
            "model.init_args.axis",
            compute_fn=_axis,
            apply_on="instantiate",
        )

    def instantiate_classes(self) -> None:
        """Instantiate; an input error (e.g. a missing dataset) names the YAML file(s)."""
        try:
            super().instantiate_classes()
        except BxrdInputError as exc:
            files = self.config.get(str(self.subcommand), self.config).get("config") or []
            prefix = ", ".join(str(getattr(f, "relative", f)) for f in files)
            raise BxrdInputError(f"{prefix}: {exc}" if prefix else str(exc)) from None

    def before_fit(self) -> None:
        """Add :class:`Finalize` unless the trainer YAML lists it."""
        self._refuse_ensemble()
        if not any(isinstance(c, Finalize) for c in self.trainer.callbacks):
            self.trainer.callbacks.append(Finalize())

    def before_validate(self) -> None:
        """Refuse an ensemble file as ``--ckpt_path``."""
        self._refuse_ensemble()

    def before_test(self) -> None:
        """Refuse an ensemble file as ``--ckpt_path``."""
        self._refuse_ensemble()

    def _refuse_ensemble(self) -> None:
        """One message, not Lightning's KeyError, for an ensemble file given as ``ckpt_path``."""
        path = self.config.get(str(self.subcommand), {}).get("ckpt_path")
        if not path or not Path(path).is_file():
            return  # "last", or a missing file: Lightning's own message
        try:
            stamp = torch.load(path, map_location="cpu", weights_only=True).get("bxrd") or {}
        except Exception:  # noqa: BLE001  (unreadable: Lightning reports it as it loads)
            return
        if stamp.get("class") == ENSEMBLE_CLASS:
            raise BxrdInputError(f"{path} {NOT_ONE_MODEL}")


def _config_files(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]


def run_lightning(argv: list[str]) -> BxrdCLI:
    """Run LightningCLI on ``argv`` (``fit --config ...``).

    A :class:`~bxrd.callbacks.checkpoint.LastCheckpoint` is always added, so a stopped fit
    resumes with ``--ckpt_path last``. Only ``fit`` writes the resolved ``config.yaml`` (into
    its run folder); evaluation runs must not drop one into the working directory when they
    have no logger. A configuration error is one line naming the YAML file(s), not the full
    usage.

    Raises:
        BxrdInputError: the configuration cannot be parsed or instantiated.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*intended to run from within Python.*")
        try:
            return BxrdCLI(
                BaseClassifier,
                XRDDataModule,
                subclass_mode_model=True,
                save_config_callback=SaveConfigCallback if argv[:1] == ["fit"] else None,
                seed_everything_default=0,
                trainer_defaults={**TRAINER_DEFAULTS, "callbacks": [LastCheckpoint()]},
                save_config_kwargs={"overwrite": True},
                parser_kwargs={"exit_on_error": False},
                args=argv,
                auto_configure_optimizers=False,
            )
        except ArgumentError as exc:
            where = ", ".join(_config_files(argv)) or "the command line"
            raise BxrdInputError(f"bxrd {argv[0]}: bad configuration in {where}: {exc}") from None
