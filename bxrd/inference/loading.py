"""Load any bxrd checkpoint with one clear message when it cannot be used.

:func:`load_predictor` is the inference entry point: MC-dropout checkpoints come back as a
torch-only :class:`~bxrd.inference.dropout_predictor.DropoutPredictor` (no Lightning
import), every other method as its LightningModule. :func:`load_classifier` always returns
the LightningModule.
"""

from __future__ import annotations

import importlib
import io
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import torch

from bxrd.errors import BxrdInputError
from bxrd.uq.checkpoint_format import check_stamp
from bxrd.uq.conformal import ConformalSets
from bxrd.uq.ensemble import ENSEMBLE_CLASS, NOT_ONE_MODEL, DeepEnsemble
from bxrd.uq.methods import UQMethod

if TYPE_CHECKING:
    from bxrd.uq.base import BaseClassifier
    from bxrd.uq.predictive_interface import Classifier


def shipped(name: str) -> Path:
    """Path of a file shipped in the package's ``bxrd/checkpoints/`` (models, example, card).

    Found through :mod:`importlib.resources`, so it works from a checkout, an editable
    install and a wheel alike.
    """
    return Path(str(files("bxrd") / "checkpoints" / name))


def checkpoint_path(path: str | Path) -> Path:
    """``path``, or the shipped checkpoint it names (``default``, ``laplace``, ``ensemble``).

    A bare name without a suffix that is no file here (a folder of that name does not count)
    is looked up among the shipped
    checkpoints (``bxrd predict FILE --checkpoint laplace``); anything else is ``path``.
    """
    path = Path(path)
    if path.is_file() or path.suffix or len(path.parts) != 1:
        return path
    named = shipped(f"{path}.ckpt")
    return named if named.is_file() else path


def shipped_names() -> list[str]:
    """Names of the shipped checkpoints (stems of ``bxrd/checkpoints/*.ckpt``)."""
    return sorted(p.stem for p in shipped("default.ckpt").parent.glob("*.ckpt"))


def read_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a checkpoint file with torch's weights-only loader and check its bxrd stamp.

    Raises:
        BxrdInputError: the file is missing, unreadable or truncated, was not written by
            bxrd, or has another checkpoint format; the message names the file.
    """
    path = checkpoint_path(path)
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*.ckpt"))[:5]
        hint = f"; it holds {', '.join(found)}" if found else "; it holds no .ckpt file"
        raise BxrdInputError(f"{path} is a folder, not a checkpoint file{hint}")
    if not path.is_file():
        raise BxrdInputError(
            f"{path}: no such checkpoint (shipped ones, by name: {', '.join(shipped_names())})"
        )
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise BxrdInputError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    try:
        check_stamp(checkpoint)
    except BxrdInputError as exc:
        raise BxrdInputError(f"{path}: {exc}") from None
    return checkpoint


def load_classifier(path: str | Path, map_location: str = "cpu") -> BaseClassifier:
    """Rebuild the LightningModule saved in ``path`` (its class read from the stamp), in eval mode.

    Eval mode: dropout off, batch-norm statistics fixed.

    Raises:
        BxrdInputError: see :func:`read_checkpoint`; also an unknown or non-bxrd class, or
            an ensemble file (it holds several models: use :func:`load_predictor`).
    """
    path = checkpoint_path(path)
    stamp = read_checkpoint(path, map_location)["bxrd"]
    if stamp["class"] == ENSEMBLE_CLASS:
        raise BxrdInputError(f"{path} {NOT_ONE_MODEL}")
    return _lightning_module(path, stamp, map_location)


def _lightning_module(
    path: str | Path | BinaryIO, stamp: dict, map_location: str, name: str | Path = ""
) -> BaseClassifier:
    """Import the class named by ``stamp`` and let Lightning rebuild it from ``path``."""
    from bxrd.uq.base import BaseClassifier

    name = name or path
    module_name, _, class_name = stamp["class"].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise BxrdInputError(f"{name}: unknown model class {stamp['class']}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseClassifier)):
        raise BxrdInputError(f"{name}: {stamp['class']} is not a bxrd classifier")
    return cls.load_from_checkpoint(path, map_location=map_location, weights_only=True).eval()


def load_predictor(path: str | Path, map_location: str = "cpu") -> Classifier:
    """Load the predictive model in ``path`` the cheapest way its method allows.

    An ensemble file (:func:`~bxrd.uq.ensemble.ensemble_checkpoint`) comes back as a
    :class:`~bxrd.uq.ensemble.DeepEnsemble` of its members, each loaded the same way.
    """
    path = checkpoint_path(path)
    checkpoint = read_checkpoint(path, map_location)
    if checkpoint["bxrd"]["class"] != ENSEMBLE_CLASS:
        return _predictor(checkpoint, path, map_location, from_file=True)
    return ensemble_of(checkpoint, path, map_location)


def ensemble_of(
    checkpoint: dict[str, Any], path: str | Path, map_location: str = "cpu"
) -> DeepEnsemble:
    """Build the :class:`~bxrd.uq.ensemble.DeepEnsemble` of an ensemble file's dict.

    Raises:
        BxrdInputError: naming ``path`` and the member: a member without a stamp or that
            does not load, fewer than two members, or members that do not fit together.
    """
    members: list[Classifier] = []
    for i, member in enumerate(checkpoint.get("members") or []):
        try:
            check_stamp(member)
            members.append(_predictor(member, f"{path} (member {i})", map_location))
        except BxrdInputError as exc:
            raise BxrdInputError(f"{path}: member {i}: {exc}") from None
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise BxrdInputError(
                f"{path}: member {i} does not load ({type(exc).__name__}: {exc})"
            ) from None
    if len(members) < 2:
        raise BxrdInputError(f"{path}: an ensemble file with {len(members)} member(s)")
    try:
        return DeepEnsemble(members, ConformalSets.from_checkpoint(checkpoint))
    except ValueError as exc:
        raise BxrdInputError(f"{path}: {exc}") from None


def _predictor(
    checkpoint: dict[str, Any], path: str | Path, map_location: str, from_file: bool = False
) -> Classifier:
    """One model from its loaded ``checkpoint`` dict, named ``path`` in messages.

    ``from_file``: the dict is the whole file ``path`` (Lightning re-reads it from there);
    otherwise, an ensemble's member, it is handed to Lightning as an in-memory buffer.
    """
    method = UQMethod.of_class_path(checkpoint["bxrd"]["class"])
    if method is not None and method.torch_only:
        from bxrd.inference.dropout_predictor import DropoutPredictor

        return DropoutPredictor.from_checkpoint(checkpoint).to(map_location)
    if from_file:
        return _lightning_module(path, checkpoint["bxrd"], map_location)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return _lightning_module(buffer, checkpoint["bxrd"], map_location, name=path)
