"""One on-disk dataset format: an HDF5 file of patterns, labels, provenance and its recipe.

Layout (all written atomically; ``content_hash`` lets a reader detect any change)::

    /patterns            float32 (N, L)   intensities on the 2θ grid, max 1
    /two_theta           float64 (L,)     grid, degrees 2θ
    /labels/<task>       int64 (N,)       class index; attribute ``classes`` = JSON list
    /provenance/<field>  str (N,)         e.g. structure_id, formula, template_id, source, split
    /sticks/ids          str (S,)         structure ids with cached sticks (for on-the-fly
    /sticks/count        int (S,)         augmentation); arrays padded to P sticks:
    /sticks/<array>      (S, P[, 3])      two_theta, intensity, hkl, d, multiplicity;
    /sticks/lattice      (S, 3, 3)        direct lattice rows, Å
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
from bxrd.xrd.sticks import StickPattern


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
        sticks: structure id → its stick pattern (source of on-the-fly augmentation).
    """

    patterns: np.ndarray
    two_theta: np.ndarray
    wavelength: float
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    provenance: dict[str, list[str]] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    sticks: dict[str, StickPattern] = field(default_factory=dict)

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
        for name, arr in sorted(pack_sticks(self.sticks).items()):
            h.update(name.encode())
            h.update(arr.tobytes() if arr.dtype != object else "\n".join(arr).encode())
        return h.hexdigest()


_STICK_ARRAYS = ("two_theta", "intensity", "d", "multiplicity")


def pack_sticks(sticks: dict[str, StickPattern]) -> dict[str, np.ndarray]:
    """Pad stick patterns into arrays (see module docstring); empty dict for no sticks."""
    if not sticks:
        return {}
    ids = sorted(sticks)
    s, p = len(ids), max(len(sticks[i]) for i in ids)
    out = {name: np.zeros((s, p)) for name in _STICK_ARRAYS}
    out["hkl"] = np.zeros((s, p, 3), dtype=np.int32)
    out["lattice"] = np.stack([sticks[i].lattice for i in ids]).astype(np.float64)
    out["count"] = np.array([len(sticks[i]) for i in ids], dtype=np.int64)
    for k, sid in enumerate(ids):
        n = len(sticks[sid])
        for name in (*_STICK_ARRAYS, "hkl"):
            out[name][k, :n] = getattr(sticks[sid], name)
    out["ids"] = np.array(ids, dtype=object)
    return out


def unpack_sticks(arrays: dict[str, np.ndarray], wavelength: float) -> dict[str, StickPattern]:
    """Inverse of :func:`pack_sticks`."""
    if not arrays:
        return {}
    sticks = {}
    for k, sid in enumerate(arrays["ids"]):
        n = int(arrays["count"][k])
        sticks[sid] = StickPattern(
            **{name: arrays[name][k, :n] for name in (*_STICK_ARRAYS, "hkl")},
            lattice=arrays["lattice"][k],
            wavelength=wavelength,
            meta={"id": sid},
        )
    return sticks


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
        for name, arr in pack_sticks(data.sticks).items():
            kwargs = {"dtype": h5py.string_dtype()} if arr.dtype == object else {}
            f.create_dataset(f"sticks/{name}", data=arr, compression="gzip", **kwargs)
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
            if "sticks" in f:
                arrays = {k: v[()] for k, v in f["sticks"].items()}
                arrays["ids"] = np.array([s.decode() for s in arrays["ids"]], dtype=object)
                data.sticks = unpack_sticks(arrays, data.wavelength)
            stored = str(f.attrs["content_hash"])
    except (OSError, KeyError) as exc:
        raise BxrdInputError(f"{path}: not a bxrd dataset ({exc})") from None
    if verify and data.content_hash() != stored:
        raise BxrdInputError(f"{path}: content hash mismatch, the file was modified or is corrupt")
    return data
