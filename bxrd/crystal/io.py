"""Read structures from CIF / magnetic CIF / pymatgen JSON files, in batches that never crash.

A batch reader returns what it could read plus one message per file it could not, naming the
file and the problem; callers print the summary and go on.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pymatgen.core import Structure

from bxrd.errors import StructureFileError

#: File suffixes read as structures.
STRUCTURE_SUFFIXES: tuple[str, ...] = (".cif", ".mcif", ".json")


def read_structure(path: str | Path) -> Structure:
    """Read one structure file (first block of a CIF; magnetic moments are dropped).

    Raises:
        StructureFileError: the file is missing, empty, malformed or holds no structure.
    """
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in STRUCTURE_SUFFIXES:
        raise StructureFileError(f"{path}: unknown structure format {suffix!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix == ".json":
                structure = Structure.from_dict(json.loads(path.read_text(encoding="utf-8")))
            else:
                structure = Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many types for malformed input
        msg = f"{path}: cannot read structure ({type(exc).__name__}: {exc})"
        raise StructureFileError(msg) from None
    if len(structure) == 0:
        raise StructureFileError(f"{path}: structure has no sites")
    for prop in ("magmom", "spin"):
        if prop in structure.site_properties:
            structure.remove_site_property(prop)
    return structure


def structure_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into structure file paths."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files += sorted(p for p in source.rglob("*") if p.suffix.lower() in STRUCTURE_SUFFIXES)
        else:
            files.append(source)
    return files


@dataclass
class LoadReport:
    """Structures read by id (file stem, made unique) and failures as (path, message)."""

    structures: dict[str, Structure] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    failures: list[tuple[Path, str]] = field(default_factory=list)

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
            structure = read_structure(path)
        except StructureFileError as exc:
            report.failures.append((path, str(exc)))
            continue
        key, n = path.stem, 1
        while key in report.structures:
            n += 1
            key = f"{path.stem}_{n}"
        report.structures[key] = structure
        report.paths[key] = path
    return report
