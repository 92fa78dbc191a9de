"""One table writer: CSV + titled Markdown per table, gathered into ``summary.md``."""

from __future__ import annotations

import csv
from pathlib import Path

from bxrd.evaluation.stats import Interval
from bxrd.fileio import atomic_path, atomic_write_text


def cell(value: object) -> str:
    """Format one cell: floats to 3 decimals, intervals as ``v [lo, hi]``, None as ``—``."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class TableWriter:
    """Write tables into ``folder`` and remember their order for the summary.

    Args:
        folder: output folder (created).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.written: list[str] = []

    def write(self, name: str, title: str, header: list[str], rows: list[list[object]]) -> str:
        """Write ``name``.csv (intervals as three columns) and ``name``.md; return the Markdown."""
        flat_header: list[str] = []
        for i, h in enumerate(header):
            is_interval = any(isinstance(r[i], Interval) for r in rows)
            flat_header += [h, f"{h} low", f"{h} high"] if is_interval else [h]
        flat_rows = []
        for r in rows:
            out: list[object] = []
            for i, v in enumerate(r):
                if isinstance(v, Interval):
                    out += [v.value, v.low, v.high]
                elif any(isinstance(q[i], Interval) for q in rows):
                    out += [cell(v), "", ""]
                else:
                    out.append(v)
            flat_rows.append(out)
        with atomic_path(self.folder / f"{name}.csv") as tmp, open(tmp, "w", newline="") as fh:
            csv.writer(fh).writerows([flat_header, *flat_rows])
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
        text = f"## {title}\n\n" + "\n".join(lines) + "\n"
        atomic_write_text(self.folder / f"{name}.md", text)
        if name not in self.written:
            self.written.append(name)
        print(f"\n{text}", flush=True)
        return text

    def summary(self, head: str) -> str:
        """Write ``summary.md``: ``head`` then every table written, in order; return it."""
        parts = [(self.folder / f"{n}.md").read_text() for n in self.written]
        text = head + "\n" + "\n".join(parts)
        atomic_write_text(self.folder / "summary.md", text)
        return text
