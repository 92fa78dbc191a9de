"""Atomic file writes: an interrupted job never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    The temporary file lives in the same folder (same file system), so the final
    ``os.replace`` is atomic. On any exception the temporary file is removed.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:  # name the file the caller asked for, not the temporary one
        if exc.filename in (str(tmp), tmp):
            raise OSError(exc.errno, exc.strerror, str(final)) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def expand_files(
    sources: str | Path | Iterable[str | Path], suffixes: tuple[str, ...]
) -> list[Path]:
    """Expand files and folders into file paths.

    Folders are searched recursively for files whose suffix (case-insensitive) is one of
    ``suffixes``, in sorted order; files given directly are kept whatever their suffix, so
    the reader can name the problem. A file reached twice (given twice, or also inside a
    given folder) is kept once, where it first appears.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files += sorted(p for p in source.rglob("*") if p.suffix.lower() in suffixes)
        else:
            files.append(source)
    unique: dict[Path, Path] = {}
    for f in files:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())
