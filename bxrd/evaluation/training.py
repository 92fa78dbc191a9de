"""Train a model exactly as ``bxrd fit`` does, from an experiment YAML, and keep its stream.

:func:`fit_experiment` runs the LightningCLI entry of ``bxrd fit`` on the YAML (model, data
and trainer parts, post-hoc step, feature density, ``final.ckpt``) with command-line
overrides only: the dataset path, seed, epochs and epoch length of the suite, no logger and
no plotting callbacks, and one :class:`StreamRecorder` callback that keeps every training
batch the network saw. The classical baselines are then fitted on exactly those patterns
(same stream, same count).

A fit is kept on disk, not in memory (:class:`Fitted`): its folder holds ``final.ckpt``, the
stream and ``fit.json``. A suite rerun reuses a finished fit whose ``fit.json`` matches its
arguments, experiment YAMLs, dataset and bxrd's sources (:func:`finished_fit`), so a
stopped suite resumes and a code change retrains.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import yaml

from bxrd.fileio import atomic_path, atomic_write_text
from bxrd.inference.loading import load_classifier
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


#: Files a finished fit leaves in its folder besides ``checkpoints/final.ckpt``.
RECORD, STREAM = "fit.json", "stream.npz"


@dataclass(frozen=True)
class Fitted:
    """A finished fit of :func:`fit_experiment`, kept on disk, not in memory.

    The suite holds no trainer, data module or stream between uses (a suite of many fits
    stays at one fit's memory); the model and the stream are read from the fit's folder
    when asked for.

    Attributes:
        folder: the fit's folder (``checkpoints/final.ckpt``, ``stream.npz``, ``fit.json``).
        task: the data module's task (``space_group``, ...).
        final_refit: the model also trained on the test split.
        eval_clean_only: the data module scores only unaugmented test patterns.
        library: structure ids the model could train on (search-match's library).
        n_stream: patterns seen in training.
    """

    folder: Path
    task: str
    final_refit: bool
    eval_clean_only: bool
    library: tuple[str, ...]
    n_stream: int

    @property
    def checkpoint(self) -> Path:
        """``final.ckpt`` written by the fit."""
        return self.folder / "checkpoints" / "final.ckpt"

    def model(self) -> BaseClassifier:
        """Read the classifier (after its post-hoc step) from ``final.ckpt``."""
        return load_classifier(self.checkpoint)

    def stream(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pattern seen in training, in order: (N, L) float32 and labels (N,) int64."""
        with np.load(self.folder / STREAM) as f:
            return f["x"].astype(np.float32), f["y"]


def library_structures(dm: Any) -> tuple[str, ...]:
    """Structure ids of the clean patterns a data module's model could train on.

    Every structure in its training pools (``train_sources``, less ``exclude_origins``),
    the SYN partners included when it trains on ``syn``: search-match sees the same
    structures as the network.
    """
    ids, _, pools, partners = dm.training_pools()
    used = [*pools.values(), *([partners] if "syn" in dm.train_sources else [])]
    rows = np.unique(np.concatenate(used).astype(np.int64))
    return tuple(np.asarray(ids)[rows].tolist())


def config_digest(path: str | Path) -> str:
    """sha256 of an experiment YAML and every YAML it names (``model: ../model/x.yaml``).

    Referenced files are followed recursively, relative to the file that names them, so an
    edit to a composed part changes the digest.
    """
    h = hashlib.sha256()
    seen: set[Path] = set()

    def visit(p: Path) -> None:
        p = p.resolve()
        if p in seen:
            return
        seen.add(p)
        text = p.read_bytes()
        h.update(p.name.encode() + b"\0" + text)
        for value in _strings(yaml.safe_load(text)):
            if value.endswith((".yaml", ".yml")) and (p.parent / value).is_file():
                visit(p.parent / value)

    visit(Path(path))
    return h.hexdigest()


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def fit_argv(config: str | Path, out_dir: str | Path, seed: int, overrides: list[str]) -> list[str]:
    """Return the ``bxrd fit`` arguments of a suite fit (see :func:`fit_experiment`)."""
    recorder = {"class_path": f"{__name__}.StreamRecorder"}
    return [
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


def fit_experiment(
    config: str | Path,
    out_dir: str | Path,
    seed: int,
    overrides: list[str],
    fingerprint: dict[str, str] | None = None,
) -> Fitted:
    """Run ``bxrd fit --config CONFIG`` with the suite's overrides; keep the fit on disk.

    Writes the training stream (``stream.npz``, float16) and, last, ``fit.json``: the
    arguments, the digest of the experiment YAMLs (:func:`config_digest`), ``fingerprint``
    (e.g. the dataset's hash) and what :class:`Fitted` holds. Its presence marks the fit
    finished (:func:`finished_fit`).

    Args:
        config: experiment YAML (``configs/experiments/*.yaml``).
        out_dir: folder of this fit (``final.ckpt`` lands in ``out_dir/checkpoints``).
        seed: ``seed_everything`` and the data module's seed.
        overrides: more ``--key=value`` arguments (dataset, epochs, epoch length).
        fingerprint: more facts a reused fit must match.
    """
    out_dir = Path(out_dir)
    argv = fit_argv(config, out_dir, seed, overrides)
    for stale in (RECORD, STREAM):  # a fit stopped midway must not pass for the old one
        (out_dir / stale).unlink(missing_ok=True)
    # LightningCLI warns when sys.argv holds arguments besides ``args``: show it only ours
    saved, sys.argv = sys.argv, sys.argv[:1]
    try:
        cli = run_lightning(argv)
    finally:
        sys.argv = saved
    rec = next(c for c in cli.trainer.callbacks if isinstance(c, StreamRecorder))
    x, y = rec.stream()
    dm = cli.datamodule
    with atomic_path(out_dir / STREAM) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, x=x.astype(np.float16), y=y)
    fitted = Fitted(
        out_dir,
        dm.task,
        bool(dm.final_refit),
        bool(dm.eval_clean_only),
        library_structures(dm),
        len(y),
    )
    record = {
        "key": _key(config, argv, fingerprint),
        **{k: getattr(fitted, k) for k in ("task", "final_refit", "eval_clean_only", "n_stream")},
        "library": list(fitted.library),
    }
    atomic_write_text(out_dir / RECORD, json.dumps(record))
    return fitted


def finished_fit(
    config: str | Path,
    out_dir: str | Path,
    seed: int,
    overrides: list[str],
    fingerprint: dict[str, str] | None = None,
) -> Fitted | None:
    """Return the fit in ``out_dir`` if it finished with these arguments, YAMLs, fingerprint.

    None when it is missing, unfinished (no ``fit.json``), or trained otherwise.
    """
    out_dir = Path(out_dir)
    path = out_dir / RECORD
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    argv = fit_argv(config, out_dir, seed, overrides)
    if record.get("key") != _key(config, argv, fingerprint):
        return None
    fitted = Fitted(
        out_dir,
        record["task"],
        record["final_refit"],
        record["eval_clean_only"],
        tuple(record["library"]),
        record["n_stream"],
    )
    return fitted if fitted.checkpoint.is_file() and (out_dir / STREAM).is_file() else None


@functools.cache
def source_digest() -> str:
    """sha256 of bxrd's Python sources: a fit trained by other code is not reused.

    Read once per process (the first fit): the code a long suite runs is the code it
    imported, even if the files are edited while it runs.
    """
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _key(config: str | Path, argv: list[str], fingerprint: dict[str, str] | None) -> dict:
    return {
        "argv": argv,
        "configs_sha256": config_digest(config),
        "source_sha256": source_digest(),
        **(fingerprint or {}),
    }
