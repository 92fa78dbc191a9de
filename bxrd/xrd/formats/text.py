"""Two- or three-column text patterns (``.xy .xye .csv .txt .dat``) and RRUFF powder text files.

Written here rather than taken from a package: numpy's ``loadtxt`` stops at the first odd line
and knows neither RRUFF headers nor the fixed-width exports whose columns run together, and
no maintained reader covers those.

* Columns: 2θ (degrees) and intensity (an esd column is ignored), separated by blanks, commas,
  semicolons or tabs; comment lines starting with ``#``, ``!``, ``'``, ``;`` or ``//`` and a
  non-numeric header line are skipped.
* Decimal commas (``10,02 1234,5``, European locale exports) are read as decimal points when
  the columns are separated by blanks, tabs or semicolons. When commas also separate the
  columns (``10,02,1234``) the columns cannot be told apart, and the file is refused with a
  message that says so.
* Fixed-width files whose columns run together (``14.11852709`` for ``14.1185  2709``) are split
  at the column width of the file's other lines, accepted only if the 2θ step stays consistent.
* UTF-8, or UTF-16 with its byte-order mark (Windows "Unicode" text).
* RRUFF powder files: ``##KEY=value`` header lines (``##WAVELENGTH=`` gives λ in Å), data as
  ``2θ, I``, ending with ``##END=``.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, make_pattern
from bxrd.xrd.formats.decimal_table import parse_decimal_table
from bxrd.xrd.formats.limits import ReadLimits, check_points
from bxrd.xrd.wavelength import resolve_wavelength

_SPLIT = re.compile(r"[\s,;]+")
_SPLIT_NO_COMMA = re.compile(r"[\s;]+")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_INTEGER = re.compile(r"^[-+]?\d+$")
_COMMENT = ("#", "!", "'", ";", "//")
#: line breaks other than \n (after \r\n → \n), at which ``str.splitlines`` splits too
_ODD_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_SEMICOLON_COMMENT = re.compile(r"^[ \t]*;", re.MULTILINE)
#: lines searched for the first data line before the whole text is split
_HEAD_LINES = 64
#: data lines that decide whether decimal commas are used
_SAMPLE_ROWS = 200


def read_text(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read a text pattern (see module docstring)."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")  # a byte-order mark: Windows "Unicode" text
    text = data.decode("utf-16") if utf16 else data.decode("utf-8", errors="replace")
    x, y, meta = parse_columns(path, text, limits)
    wl = None
    if "WAVELENGTH" in meta:
        try:
            wl = resolve_wavelength(meta["WAVELENGTH"])
        except BxrdInputError as exc:
            raise PatternFileError(f"{path}: header ##WAVELENGTH: {exc}") from None
    return [make_pattern(path, x, y, meta, wavelength=wl)]


def parse_columns(
    path: Path, text: str, limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Parse 2θ, intensity and ``##KEY=value`` header fields of a column text.

    Nearly every file is a header followed by a plain table: :func:`_plain_table` reads it in
    one vectorised pass. Anything else (comments or text among the data, merged columns,
    ragged rows, falling 2θ, odd line breaks) takes the line-by-line path with its repairs,
    checks and messages; both give the same doubles for a file they both read.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")  # a UTF-8 byte-order mark
    meta: dict[str, str] = {}
    table = _plain_table(path, text, limits, meta)
    if table is not None:
        return table[:, 0], table[:, 1], meta
    return _line_by_line(path, text, limits)


def _line_by_line(
    path: Path, text: str, limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """:func:`parse_columns` for any text: line by line, with repairs and checks."""
    meta: dict[str, str] = {}
    lines = [line for _, line in _data_lines(path, text.splitlines(), limits, meta)]
    if not lines:
        raise PatternFileError(f"{path}: no numeric data")
    decimal_comma = _uses_decimal_comma(lines)
    split = _SPLIT_NO_COMMA if decimal_comma else _SPLIT
    rows = [[t for t in split.split(s.strip()) if t] for s in lines]
    if decimal_comma:
        rows = [[t.replace(",", ".") for t in r] for r in rows]
        meta["DECIMAL_SEPARATOR"] = ","
    rows = _split_merged_columns(path, rows, lines)
    try:
        values = np.array([[float(t) for t in r[:2]] for r in rows], dtype=float)
    except ValueError as exc:
        raise PatternFileError(f"{path}: non-numeric value in data ({exc})") from None
    if not decimal_comma:
        _refuse_ambiguous_commas(path, rows, values[:, 0])
    return values[:, 0], values[:, 1], meta


def _data_lines(
    path: Path, lines: Iterable[str], limits: ReadLimits, meta: dict[str, str]
) -> Iterator[tuple[int, str]]:
    """(index, line) of the data lines; ``##KEY=value`` fields go into ``meta``.

    Skips blank lines, comments and a non-numeric header line before the data; stops at
    ``##END``.

    Raises:
        PatternFileError: more data lines than ``limits.max_points``.
    """
    n = 0
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s.startswith("##"):
            if _is_end(s):
                return
            key, _, value = s[2:].partition("=")
            meta[key.strip().upper()] = value.strip()
            continue
        if s.startswith(_COMMENT):
            continue
        if not n and not _is_number(_SPLIT.split(s)[0].replace(",", ".")):
            continue  # a column header
        n += 1
        if n > limits.max_points:
            check_points(path, n, limits, counting=True)
        yield i, line.rstrip("\r\n")


def _plain_table(
    path: Path, text: str, limits: ReadLimits, meta: dict[str, str]
) -> np.ndarray | None:
    """2θ and intensity, shape (N, 2), of a header + plain table; None for anything else.

    A plain table: after the header lines (read by :func:`_data_lines`) and up to a
    ``##END`` line, only lines of numbers, every one holding the same number (≥ 2) of them,
    separated by blanks, commas or semicolons (blanks, tabs or semicolons with decimal
    commas), and 2θ rises. Plain decimals are converted by
    :func:`~bxrd.xrd.formats.decimal_table.parse_decimal_table`, any other table by numpy's
    C reader in one call (which refuses ragged rows and anything not a number); both give
    the doubles ``float()`` gives.

    Raises:
        PatternFileError: more rows than ``limits.max_points``.
    """
    if any(c in text for c in _ODD_BREAKS):
        return None  # the line-by-line path splits lines at these too
    # the header is short: split off its first lines only (all of them if it is longer)
    lines = text.split("\n", _HEAD_LINES)
    first = next(_data_lines(path, lines[:_HEAD_LINES], limits, meta), None)
    if first is None and len(lines) > _HEAD_LINES:
        lines = text.split("\n")
        first = next(_data_lines(path, lines, limits, meta), None)
    if first is None:
        return None
    body = text[sum(len(line) + 1 for line in lines[: first[0]]) :]
    end = body.find("#")
    if end >= 0:
        end = body.rfind("\n", 0, end) + 1
        if not _is_end(body[end:].split("\n", 1)[0]):
            return None  # a comment among the data
        body = body[:end]
    if ";" in body and _SEMICOLON_COMMENT.search(body):
        return None  # a ; comment line (numbers in it would be read as data)
    decimal_comma = _uses_decimal_comma(_first_rows(body, _SAMPLE_ROWS))
    plain = body.replace(";", " ").replace(",", "." if decimal_comma else " ")
    table = parse_decimal_table(plain)  # plain decimals, ~2x faster; None: anything else
    if table is None:
        try:
            table = np.loadtxt(io.StringIO(plain), dtype=float, comments=None, ndmin=2)
        except ValueError:
            return None
    check_points(path, len(table), limits, counting=True)
    if table.shape[1] < 2 or not (np.diff(table[:, 0]) > 0).all():
        return None
    if decimal_comma:
        meta["DECIMAL_SEPARATOR"] = ","
    return table[:, :2]


def _first_rows(body: str, n: int) -> list[str]:
    """Return the first ``n`` non-blank lines of ``body`` (splitting no more than needed)."""
    lines = body.split("\n", n + 8)
    rows = [line for line in lines[: n + 8] if line.strip()][:n]
    if len(rows) < n and len(lines) > n + 8:  # blank lines among them: look further
        rows = [line for line in body.split("\n") if line.strip()][:n]
    return rows


def _is_end(line: str) -> bool:
    """Tell whether ``line`` is the ``##END=`` line that closes the data of a RRUFF file."""
    s = line.strip()
    return s.startswith("##") and s[2:].partition("=")[0].strip().upper() == "END"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _uses_decimal_comma(lines: list[str]) -> bool:
    """Tell whether data lines are blank/tab/semicolon separated with ``d,d`` numbers."""
    sample = lines[: min(len(lines), _SAMPLE_ROWS)]
    with_comma = 0
    for s in sample:
        tokens = [t for t in _SPLIT_NO_COMMA.split(s.strip()) if t]
        if len(tokens) < 2:
            return False
        if not all(_DECIMAL_COMMA.match(t) or _INTEGER.match(t) for t in tokens):
            return False
        with_comma += any("," in t for t in tokens)
    return with_comma > 0


def _refuse_ambiguous_commas(path: Path, rows: list[list[str]], two_theta: np.ndarray) -> None:
    """Refuse ``10,02,1234,5``: commas as decimal marks *and* column separators."""
    if len(two_theta) < 3 or (np.diff(two_theta) > 0).all():
        return
    if not all(len(r) >= 3 and all(_INTEGER.match(t) for t in r) for r in rows[:50]):
        return
    joined = np.array([float(f"{r[0]}.{r[1]}") for r in rows[:50]])
    if (np.diff(joined) > 0).all():
        raise PatternFileError(
            f"{path}: the numbers use decimal commas (e.g. {rows[0][0]},{rows[0][1]}) and commas "
            "also separate the columns, so the columns cannot be told apart; export with '.' "
            "as the decimal mark, or with tabs or semicolons between the columns"
        )


def _split_merged_columns(path: Path, rows: list[list[str]], raw: list[str]) -> list[list[str]]:
    """Repair lines of a fixed-width file where the 2θ and intensity fields touch."""
    bad = [i for i, r in enumerate(rows) if len(r) < 2]
    if not bad:
        return rows
    good = [i for i, r in enumerate(rows) if len(r) >= 2]
    widths = Counter(raw[i].index(rows[i][0]) + len(rows[i][0]) for i in good)
    width, n_width = widths.most_common(1)[0] if widths else (0, 0)
    if len(good) < len(rows) / 2 or n_width < 0.9 * len(good):
        raise PatternFileError(
            f"{path}: {len(bad)} line(s) with a single column (first at data line {bad[0] + 1}) "
            "and no fixed column width to split them"
        )
    step = np.median(np.diff([float(rows[i][0]) for i in good]))
    fixed = list(rows)
    for i in bad:
        head, tail = raw[i][:width].strip(), raw[i][width:].strip()
        if not (_is_number(head) and _is_number(tail)):
            raise PatternFileError(f"{path}: cannot read data line {i + 1}: {raw[i].strip()!r}")
        prev = float(fixed[i - 1][0]) if i > 0 else float(head) - step
        if abs(float(head) - prev - step) > 0.25 * abs(step):
            raise PatternFileError(
                f"{path}: data line {i + 1} {raw[i].strip()!r} has merged columns that do not "
                f"split into a consistent 2θ step"
            )
        fixed[i] = [head, tail]
    return fixed
