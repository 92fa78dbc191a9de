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


def source_file(source: str) -> str:
    """Return the file an answer's ``file`` names: ``path`` for ``path#k`` (scan k)."""
    path, hash_, scan = source.rpartition("#")
    return path if hash_ and scan.isdigit() and not Path(source).is_file() else source


def file_key(source: str | Path) -> str:
    """Return the key under which a file counts as answered: its resolved path.

    The same file given relative or absolute, in this run or an earlier one, has one key;
    the scans of a multi-scan file share their file's.
    """
    return str(Path(source_file(str(source))).resolve())


class AnswerLog:
    """Append-only JSON Lines log of answers.

    Attributes:
        decisions: file → decision of every answer in the log (only these stay in memory).

    Args:
        path: the log file.
        resume: keep the answers already in it, except what a new run must redo: a torn
            last line is cut off, skipped files are dropped (an option of this run may read
            them), and so are the rows of the last file logged (an interrupted multi-scan
            file may lack scans); otherwise start it empty.
    """

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = read_json_lines(self.path) if resume else []
        if rows:
            last = rows[-1].get("path") or file_key(rows[-1]["file"])
            rows = [r for r in rows if (r.get("path") or file_key(r["file"])) != last]
        self._fh: IO[str] | None = None
        self._start(rows)

    def _start(self, rows: list[dict[str, Any]]) -> None:
        if self._fh is not None:
            self._fh.close()
        rows = [r for r in rows if r["decision"] != "skipped"]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
        self.decisions = {r["file"]: r["decision"] for r in rows}
        self._keys = {r["file"]: r["path"] for r in rows if isinstance(r.get("path"), str)}
        self._fh = self.path.open("a", encoding="utf-8")

    def seed(self, rows: list[dict[str, Any]]) -> None:
        """Start from the answers of an earlier complete run (resuming from its array)."""
        self._start(rows)

    def done(self) -> set[str]:
        """Return the :func:`file_key` of every file answered in the log.

        That is each row's ``path``, resolved by the run that wrote it (for older logs
        without one, resolved here).
        """
        return {self._keys.get(f) or file_key(f) for f in self.decisions}

    def write(self, row: dict[str, Any]) -> None:
        """Append one answer, with its resolved ``path``, and flush it to the file."""
        assert self._fh is not None
        row = {**row, "path": file_key(row["file"])}
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()
        self.decisions[row["file"]] = row["decision"]
        self._keys[row["file"]] = row["path"]

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()


def write_json_array(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as one JSON array, atomically."""
    atomic_write_text(path, json.dumps(rows, indent=1) + "\n")
