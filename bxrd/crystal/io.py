"""Read structures from CIF / magnetic CIF / pymatgen JSON / CSV files, in batches that never crash.

Formats:

* CIF / mCIF (first block; magnetic moments dropped);
* pymatgen JSON: a ``Structure`` dict, or a Materials Project summary document holding one
  under the key ``structure`` (``shared/data/structures/binaries_mp``);
* CSV: one structure per row in a column named ``cif`` (CIF text); the row id is taken from a
  ``material_id`` or ``id`` column when present, else the row number (``perov5_dft``).

A folder may hold a ``manifest.csv`` with a ``file`` column (``mp_abx3``,
``hybrid_perovskites``, ``binaries_mp``): its row becomes the structure's provenance, with the
``synthesized`` flag (1 = experimentally reported, 0 = hypothetical) where the manifest has
one. Every structure's provenance also names its ``collection`` (the folder it came from) and
its ``file``.

A file larger than ``max_bytes`` or that takes longer than ``timeout_s`` to parse is skipped
and reported (a pathological CIF can take minutes in pymatgen's symmetry expansion). A batch
reader returns what it could read plus one message per file it could not, naming the file and
the problem; callers print the summary and go on.
"""

from __future__ import annotations

import csv
import json
import signal
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from bxrd.errors import StructureFileError
from bxrd.fileio import atomic_path, atomic_write_text, expand_files

#: File suffixes read as structures.
STRUCTURE_SUFFIXES: tuple[str, ...] = (".cif", ".mcif", ".json", ".csv")
#: Name of a folder's provenance table.
MANIFEST = "manifest.csv"
#: Largest structure file read, bytes (a CSV of many structures is exempt).
MAX_BYTES = 5_000_000
#: Longest parse of one structure, seconds (enforced in the main thread only).
TIMEOUT_S = 20.0


class _ParseTimeoutError(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_ParseTimeoutError` after ``seconds`` (SIGALRM; main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise _ParseTimeoutError

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _structure_dict(path: Path) -> dict:
    """Return the structure dict of a JSON file: the document or its ``structure`` key."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["structure"] if isinstance(doc, dict) and "structure" in doc else doc


def read_structure(
    path: str | Path, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
) -> Structure:
    """Read one structure file (first block of a CIF; magnetic moments are dropped).

    Raises:
        StructureFileError: the file is missing, empty, too large, too slow to parse,
            malformed or holds no structure.
    """
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in STRUCTURE_SUFFIXES or suffix == ".csv":
        raise StructureFileError(f"{path}: unknown structure format {suffix!r}")
    size = path.stat().st_size
    if size > max_bytes:
        raise StructureFileError(f"{path}: {size} bytes, over the {max_bytes}-byte limit; skipped")
    if suffix == ".json":
        return _parse(lambda: Structure.from_dict(_structure_dict(path)), path, timeout_s)
    return _parse(lambda: Structure.from_file(path), path, timeout_s)


def _parse(
    make: Callable[[], Structure], name: str | Path, timeout_s: float = TIMEOUT_S
) -> Structure:
    """Run a pymatgen reader; any failure becomes one :class:`StructureFileError`."""
    try:
        with warnings.catch_warnings(), _time_limit(timeout_s):
            warnings.simplefilter("ignore")
            structure = make()
    except _ParseTimeoutError:
        raise StructureFileError(f"{name}: parsing took over {timeout_s:g} s; skipped") from None
    except Exception as exc:  # pymatgen raises many types for malformed input
        msg = f"{name}: cannot read structure ({type(exc).__name__}: {exc})"
        raise StructureFileError(msg) from None
    if len(structure) == 0:
        raise StructureFileError(f"{name}: structure has no sites")
    for prop in ("magmom", "spin"):
        if prop in structure.site_properties:
            structure.remove_site_property(prop)
    return structure


def read_structure_table(
    path: str | Path, limit: int | None = None, seed: int = 0
) -> Iterator[tuple[str, Structure | StructureFileError]]:
    """Yield (row id, structure or the error of that row) from a CSV with a ``cif`` column.

    Args:
        path: the CSV file.
        limit: read only this many rows, drawn at random (seeded) in file order.
        seed: seed of that draw.

    Raises:
        StructureFileError: the file cannot be read as CSV or has no ``cif`` column.
    """
    path = Path(path)
    csv.field_size_limit(2**30)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StructureFileError(f"{path}: cannot read CSV ({exc})") from None
    if not rows or "cif" not in rows[0]:
        raise StructureFileError(f"{path}: CSV needs a 'cif' column")
    for i in _subset(len(rows), limit, seed):
        row = rows[i]
        rid = row.get("material_id") or row.get("id") or str(i)
        name = f"{path}[{rid}]"
        try:
            yield rid, _parse(lambda row=row: Structure.from_str(row["cif"], fmt="cif"), name)
        except StructureFileError as exc:
            yield rid, exc


def structure_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into structure file paths."""
    return expand_files(sources, STRUCTURE_SUFFIXES)


def _subset(n: int, limit: int | None, seed: int) -> list[int]:
    """Return indices 0..n-1, or ``limit`` of them drawn at random (seeded), sorted."""
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(np.random.default_rng(seed).choice(n, size=limit, replace=False).tolist())


def read_manifest(folder: str | Path) -> dict[str, dict[str, str]]:
    """Rows of ``folder/manifest.csv`` by file name (empty when the folder has none)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh) if row.get("file")}


@dataclass
class LoadReport:
    """Structures read by id (file stem, made unique), their provenance, and failures.

    Attributes:
        structures: id → structure.
        paths: id → file it was read from.
        meta: id → provenance: ``collection`` (folder name), ``file``, ``synthesized``
            (``"1"``, ``"0"`` or ``""`` when unknown) and the folder manifest's other columns.
        failures: (path, message) per file or row that could not be read.
    """

    structures: dict[str, Structure] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def add(
        self, stem: str, structure: Structure, path: Path, meta: dict[str, str] | None = None
    ) -> str:
        """Store ``structure`` under ``stem`` (``_2``, ``_3``... if taken); return the id."""
        key, n = stem, 1
        while key in self.structures:
            n += 1
            key = f"{stem}_{n}"
        self.structures[key] = structure
        self.paths[key] = path
        row = {"collection": path.parent.name, "file": path.name, "synthesized": ""}
        self.meta[key] = {**row, **{k: str(v) for k, v in (meta or {}).items()}}
        return key

    def summary(self) -> str:
        """One line, plus one line per failure."""
        lines = [f"read {len(self.structures)} structures, skipped {len(self.failures)}"]
        lines += [f"  skipped {msg}" for _, msg in self.failures]
        return "\n".join(lines)


def load_structures(
    sources: str | Path | Iterable[str | Path],
    synthesized: bool | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> LoadReport:
    """Read every structure file under ``sources``; bad files are reported, not raised.

    Args:
        sources: files and folders (recursively); a folder's ``manifest.csv`` is provenance,
            not a structure table.
        synthesized: keep only structures whose manifest flag says so (True: ``1``,
            False: ``0``); structures without a flag are then left out. None: all.
        limit: read at most this many structures per file list (CSV: per file), drawn at
            random (seeded) before parsing, so a 10,000-file folder costs ``limit`` reads.
        seed: seed of that draw.
    """
    report = LoadReport()
    manifests: dict[Path, dict[str, dict[str, str]]] = {}
    files = []
    for path in structure_files(sources):
        if path.name == MANIFEST:
            continue
        if path.parent not in manifests:
            manifests[path.parent] = read_manifest(path.parent)
        row = manifests[path.parent].get(path.name, {})
        if synthesized is not None and row.get("synthesized") != ("1" if synthesized else "0"):
            continue
        files.append((path, row))
    singles = [f for f in files if f[0].suffix.lower() != ".csv"]
    chosen = [singles[i] for i in _subset(len(singles), limit, seed)]
    chosen += [f for f in files if f[0].suffix.lower() == ".csv"]
    for path, row in sorted(chosen, key=lambda f: str(f[0])):
        try:
            if path.suffix.lower() == ".csv":
                for rid, item in read_structure_table(path, limit, seed):
                    if isinstance(item, StructureFileError):
                        report.failures.append((path, str(item)))
                    else:
                        report.add(f"{path.stem}_{rid}", item, path, {"row": rid})
            else:
                report.add(path.stem, read_structure(path), path, row)
        except StructureFileError as exc:
            report.failures.append((path, str(exc)))
    return report


def write_structures(items: Iterable[tuple[str, Structure, dict]], out_dir: str | Path) -> Path:
    """Write ``out_dir/cif/<id>.cif`` per structure and ``out_dir/manifest.jsonl``; atomic.

    Args:
        items: (id, structure, JSON-serialisable provenance row) per structure.
        out_dir: destination folder.

    Returns:
        the manifest path.
    """
    from pymatgen.io.cif import CifWriter

    out_dir = Path(out_dir)
    rows = []
    for sid, structure, row in items:
        with atomic_path(out_dir / "cif" / f"{sid}.cif") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pymatgen: non-unique site labels, harmless here
            CifWriter(structure).write_file(tmp)
        rows.append(json.dumps(row) + "\n")
    manifest = out_dir / "manifest.jsonl"
    atomic_write_text(manifest, "".join(rows))
    return manifest
