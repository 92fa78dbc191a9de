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
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
        h = hashlib.sha256(np.ascontiguousarray(self.patterns, dtype=np.float32).tobytes())
        _hash_rest(h, self.two_theta, self.labels, self.classes, self.provenance)
        _hash_sticks(h, pack_sticks(self.sticks))
        return h.hexdigest()


def _hash_rest(
    h: hashlib._Hash,
    two_theta: np.ndarray,
    labels: dict[str, np.ndarray],
    classes: dict[str, list[str]],
    provenance: dict[str, list[str]],
) -> None:
    """Feed everything after the patterns (grid, labels, provenance) into ``h``."""
    h.update(np.ascontiguousarray(two_theta, dtype=np.float64).tobytes())
    for task in sorted(labels):
        h.update(task.encode())
        h.update(np.asarray(labels[task], dtype=np.int64).tobytes())
        h.update(json.dumps(classes[task]).encode())
    for key in sorted(provenance):
        h.update(key.encode())
        h.update("\n".join(provenance[key]).encode())


def _hash_sticks(h: hashlib._Hash, packed: dict[str, np.ndarray]) -> None:
    for name, arr in sorted(packed.items()):
        h.update(name.encode())
        h.update(arr.tobytes() if arr.dtype != object else "\n".join(arr).encode())


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


#: Rows per HDF5 chunk of ``/patterns``: a batch read decompresses only the chunks it touches.
CHUNK_ROWS = 16


def save_pattern_set(data: PatternSet, path: str | Path) -> str:
    """Write ``data`` to ``path`` (HDF5) atomically; returns the content hash.

    Patterns are stored in gzip chunks of :data:`CHUNK_ROWS` rows, so a reader can fetch a
    batch without decompressing the whole array (:class:`PatternStore`).
    """
    head = PatternSet(
        np.zeros((0, data.patterns.shape[1]), dtype=np.float32),
        data.two_theta,
        data.wavelength,
        data.labels,
        data.classes,
        data.provenance,
        data.config,
        data.sticks,
    )
    return save_pattern_chunks(head, [data.patterns], path)


def save_pattern_chunks(head: PatternSet, chunks: Iterable[np.ndarray], path: str | Path) -> str:
    """Write a dataset whose patterns arrive in row blocks, in bounded memory; returns the hash.

    Args:
        head: everything but the patterns (its ``patterns`` are ignored; labels and
            provenance cover all rows).
        chunks: pattern blocks (n_i, L) in row order; together as many rows as the labels.
        path: the HDF5 file, written atomically.

    The hash equals :meth:`PatternSet.content_hash` of the whole set.
    """
    n = len(next(iter(head.labels.values()))) if head.labels else 0
    length = len(head.two_theta)
    h = hashlib.sha256()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        ds = f.create_dataset(
            "patterns",
            shape=(n, length),
            dtype=np.float32,
            chunks=(max(1, min(n, CHUNK_ROWS)), length) if n else None,
            compression="gzip",
        )
        row = 0
        for block in chunks:
            block = np.ascontiguousarray(block, dtype=np.float32)
            ds[row : row + len(block)] = block
            h.update(block.tobytes())
            row += len(block)
        if row != n:
            raise ValueError(f"{row} pattern rows for {n} labelled rows")
        _hash_rest(h, head.two_theta, head.labels, head.classes, head.provenance)
        packed = pack_sticks(head.sticks)
        _hash_sticks(h, packed)
        f.create_dataset("two_theta", data=np.asarray(head.two_theta, dtype=np.float64))
        for task, codes in head.labels.items():
            labels = f.create_dataset(f"labels/{task}", data=np.asarray(codes, dtype=np.int64))
            labels.attrs["classes"] = json.dumps(head.classes[task])
        for key, values in head.provenance.items():
            f.create_dataset(
                f"provenance/{key}", data=np.array(values, dtype=object), dtype=h5py.string_dtype()
            )
        for name, arr in packed.items():
            kwargs = {"dtype": h5py.string_dtype()} if arr.dtype == object else {}
            f.create_dataset(f"sticks/{name}", data=arr, compression="gzip", **kwargs)
        digest = h.hexdigest()
        f.attrs.update(
            wavelength=head.wavelength,
            config=json.dumps(head.config),
            content_hash=digest,
            bxrd_version=bxrd.__version__,
        )
    return digest


class PatternStore:
    """Read-only, lazy view of a dataset file written by :func:`save_pattern_set`.

    Opening reads only attributes, the grid and the class names (what a model needs to be
    built); labels, provenance and sticks are read on request, patterns by rows
    (:meth:`patterns`), so memory does not grow with the number of stored patterns. The HDF5
    handle is opened per process, so a store can be handed to DataLoader workers.

    Attributes:
        path: the file.
        n_patterns: number of stored patterns N.
        two_theta: grid, degrees 2θ, shape (L,).
        wavelength: Å.
        classes: task → class names (index order).
        config: the recipe that made the set.
        stored_hash: content hash written with the file.

    Raises:
        BxrdInputError: the file is missing or not a bxrd dataset.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BxrdInputError(f"{self.path}: no such dataset file")
        self._file: h5py.File | None = None
        self._pid = -1
        with self._read():
            f = self._h5()
            self.n_patterns, self.length = (int(x) for x in f["patterns"].shape)
            self.two_theta = f["two_theta"][()]
            self.wavelength = float(f.attrs["wavelength"])
            self.classes = {k: json.loads(v.attrs["classes"]) for k, v in f["labels"].items()}
            self.config = json.loads(f.attrs["config"])
            self.stored_hash = str(f.attrs["content_hash"])

    def __len__(self) -> int:
        return self.n_patterns

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_file": None, "_pid": -1}

    @contextmanager
    def _read(self) -> Iterator[None]:
        """Turn HDF5 errors into one message naming the file."""
        try:
            yield
        except (OSError, KeyError) as exc:
            raise BxrdInputError(f"{self.path}: not a bxrd dataset ({exc})") from None

    def _h5(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r", rdcc_nbytes=32 * 2**20)
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        """Close this process's handle (reopened on the next read)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file, self._pid = None, -1

    def patterns(self, rows: np.ndarray | slice) -> np.ndarray:
        """Patterns of ``rows`` (any order, repeats allowed), shape (len(rows), L), float32."""
        with self._read():
            ds = self._h5()["patterns"]
            if isinstance(rows, slice):
                return ds[rows]
            rows = np.asarray(rows, dtype=np.int64)
            if rows.size == 0:
                return np.zeros((0, self.length), dtype=np.float32)
            unique, inverse = np.unique(rows, return_inverse=True)
            return ds[unique][inverse]  # h5py wants increasing indices

    def labels(self, task: str) -> np.ndarray:
        """Class index of every pattern for ``task``, shape (N,).

        Raises:
            BxrdInputError: the file has no labels for ``task``.
        """
        if task not in self.classes:
            raise BxrdInputError(f"{self.path}: no labels for task {task!r}")
        with self._read():
            return self._h5()[f"labels/{task}"][()]

    def provenance(self, key: str) -> np.ndarray:
        """One provenance field, one string per pattern, shape (N,)."""
        with self._read():
            return self._h5()[f"provenance/{key}"].asstr()[()].astype(str)

    def provenance_keys(self) -> list[str]:
        """Names of the provenance fields."""
        with self._read():
            return sorted(self._h5()["provenance"])

    def packed_sticks(self) -> dict[str, np.ndarray]:
        """Return the stick arrays as stored (see :func:`pack_sticks`); {} without sticks."""
        with self._read():
            f = self._h5()
            if "sticks" not in f:
                return {}
            arrays = {k: v[()] for k, v in f["sticks"].items()}
        arrays["ids"] = np.array([s.decode() for s in arrays["ids"]], dtype=object)
        return arrays

    def sticks(self) -> dict[str, StickPattern]:
        """Structure id → its stick pattern."""
        return unpack_sticks(self.packed_sticks(), self.wavelength)

    def content_hash(self, chunk_rows: int = 1024) -> str:
        """Recompute the content hash from the file, reading ``chunk_rows`` patterns at a time.

        Equal to :meth:`PatternSet.content_hash` of the loaded set, in bounded memory.
        """
        h = hashlib.sha256()
        for start in range(0, self.n_patterns, chunk_rows):
            chunk = self.patterns(slice(start, start + chunk_rows))
            h.update(np.ascontiguousarray(chunk, dtype=np.float32).tobytes())
        labels = {task: self.labels(task) for task in self.classes}
        provenance = {k: self.provenance(k).tolist() for k in self.provenance_keys()}
        _hash_rest(h, self.two_theta, labels, self.classes, provenance)
        _hash_sticks(h, self.packed_sticks())
        return h.hexdigest()

    def verify(self) -> None:
        """Check the file against its stored hash.

        Raises:
            BxrdInputError: the content no longer matches (modified or corrupt file).
        """
        if self.content_hash() != self.stored_hash:
            raise BxrdInputError(
                f"{self.path}: content hash mismatch, the file was modified or is corrupt"
            )

    def load(self) -> PatternSet:
        """Everything in memory (small sets, tests, tools)."""
        return PatternSet(
            patterns=self.patterns(slice(None)),
            two_theta=self.two_theta,
            wavelength=self.wavelength,
            labels={task: self.labels(task) for task in self.classes},
            classes=self.classes,
            provenance={k: self.provenance(k).tolist() for k in self.provenance_keys()},
            config=self.config,
            sticks=self.sticks(),
        )


def load_pattern_set(path: str | Path, verify: bool = True) -> PatternSet:
    """Read a whole dataset written by :func:`save_pattern_set` into memory.

    Raises:
        BxrdInputError: the file is missing, not a bxrd dataset, or (``verify``) its content no
            longer matches the stored hash.
    """
    store = PatternStore(path)
    try:
        data = store.load()
    finally:
        store.close()
    if verify and data.content_hash() != store.stored_hash:
        raise BxrdInputError(f"{path}: content hash mismatch, the file was modified or is corrupt")
    return data
