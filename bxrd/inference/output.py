"""Answers written as they come: a JSON Lines log that survives a kill, and atomic arrays.

A run appends one line per answered (or skipped) file and flushes it, so an interrupted run
loses at most the line being written; :class:`AnswerLog` drops such a torn last line when it
is reopened to resume, and reports which files are already answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from bxrd.fileio import atomic_write_text


def read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    """Objects of a JSON Lines file; a torn (unterminated) last line is ignored."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


class AnswerLog:
    """Append-only JSON Lines log of answers.

    Attributes:
        decisions: file → decision of every answer in the log (only these stay in memory).

    Args:
        path: the log file.
        resume: keep the answers already in it (a torn last line is cut off); otherwise
            start it empty.
    """

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = read_json_lines(self.path) if resume else []
        self._write_rows(rows)
        self.decisions = {r["file"]: r["decision"] for r in rows}
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")

    def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))

    def seed(self, rows: list[dict[str, Any]]) -> None:
        """Start from the answers of an earlier complete run (resuming from its array)."""
        self._fh.close()
        self._write_rows(rows)
        self.decisions = {r["file"]: r["decision"] for r in rows}
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        """Append one answer and flush it to the file."""
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()
        self.decisions[row["file"]] = row["decision"]

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def write_json_array(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as one JSON array, atomically."""
    atomic_write_text(path, json.dumps(rows, indent=1) + "\n")
