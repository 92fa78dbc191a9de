"""The bxrd checkpoint format: stamp, 2θ axis in hyper-parameters, atomic writing.

The stamp (format, version, class) is checked before loading; the axis is stored as
:meth:`~bxrd.xrd.axis.Axis.to_dict`; checkpoints are written by one helper, atomically.

Torch only: the fast inference path reads checkpoints without importing Lightning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import torch

import bxrd
from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_path
from bxrd.models.vgg1d import VGG1DConfig
from bxrd.xrd.axis import Axis
from bxrd.xrd.grid import TwoThetaGrid

#: Version of the checkpoint layout; bump when saved keys change meaning.
CHECKPOINT_FORMAT = 1

# hyperparameters hold these dataclasses; let torch's safe (weights-only) loader read them
torch.serialization.add_safe_globals([TwoThetaGrid, VGG1DConfig])


def make_stamp(model: object) -> dict[str, Any]:
    """Return the stamp of ``model``: checkpoint format, bxrd version, dotted class path."""
    cls = type(model)
    return {
        "format": CHECKPOINT_FORMAT,
        "version": bxrd.__version__,
        "class": f"{cls.__module__}.{cls.__qualname__}",
    }


def check_stamp(checkpoint: Any) -> dict[str, Any]:
    """Return the stamp of a loaded checkpoint dict.

    Raises:
        BxrdInputError: no stamp (not written by bxrd) or another checkpoint format.
    """
    stamp = checkpoint.get("bxrd") if isinstance(checkpoint, dict) else None
    if not stamp:
        raise BxrdInputError("not a bxrd checkpoint (no 'bxrd' stamp)")
    if stamp.get("format") != CHECKPOINT_FORMAT:
        raise BxrdInputError(
            f"checkpoint format {stamp.get('format')} (bxrd {stamp.get('version')}) is not "
            f"format {CHECKPOINT_FORMAT} of this bxrd {bxrd.__version__}; retrain or use "
            f"bxrd {stamp.get('version')}"
        )
    return stamp


def axis_from_hparams(hparams: Any) -> Axis | None:
    """Return the model's 2θ axis from its hyper-parameters (None: already gridded input).

    Checkpoints store ``axis`` (:meth:`~bxrd.xrd.axis.Axis.to_dict`); those written before
    the axis object (among them the shipped ``default.ckpt`` and ``laplace.ckpt``) store a
    ``grid`` and a ``wavelength`` side by side, read here the same way.
    """
    axis = hparams.get("axis")
    if isinstance(axis, Axis):
        return axis
    if axis is not None:
        return Axis.from_dict(axis)
    grid = hparams.get("grid")
    if grid is None:
        return None
    if isinstance(grid, dict):
        grid = TwoThetaGrid(**grid)
    return Axis(grid, float(hparams.get("wavelength") or Axis().wavelength))


def save_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> Path:
    """Write a stamped checkpoint dict to ``path`` atomically (temporary file, then rename)."""
    check_stamp(checkpoint)
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return Path(path)


class _Trainer(Protocol):
    is_global_zero: bool
    strategy: Any

    def save_checkpoint(self, filepath: str | Path, weights_only: bool = False) -> None: ...


def save_trainer_checkpoint(trainer: _Trainer, path: str | Path, weights_only: bool = True) -> Path:
    """Save the trainer's model to ``path`` atomically; call it on every rank.

    Lightning gathers the checkpoint on all ranks and writes it on global rank zero; the
    temporary name is the same on every rank, and only rank zero renames it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.partial")
    trainer.save_checkpoint(tmp, weights_only=weights_only)
    if trainer.is_global_zero:
        os.replace(tmp, path)
    trainer.strategy.barrier("bxrd.save_trainer_checkpoint")
    return path
