"""``bxrd predict FILES --html OUT/``: one self-contained page per run, a section per pattern.

:class:`HtmlReport` is fed one answered pattern at a time (``add``) and one skipped file at a
time (``add_skipped``); each section and its figure are rendered at once and appended to a
file in ``out_dir``, so a folder of hundreds of patterns is answered in bounded memory.
``close`` writes ``index.html`` (summary table at the top, linking to each section; figures
embedded as base64 PNG: the page opens from disk, with no server and no external URL) and
``report.json`` (the same content as numbers), both atomically.

What is read of the inputs (keep these fields):

* the answer (:class:`bxrd.inference.answer.Answer`, or any dataclass / dict with these keys):
  ``file``, ``task``, ``method``, ``label``, ``probabilities`` and ``std`` (class → value),
  ``entropy``, ``mutual_information`` (None allowed), ``abstain``, ``threshold``,
  ``top_k`` ((name, p, std) triples), ``regions`` (dicts with ``lo``, ``hi`` in degrees 2θ,
  ``score``, ``hkl``), ``measured_range`` (degrees), ``coverage``, ``reference`` (dict, may
  be empty: ``structure``, ``cell_scale``, ``strain``, ``reflections`` with ``two_theta``
  and ``hkl``, ``unexplained_peaks`` with ``two_theta`` and ``height``),
  ``feature_distance`` and ``far_from_training`` (None allowed), optionally
  ``perovskite_match`` (``similarity``, ``floor``, ``withheld``), ``secondary_phases`` and
  ``unexplained_peaks`` (None: not checked; see the README's answer
  schema), and optionally
  ``neighbours``: the closest library structures, each a (formula, space group,
  similarity) triple or a dict with those keys and optionally ``note`` (shown after the
  group).
* the pattern (:class:`bxrd.xrd.pattern_io.GriddedPattern`): ``intensity`` (on the model
  grid given to :class:`HtmlReport`) and ``source``; and, when given, the
  :class:`~bxrd.xrd.pattern_io.MeasuredPattern` (``two_theta``, ``intensity``,
  ``wavelength``) — else the file named by ``source`` is read again for the "as given" panel.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.explain.pseudo_cubic import describe
from bxrd.fileio import atomic_path
from bxrd.inference.answer import (
    Answer,
    abstain_reason,
    below_floor,
    describe_neighbours,
    describe_set,
    format_distance,
    phase_kind,
    set_title,
)
from bxrd.report.answer_figure import answer_figure
from bxrd.xrd.axis import Axis
from bxrd.xrd.pattern_io import GriddedPattern, MeasuredPattern, read_pattern

_esc = html.escape

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:1.2em 1.6em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:0 0 .4em}
table{border-collapse:collapse;font-size:.9em}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#eef1f5}tr.abstain td{background:#fff6e0}tr.skipped td{color:#8a1c1c}
td.num,td.nw{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
.flag{display:inline-block;padding:0 6px;margin:1px;border-radius:8px;font-size:.8em;
background:#e8e8e8}.flag.warn{background:#ffe1b3}.flag.bad{background:#f8c9c9}
section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:1.2em 0;padding:1em}
section img{width:100%;height:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:.9em}
dt{color:#555}dd{margin:0}.verdict{font-size:1.1em}.muted{color:#777}
"""


def _record(answer: Any) -> dict:
    """Return the answer as a plain dict (its ``to_json()``, dataclass fields, or the dict)."""
    if hasattr(answer, "to_json"):
        return {**answer.to_json(), "abstain": bool(answer.abstain)}
    if is_dataclass(answer) and not isinstance(answer, type):
        return asdict(answer)
    if isinstance(answer, dict):
        return dict(answer)
    raise TypeError(f"an answer must be a dataclass or a dict, got {type(answer).__name__}")


def _leading(record: dict) -> str:
    """Return the most probable class (``top_label``; ``label`` is null on abstention)."""
    return record.get("top_label") or record["label"]


def _neighbours(record: dict) -> list[dict]:
    """``neighbours`` as dicts with ``formula``, ``space_group``, ``similarity``, ``note``."""
    out = []
    for n in record.get("neighbours") or []:
        if isinstance(n, dict):
            out.append({k: n.get(k) for k in ("formula", "space_group", "similarity", "note")})
        else:
            formula, space_group, similarity = n
            out.append({"formula": formula, "space_group": space_group, "similarity": similarity})
    return out


def _short(file: str) -> str:
    """Folder and name of a file (the full path is in the row's tooltip and its section)."""
    path = Path(file)
    return str(Path(path.parent.name) / path.name)


def flags(record: dict) -> list[tuple[str, str]]:
    """Warnings on an answer as (text, severity ``warn`` or ``bad``)."""
    out = []
    if record.get("abstain"):
        out.append(("abstained", "warn"))
    if record.get("far_from_training"):
        out.append(("far from training", "bad"))
    family = record.get("one_family")
    if family:
        out.append((f"one reflection family (d = {family['d_spacing']:.3f} Å)", "bad"))
    match = record.get("perovskite_match")
    if below_floor(match):
        out.append((f"unlike every training perovskite (cosine {match['similarity']:.2f})", "bad"))
    left = record.get("unexplained_peaks")  # after secondary phases, when checked
    n = len(
        left if left is not None else (record.get("reference") or {}).get("unexplained_peaks", [])
    )
    if n:
        out.append((f"{n} unexplained peak{'s' if n > 1 else ''}", "warn"))
    phases = record.get("secondary_phases") or []
    if phases:
        names = ", ".join(p["name"] for p in phases)
        kind = phase_kind(record.get("top_label"))
        out.append((f"{kind}{'s' if len(phases) > 1 else ''}: {names}", "warn"))
    if record.get("tilt_note"):
        out.append(("tilt lines vs answer", "warn"))
    if record.get("coverage", 1.0) < 0.9:
        out.append((f"covers {record['coverage']:.0%} of grid", "warn"))
    return out


def _phase_rows(record: dict) -> list[tuple[str, str]]:
    """Definition-list rows of the secondary-phase check: a table of phases, the peaks left."""
    phases, left = record.get("secondary_phases"), record.get("unexplained_peaks")
    if phases is None:
        return []
    head = (
        "<tr><th>phase</th><th>space group</th><th>source</th><th>score</th>"
        "<th>lines: hkl 2θ expected → observed (°)</th></tr>"
    )
    body = "".join(
        f"<tr><td>{_esc(p['name'])}"
        + (f" ({_esc(p['orientation'])}-oriented)" if p.get("orientation") else "")
        + f"</td><td>{_esc(p['space_group'])}</td><td>{_esc(p['source'])}</td>"
        f"<td>{p['score']:.2f}</td><td>"
        + "; ".join(
            f"{_esc(m['hkl'])} {m['two_theta_expected']:.2f} → {m['two_theta_observed']:.2f}"
            for m in p["matched"]
        )
        + "</td></tr>"
        for p in phases
    )
    table = f"<table>{head}{body}</table>" if phases else "none among the library's candidates"
    peaks = ", ".join(
        f"{q['two_theta']:.2f}° (d {q['d']:.3f} Å, {q['height']:.0%})"
        + (f" could be {_esc(', '.join(q['consistent_with']))}" if q["consistent_with"] else "")
        for q in left or []
    )
    return [("secondary phases", table), ("peaks left", peaks or "none")]


def _cell_rows(record: dict) -> list[tuple[str, str]]:
    """Definition-list rows of the pseudo-cubic reading: the cell, its tilt lines, the note."""
    cell = record.get("pseudo_cubic")
    if not cell:
        return []
    rows = [("pseudo-cubic cell", _esc(describe(cell)))]
    if record.get("tilt_note"):
        rows.append(("tilt lines", _esc(record["tilt_note"])))
    return rows


def _plain(value: Any) -> Any:
    """JSON form of numpy scalars and arrays (e.g. in ``neighbours``); str otherwise."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class HtmlReport:
    """Write ``out_dir/index.html`` and ``out_dir/report.json`` for answered patterns.

    Args:
        out_dir: folder of the page (created).
        axis: the model's 2θ grid and wavelength (the grid ``GriddedPattern.intensity`` is
            on); default: 10–80° in 0.02° steps, Cu Kα 1.54184 Å.
        title: page title.
        file_wavelength: the wavelength the files were read with (``--wavelength``), used
            when a file is read again for its "as given" panel.

    Use ``add`` per answered pattern as it is answered, ``add_skipped`` per file that could
    not be read, then ``close`` (or use the object as a context manager).
    """

    def __init__(
        self,
        out_dir: str | Path,
        axis: Axis | None = None,
        title: str = "",
        file_wavelength: str | float | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.file_wavelength = file_wavelength
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.axis = axis or Axis()
        self.title = title or "bxrd: answers with their evidence"
        self._sections = self.out_dir / f".sections-{os.getpid()}.part"
        self._records = self.out_dir / f".records-{os.getpid()}.part"
        for part in (self._sections, self._records):
            part.write_text("", encoding="utf-8")
        self._rows: list[str] = []
        self._n_answered = self._n_skipped = 0
        self._skipped: list[dict] = []

    def __enter__(self) -> HtmlReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_answer(self, answer: Answer) -> None:
        """Add one answer of :func:`bxrd.inference.pipeline.iter_answers` (skipped ones too).

        The answer must carry its arrays (``PredictOptions(keep_arrays=True)``): the pattern as
        the model saw it and as measured.
        """
        if answer.decision == "skipped":
            self.add_skipped(answer.file, answer.error or "")
            return
        if answer.model_input is None:
            raise BxrdInputError(f"{answer.file}: answer without its pattern (keep_arrays=False)")
        pattern = GriddedPattern(
            answer.model_input.intensity, answer.coverage or 0.0,
            answer.measured_range or (0.0, 0.0), answer.file,
        )  # fmt: skip
        self.add(answer, pattern, answer.measured)

    def add(
        self, answer: Any, pattern: GriddedPattern, measured: MeasuredPattern | None = None
    ) -> None:
        """Render one answered pattern's section and figure now (see module docstring).

        Raises:
            BxrdInputError: the pattern is not on this report's grid.
        """
        record = _record(answer)
        if len(pattern.intensity) != self.axis.n_points:
            raise BxrdInputError(
                f"{pattern.source}: pattern has {len(pattern.intensity)} points, the report's "
                f"grid {self.axis.n_points}; give HtmlReport the model's axis"
            )
        if measured is None:
            try:
                measured = read_pattern(pattern.source, self.file_wavelength)
            except (PatternFileError, BxrdInputError):
                measured = None
        raw = None if measured is None else (
            measured.two_theta, measured.intensity, measured.wavelength
        )  # fmt: skip
        fig = answer_figure(
            record, self.axis.two_theta, pattern.intensity, raw, self.axis.wavelength
        )
        anchor = f"p{self._n_answered + 1}"
        self._n_answered += 1
        with self._sections.open("a", encoding="utf-8") as f:
            f.write(self._section(record, anchor, _png(fig)))
        with self._records.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=_plain) + "\n")
        self._rows.append(self._summary_row(record, anchor))

    def add_skipped(self, file: str, error: str) -> None:
        """Record a file that could not be answered, with the reason."""
        file, error = str(file), str(error)
        error = error.removeprefix(f"{file}: ")  # loaders' messages start with the file
        self._n_skipped += 1
        self._skipped.append({"file": file, "error": error})
        self._rows.append(
            f'<tr class="skipped"><td title="{_esc(file)}">{_esc(_short(file))}</td>'
            '<td colspan="3">skipped</td>'
            f'<td><span class="flag bad">{_esc(error)}</span></td></tr>'
        )

    def close(self) -> Path:
        """Write ``index.html`` and ``report.json`` atomically; return the page's path."""
        if not self._sections.exists():
            return self.out_dir / "index.html"
        answers = [
            json.loads(line)
            for line in self._records.read_text(encoding="utf-8").splitlines()
            if line
        ]
        report = {
            "axis": self.axis.to_dict(),
            "n_answered": self._n_answered,
            "n_skipped": self._n_skipped,
            "answers": answers,
            "skipped": self._skipped,
        }
        with atomic_path(self.out_dir / "report.json") as tmp:
            tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
        del answers, report
        page = self.out_dir / "index.html"
        with atomic_path(page) as tmp, tmp.open("w", encoding="utf-8") as out:
            out.write(self._head())
            with self._sections.open(encoding="utf-8") as sections:
                for chunk in iter(lambda: sections.read(1 << 20), ""):
                    out.write(chunk)
            out.write("</main></body></html>\n")
        self._sections.unlink()
        self._records.unlink()
        return page

    def _head(self) -> str:
        g = self.axis.grid
        head = (
            "<tr><th>file</th><th>answer</th><th>p ± std</th><th>abstained</th><th>flags</th></tr>"
        )
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{_esc(self.title)}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>{_esc(self.title)}</h1>"
            f'<p class="muted">{self._n_answered} pattern(s) answered, {self._n_skipped} '
            f"skipped. Model grid {g.start:g}–{g.stop:g}° 2θ in {g.step:g}° steps at "
            f"λ = {self.axis.wavelength:.5g} Å. Every number is in report.json beside this "
            "page.</p>"
            f'<table id="summary">{head}{"".join(self._rows)}</table>'
        )

    @staticmethod
    def _summary_row(record: dict, anchor: str) -> str:
        label = _leading(record)
        p = record["probabilities"].get(label, 0.0)
        s = record["std"].get(label, 0.0)
        tags = "".join(f'<span class="flag {sev}">{_esc(t)}</span>' for t, sev in flags(record))
        abstained = "yes" if record["abstain"] else "no"
        return (
            f'<tr class="{"abstain" if record["abstain"] else ""}">'
            f'<td><a href="#{anchor}" title="{_esc(record["file"])}">'
            f"{_esc(_short(record['file']))}</a></td>"
            f"<td class='nw'>{_esc(label)}</td><td class='num'>{p:.3f} ± {s:.3f}</td>"
            f"<td>{abstained}</td><td>{tags}</td></tr>"
        )

    @staticmethod
    def _section(record: dict, anchor: str, png: str) -> str:
        label = _leading(record)
        why = abstain_reason(
            record.get("one_family"),
            record.get("top_k"),
            record["threshold"],
            record.get("perovskite_match"),
        )
        verdict = (
            f"abstains: {why} (most probable: {_esc(label)})"
            if record["abstain"]
            else f"{_esc(record['task'].replace('_', ' '))}: <b>{_esc(label)}</b>"
        )
        mi = record.get("mutual_information")
        far = record.get("far_from_training")
        distance = record.get("feature_distance")
        if far is None:
            where = "not assessed (this model has no feature density)"
        elif far:
            where = (
                f"<b>far from training</b> (feature distance {format_distance(distance)}): "
                "unlike every pattern the model learned from; check the answer against the peaks"
            )
        else:
            where = f"within the training data (feature distance {format_distance(distance)})"
        ref = record.get("reference") or {}
        rows = [
            (
                "top classes",
                "; ".join(f"{_esc(n)} {p:.3f} ± {s:.3f}" for n, p, s in record["top_k"]),
            ),
            (
                "uncertainty",
                f"entropy {record['entropy']:.3f} nats"
                + ("" if mi is None else f", mutual information {mi:.3f} nats"),
            ),
        ]
        if record.get("prediction_set"):
            ps = record["prediction_set"]
            rows.append(
                (
                    set_title(ps),
                    _esc(describe_set(ps, len(record["probabilities"]))),
                )
            )
        match = record.get("perovskite_match")
        if match:
            rows.append(
                (
                    "closest training perovskite",
                    f"cosine {match['similarity']:.2f} (floor {match['floor']:.2f})"
                    + (
                        ": the pattern is like no perovskite the model learned from"
                        + ("; the named class is withheld" if match["withheld"] else "")
                        if below_floor(match)
                        else ""
                    ),
                )
            )
        rows += [
            ("far-from-training", where),
            (
                "2θ used",
                f"{record['measured_range'][0]:.2f}–{record['measured_range'][1]:.2f}° "
                f"({record['coverage']:.0%} of the model grid)",
            ),
        ]
        if ref:
            strain = ", ".join(f"{100 * e:+.1f} %" for e in ref.get("strain", []))
            rows.append(
                (
                    "reference",
                    f"{_esc(ref['structure'])} (predicted class), d scaled ×"
                    f"{ref['cell_scale']:.3f}"
                    + (f"; metric refined: 1/d² parameters {strain}" if strain else ""),
                )
            )
        if record.get("regions"):
            rows.append(
                (
                    "decided by",
                    "; ".join(
                        f"{r['lo']:.2f}–{r['hi']:.2f}° "
                        f"({_esc(', '.join(r['hkl'])) or 'no reference reflection'}), "
                        f"{r['score']:.0%}"
                        for r in record["regions"]
                    ),
                )
            )
        peaks = ref.get("unexplained_peaks", [])
        if ref and record.get("unexplained_peaks") is None:  # else: "peaks left" below
            rows.append(
                (
                    "unexplained peaks",
                    ", ".join(f"{q['two_theta']:.2f}° ({q['height']:.0%})" for q in peaks)
                    or "none: every peak lies near a reflection of a top class",
                )
            )
        rows.extend(_phase_rows(record))
        rows.extend(_cell_rows(record))
        neighbours = _neighbours(record)
        if neighbours:
            rows.append(
                ("closest known (search-match, cosine)", describe_neighbours(neighbours, 3, _esc))
            )
        body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
        alt = f"pattern and probabilities of {record['file']}"
        return (
            f'<section id="{anchor}"><h2>{_esc(record["file"])}</h2>'
            f'<p class="verdict">{verdict}</p><dl>{body}</dl>'
            f'<img alt="{_esc(alt)}" src="data:image/png;base64,{png}"></section>\n'
        )
