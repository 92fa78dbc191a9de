"""Load any bxrd classifier checkpoint with one clear message when it cannot be used."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from bxrd.errors import BxrdInputError
from bxrd.uq.base import BaseClassifier


def load_classifier(path: str | Path, map_location: str = "cpu") -> BaseClassifier:
    """Rebuild the classifier saved in ``path`` (its class is read from the checkpoint).

    Raises:
        BxrdInputError: the file is missing, unreadable or truncated, was not written by
            bxrd, or has another checkpoint format; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise BxrdInputError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many types for corrupt files
        raise BxrdInputError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    stamp = checkpoint.get("bxrd") if isinstance(checkpoint, dict) else None
    if not stamp:
        raise BxrdInputError(f"{path}: not a bxrd checkpoint (no 'bxrd' stamp)")
    module_name, _, class_name = stamp["class"].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise BxrdInputError(f"{path}: unknown model class {stamp['class']}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseClassifier)):
        raise BxrdInputError(f"{path}: {stamp['class']} is not a bxrd classifier")
    try:
        return cls.load_from_checkpoint(path, map_location=map_location, weights_only=False)
    except BxrdInputError as exc:
        raise BxrdInputError(f"{path}: {exc}") from None
