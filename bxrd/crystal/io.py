"""Read structures from CIF / magnetic CIF / pymatgen JSON / CSV files, in batches that never crash.

A CSV file holds one structure per row in a column named ``cif`` (CIF text); the row id is
taken from a ``material_id`` or ``id`` column when present, else the row number.

A batch reader returns what it could read plus one message per file it could not, naming the
file and the problem; callers print the summary and go on.
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pymatgen.core import Structure

from bxrd.errors import StructureFileError
from bxrd.fileio import atomic_path, atomic_write_text, expand_files

#: File suffixes read as structures.
STRUCTURE_SUFFIXES: tuple[str, ...] = (".cif", ".mcif", ".json", ".csv")


def read_structure(path: str | Path) -> Structure:
    """Read one structure file (first block of a CIF; magnetic moments are dropped).

    Raises:
        StructureFileError: the file is missing, empty, malformed or holds no structure.
    """
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in STRUCTURE_SUFFIXES or suffix == ".csv":
        raise StructureFileError(f"{path}: unknown structure format {suffix!r}")
    if suffix == ".json":
        return _parse(
            lambda: Structure.from_dict(json.loads(path.read_text(encoding="utf-8"))), path
        )
    return _parse(lambda: Structure.from_file(path), path)


def _parse(make: Callable[[], Structure], name: str | Path) -> Structure:
    """Run a pymatgen reader; any failure becomes one :class:`StructureFileError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = make()
    except Exception as exc:  # pymatgen raises many types for malformed input
        msg = f"{name}: cannot read structure ({type(exc).__name__}: {exc})"
        raise StructureFileError(msg) from None
    if len(structure) == 0:
        raise StructureFileError(f"{name}: structure has no sites")
    for prop in ("magmom", "spin"):
        if prop in structure.site_properties:
            structure.remove_site_property(prop)
    return structure


def read_structure_table(path: str | Path) -> Iterator[tuple[str, Structure | StructureFileError]]:
    """Yield (row id, structure or the error of that row) from a CSV with a ``cif`` column.

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
    for i, row in enumerate(rows):
        rid = row.get("material_id") or row.get("id") or str(i)
        name = f"{path}[{rid}]"
        try:
            yield rid, _parse(lambda row=row: Structure.from_str(row["cif"], fmt="cif"), name)
        except StructureFileError as exc:
            yield rid, exc


def structure_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into structure file paths."""
    return expand_files(sources, STRUCTURE_SUFFIXES)


@dataclass
class LoadReport:
    """Structures read by id (file stem, made unique) and failures as (path, message)."""

    structures: dict[str, Structure] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, stem: str, structure: Structure, path: Path) -> str:
        """Store ``structure`` under ``stem`` (``_2``, ``_3``... if taken); return the id."""
        key, n = stem, 1
        while key in self.structures:
            n += 1
            key = f"{stem}_{n}"
        self.structures[key] = structure
        self.paths[key] = path
        return key

    def summary(self) -> str:
        """One line, plus one line per failure."""
        lines = [f"read {len(self.structures)} structures, skipped {len(self.failures)}"]
        lines += [f"  skipped {msg}" for _, msg in self.failures]
        return "\n".join(lines)


def load_structures(sources: str | Path | Iterable[str | Path]) -> LoadReport:
    """Read every structure file under ``sources``; bad files are reported, not raised."""
    report = LoadReport()
    for path in structure_files(sources):
        try:
            if path.suffix.lower() == ".csv":
                for rid, item in read_structure_table(path):
                    if isinstance(item, StructureFileError):
                        report.failures.append((path, str(item)))
                    else:
                        report.add(f"{path.stem}_{rid}", item, path)
            else:
                report.add(path.stem, read_structure(path), path)
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
