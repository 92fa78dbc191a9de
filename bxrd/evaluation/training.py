"""Train a model exactly as ``bxrd fit`` does, from an experiment YAML, and keep its stream.

:func:`fit_experiment` runs the LightningCLI entry of ``bxrd fit`` on the YAML (model, data
and trainer parts, post-hoc step, feature density, ``final.ckpt``) with command-line
overrides only: the dataset path, seed, epochs and epoch length of the suite, no logger and
no plotting callbacks, and one :class:`StreamRecorder` callback that keeps every training
batch the network saw. The classical baselines are then fitted on exactly those patterns
(same stream, same count).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl

from bxrd.training.lightning_cli import run_lightning
from bxrd.uq.base import BaseClassifier


class StreamRecorder(pl.Callback):
    """Keep the patterns (N, L) and labels (N,) of every training batch, as float16 / int64."""

    def __init__(self) -> None:
        self.patterns: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Store one batch."""
        self.patterns.append(batch["pattern"].detach().cpu().numpy().astype(np.float16))
        self.labels.append(batch["label"].detach().cpu().numpy())

    def stream(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pattern seen in training, in order: (N, L) float32 and (N,) int64."""
        return np.concatenate(self.patterns).astype(np.float32), np.concatenate(self.labels)


@dataclass
class Fitted:
    """A model trained by :func:`fit_experiment`, its data module and training stream.

    Attributes:
        model: the classifier after its post-hoc step.
        datamodule: the YAML's data module (set up for ``fit``).
        stream_x: training patterns seen, (N, L).
        stream_y: their labels, (N,).
        checkpoint: ``final.ckpt`` written by the fit.
    """

    model: BaseClassifier
    datamodule: Any
    stream_x: np.ndarray
    stream_y: np.ndarray
    checkpoint: Path


def fit_experiment(
    config: str | Path, out_dir: str | Path, seed: int, overrides: list[str]
) -> Fitted:
    """Run ``bxrd fit --config CONFIG`` with the suite's overrides; return the trained model.

    Args:
        config: experiment YAML (``configs/experiments/*.yaml``).
        out_dir: folder of this fit (``final.ckpt`` lands in ``out_dir/checkpoints``).
        seed: ``seed_everything`` and the data module's seed.
        overrides: more ``--key=value`` arguments (dataset, epochs, epoch length).
    """
    recorder = {"class_path": f"{__name__}.StreamRecorder"}
    argv = [
        "fit",
        "--config",
        str(config),
        f"--seed_everything={seed}",
        f"--data.seed={seed}",
        "--trainer.logger=false",
        f"--trainer.default_root_dir={out_dir}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        f"--trainer.callbacks=[{json.dumps(recorder)}]",
        *overrides,
    ]
    # LightningCLI warns when sys.argv holds arguments besides ``args``: show it only ours
    saved, sys.argv = sys.argv, sys.argv[:1]
    try:
        cli = run_lightning(argv)
    finally:
        sys.argv = saved
    rec = next(c for c in cli.trainer.callbacks if isinstance(c, StreamRecorder))
    x, y = rec.stream()
    return Fitted(cli.model, cli.datamodule, x, y, Path(out_dir) / "checkpoints" / "final.ckpt")
