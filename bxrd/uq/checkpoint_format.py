"""The stamp every bxrd checkpoint carries (format, version, class), checked before loading.

Torch only: the fast inference path reads checkpoints without importing Lightning.
"""

from __future__ import annotations

from typing import Any

import torch

import bxrd
from bxrd.errors import BxrdInputError
from bxrd.models.vgg1d import VGG1DConfig
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
