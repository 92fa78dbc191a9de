"""Answers written as they come: a JSON Lines log that survives a kill, and atomic arrays.

A run appends one line per answered (or skipped) file and flushes it, so an interrupted run
loses at most the line being written; :class:`AnswerLog` drops such a torn last line when it
is reopened to resume, and reports which files are already answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_write_text


def read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    """Answers of a JSON Lines file; a torn (unterminated) last line is ignored.

    Raises:
        BxrdInputError: a complete line is not an answer (an object with ``file`` and
            ``decision``); the message names the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    text = _text(path)
    complete = text[: text.rfind("\n") + 1]
    lines = [(i, line) for i, line in enumerate(complete.splitlines(), 1) if line.strip()]
    return [_checked(_parsed(line, f"{path}: line {i}"), f"{path}: line {i}") for i, line in lines]


def read_json_array(path: str | Path) -> list[dict[str, Any]]:
    """Answers of a JSON array written by :func:`write_json_array`.

    Raises:
        BxrdInputError: the file is not such an array (the message names it).
    """
    rows = _parsed(_text(Path(path)), str(path))
    if not isinstance(rows, list):
        raise BxrdInputError(f"{path}: not a JSON array of answers; move the file away")
    return [_checked(row, f"{path}: item {i}") for i, row in enumerate(rows, 1)]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BxrdInputError(
            f"{path}: not UTF-8 text, so not answers; move the file away"
        ) from None


def _parsed(text: str, where: str) -> Any:  # noqa: ANN401
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BxrdInputError(f"{where}: not JSON ({exc.msg}); move the file away") from None


def _checked(row: Any, where: str) -> dict[str, Any]:  # noqa: ANN401
    """``row`` if it is an answer (an object with ``file`` and ``decision``)."""
    if not (isinstance(row, dict) and {"file", "decision"} <= row.keys()):
        raise BxrdInputError(f"{where}: not an answer (no file / decision); move the file away")
    return row


def split_source(source: str) -> tuple[str, int]:
    """Return the file an answer's ``file`` names and its scan number.

    (``path``, k) for ``path#k``; (``source``, 0) for a file's only scan, or a file whose
    own name holds ``#``.
    """
    path, hash_, scan = source.rpartition("#")
    if hash_ and scan.isdigit() and not Path(source).is_file():
        return path, int(scan)
    return source, 0


def source_file(source: str) -> str:
    """Return the file an answer's ``file`` names: ``path`` for ``path#k`` (scan k)."""
    return split_source(source)[0]


def file_key(source: str | Path) -> str:
    """Return the key under which a file counts as answered: its resolved path.

    The same file given relative or absolute, in this run or an earlier one, has one key;
    the scans of a multi-scan file share their file's.
    """
    return str(Path(source_file(str(source))).resolve())


def row_key(row: dict[str, Any]) -> str:
    """Return the key of a logged answer: its ``path``, resolved by the run that wrote it.

    A log written before rows carried a ``path`` is keyed by its ``file``, resolved here.
    """
    path = row.get("path")
    return path if isinstance(path, str) else file_key(row["file"])


def _scan(row: dict[str, Any]) -> int:
    """Scan number k of a row of ``file#k``; 0 for a file's only row."""
    return split_source(row["file"])[1]


def _groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Consecutive rows of one file's answer: scans in rising order, at most ``scans``."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    last = 0  # scan number of the previous row
    for row in rows:
        key, k = row_key(row), _scan(row)
        if groups and groups[-1][0] == key and k > last > 0:
            group = groups[-1][1]
            scans = group[0].get("scans")
            if not isinstance(scans, int) or len(group) < scans:
                group.append(row)
                last = k
                continue
        groups.append((key, [row]))
        last = k
    return groups


def compact(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """One group of rows per file, and whether it is complete, from a log's rows.

    A file's rows are written together (a group: one row, or one per scan, each stating the
    file's ``scans``); a later group of a file replaces an earlier one unless it is cut
    short and the earlier one is not. A multi-scan group is complete when it holds its
    ``scans``; one from a log written before rows stated them counts as cut short (it is
    answered again once). Files keep the order of their first rows.
    """
    best: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    for key, group in _groups(rows):
        scans = group[0].get("scans")
        complete = not _scan(group[0]) or (isinstance(scans, int) and len(group) == scans)
        if key not in best or complete or not best[key][1]:
            best[key] = (group, complete)
    kept = [row for group, _ in best.values() for row in group]
    return kept, {key: complete for key, (_, complete) in best.items()}


class AnswerLog:
    """Append-only JSON Lines log of answers, a file's rows written together.

    Attributes:
        decisions: :func:`row_key` → decision of every file in the log (only these stay in
            memory; a multi-scan file's last scan's).

    Args:
        path: the log file.
        resume: keep the answers already in it (:func:`compact`: a torn last line cut off,
            each file's best group); otherwise start it empty. :meth:`done` leaves out what
            a new run should redo: skipped files (an option of this run may read them) and
            a multi-scan file cut short. Their rows stay until new ones replace them
            (:meth:`close` compacts the log again), so a failed retry loses nothing.
    """

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = None
        self._start(read_json_lines(self.path) if resume else [])

    def _start(self, rows: list[dict[str, Any]]) -> None:
        if self._fh is not None:
            self._fh.close()
        self._rewrite(rows)
        self._fh = self.path.open("a", encoding="utf-8")

    def _rewrite(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows, self._complete = compact(rows)
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
        self.decisions = {row_key(r): r["decision"] for r in rows}
        return rows

    def seed(self, rows: list[dict[str, Any]]) -> None:
        """Start from the answers of an earlier complete run (resuming from its array)."""
        self._start(rows)

    def done(self) -> set[str]:
        """Return the :func:`file_key` of every file answered in full in the log."""
        return {k for k, d in self.decisions.items() if d != "skipped" and self._complete[k]}

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append the rows of one file in one write, and flush them.

        One row, or one per scan (each then states ``scans``), each with the file's
        resolved ``path``.
        """
        assert self._fh is not None and rows
        key = file_key(rows[0]["file"])
        scans = {"scans": len(rows)} if _scan(rows[0]) else {}
        self._fh.write("".join(json.dumps({**r, "path": key, **scans}) + "\n" for r in rows))
        self._fh.flush()
        self.decisions[key] = rows[-1]["decision"]
        self._complete[key] = True

    def close(self) -> list[dict[str, Any]]:
        """Close the file, keeping each file's best group (:func:`compact`).

        Returns:
            The rows kept (none when it was closed before).
        """
        if self._fh is None:
            return []
        self._fh.close()
        self._fh = None
        return self._rewrite(read_json_lines(self.path))


def write_json_array(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as one JSON array, atomically."""
    atomic_write_text(path, json.dumps(rows, indent=1) + "\n")
