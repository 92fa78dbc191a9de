"""One on-disk dataset format: an HDF5 file of patterns, labels, provenance and its recipe.

Layout (all written atomically; ``content_hash`` lets a reader detect any change)::

    /patterns            float32 (N, L)   intensities on the 2θ grid, max 1
    /two_theta           float64 (L,)     grid, degrees 2θ
    /labels/<task>       int64 (N,)       class index; attribute ``classes`` = JSON list
    /provenance/<field>  str (N,)         e.g. structure_id, formula, template_id, source
    attributes: wavelength (Å), config (JSON), content_hash (sha256), bxrd_version
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

import bxrd
from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_path


@dataclass
class PatternSet:
    """Patterns with labels and provenance, in memory.

    Attributes:
        patterns: shape (N, L), float32.
        two_theta: shape (L,), degrees 2θ.
        wavelength: Å.
        labels: task → class index per pattern, shape (N,).
        classes: task → class names (index order).
        provenance: field → one string per pattern.
        config: the recipe that made the set (JSON-serialisable).
    """

    patterns: np.ndarray
    two_theta: np.ndarray
    wavelength: float
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    provenance: dict[str, list[str]] = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.patterns)

    def content_hash(self) -> str:
        """sha256 over patterns, grid, labels and provenance (hex)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.patterns, dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(self.two_theta, dtype=np.float64).tobytes())
        for task in sorted(self.labels):
            h.update(task.encode())
            h.update(np.asarray(self.labels[task], dtype=np.int64).tobytes())
            h.update(json.dumps(self.classes[task]).encode())
        for key in sorted(self.provenance):
            h.update(key.encode())
            h.update("\n".join(self.provenance[key]).encode())
        return h.hexdigest()


def save_pattern_set(data: PatternSet, path: str | Path) -> str:
    """Write ``data`` to ``path`` (HDF5) atomically; returns the content hash."""
    digest = data.content_hash()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("patterns", data=data.patterns.astype(np.float32), compression="gzip")
        f.create_dataset("two_theta", data=data.two_theta.astype(np.float64))
        for task, codes in data.labels.items():
            ds = f.create_dataset(f"labels/{task}", data=np.asarray(codes, dtype=np.int64))
            ds.attrs["classes"] = json.dumps(data.classes[task])
        for key, values in data.provenance.items():
            f.create_dataset(
                f"provenance/{key}", data=np.array(values, dtype=object), dtype=h5py.string_dtype()
            )
        f.attrs.update(
            wavelength=data.wavelength,
            config=json.dumps(data.config),
            content_hash=digest,
            bxrd_version=bxrd.__version__,
        )
    return digest


def load_pattern_set(path: str | Path, verify: bool = True) -> PatternSet:
    """Read a dataset written by :func:`save_pattern_set`.

    Raises:
        BxrdInputError: the file is missing, not a bxrd dataset, or (``verify``) its content no
            longer matches the stored hash.
    """
    path = Path(path)
    if not path.is_file():
        raise BxrdInputError(f"{path}: no such dataset file")
    try:
        with h5py.File(path, "r") as f:
            data = PatternSet(
                patterns=f["patterns"][()],
                two_theta=f["two_theta"][()],
                wavelength=float(f.attrs["wavelength"]),
                labels={k: v[()] for k, v in f["labels"].items()},
                classes={k: json.loads(v.attrs["classes"]) for k, v in f["labels"].items()},
                provenance={k: [s.decode() for s in v[()]] for k, v in f["provenance"].items()},
                config=json.loads(f.attrs["config"]),
            )
            stored = str(f.attrs["content_hash"])
    except (OSError, KeyError) as exc:
        raise BxrdInputError(f"{path}: not a bxrd dataset ({exc})") from None
    if verify and data.content_hash() != stored:
        raise BxrdInputError(f"{path}: content hash mismatch, the file was modified or is corrupt")
    return data
