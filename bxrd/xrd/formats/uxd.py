"""Bruker/Siemens UXD text (``.uxd``), the DIFFRAC text export of ``.raw`` files.

Written here: no maintained pure-Python package reads UXD (xylib does, in C++ under LGPL).

Layout: ``; comment`` lines; ``_KEY=value`` header lines — file-wide ``_WL1``, ``_WL2`` (Å),
``_WLRATIO`` (I(Kα2)/I(Kα1); 0 means Kα1 only), ``_ANODE``; per range ``_STEPSIZE``,
``_STEPTIME`` (s), ``_START`` or ``_2THETA`` (degrees) — then a bare keyword that starts the
data: ``_COUNTS`` or ``_CPS`` (intensities only, any number per line, on 2θ = start + i × step)
or ``_2THETACOUNTS`` / ``_2THETACPS`` (2θ and intensity pairs). A header line after data starts
the next range. ``_COUNTS`` are divided by ``_STEPTIME`` to counts per second when it is given.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, file_lines, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points

_KEY = re.compile(r"^_(\w+)\s*=\s*'?(.*?)'?\s*$")
_DATA = ("COUNTS", "CPS", "2THETACOUNTS", "2THETACPS")


def read_uxd(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every range of a UXD file (see module docstring)."""
    header: dict[str, str] = {}
    ranges: list[tuple[dict, str, list[float]]] = []
    mode, values = None, []
    for line in data.decode("latin-1").splitlines():
        s = line.strip()
        if not s or s.startswith(";"):
            continue
        if s.startswith("_"):
            if values:
                ranges.append((dict(header), mode, values))
                mode, values = None, []
            if (m := _KEY.match(s)) is not None:
                header[m.group(1).upper()] = m.group(2)
            elif s[1:].upper() in _DATA:
                mode = s[1:].upper()
            continue
        if mode is None:
            raise PatternFileError(f"{path}: UXD data line before a _COUNTS/_2THETACOUNTS keyword")
        try:
            values += [float(t) for t in s.replace(",", " ").split()]
        except ValueError:
            raise PatternFileError(f"{path}: UXD: non-numeric data line {s!r}") from None
        check_points(path, len(values), limits, counting=True)
    if values:
        ranges.append((dict(header), mode, values))
    if not ranges:
        raise PatternFileError(f"{path}: UXD has no data points")
    out = []
    for k, (head, kind, vals) in enumerate(ranges, start=1):
        x, y, meta = _range(path, head, kind, np.array(vals), k)
        try:
            lines = file_lines(
                head.get("ANODE"), head.get("WL1"), head.get("WL2"), head.get("WLRATIO")
            )
        except BxrdInputError as exc:
            raise PatternFileError(f"{path}: {exc}") from None
        out.append(make_pattern(path, x, y, meta, lines, None, k if len(ranges) > 1 else None))
    return out


def _range(
    path: Path, head: dict, kind: str, vals: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, dict]:
    per_second = kind.endswith("CPS")
    if kind.startswith("2THETA"):
        if len(vals) % 2:
            raise PatternFileError(f"{path}: UXD range {k}: odd number of 2θ/intensity values")
        x, y = vals[0::2], vals[1::2]
    else:
        try:
            start = float(head.get("2THETA", head.get("START")))
            step = float(head["STEPSIZE"])
        except (KeyError, TypeError, ValueError):
            raise PatternFileError(
                f"{path}: UXD range {k}: _COUNTS without a numeric _2THETA/_START and _STEPSIZE"
            ) from None
        x, y = start + step * np.arange(len(vals)), vals
    meta: dict = {"intensity_unit": "counts/s" if per_second else "counts"}
    try:
        time = float(head.get("STEPTIME", "nan"))
    except ValueError:
        time = float("nan")
    if not per_second and time > 0:
        y = y / time
        meta = {"intensity_unit": "counts/s", "counting_time_s": time}
    return x, y, meta
