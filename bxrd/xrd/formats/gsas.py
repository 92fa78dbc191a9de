"""GSAS powder data (``.gsa``, ``.gss``, ``.fxye``): constant-wavelength banks.

Written here: GSAS-II's reader is part of GSAS-II itself (not a PyPI package), and no small
maintained package reads GSAS files.

Layout (GSAS manual, "Powder data file"): a title line, optional comment lines (``#``), then per
bank a line ``BANK n nchan nrec BINTYP bcoef1 bcoef2 bcoef3 bcoef4 TYPE`` and its data:

* ``BINTYP`` ``CONST``/``CONS``: 2θ = bcoef1 + i × bcoef2, in **centidegrees**;
  ``TYPE`` ``STD``: ten 8-character fields per line, each a 2-character count of averaged
  counters and a 6-character intensity; ``ESD``: five (intensity, esd) pairs of 8-character
  fields per line; ``ALT`` or ``FXYE``: free-format ``2θ intensity esd`` lines, 2θ in
  centidegrees.
* time-of-flight banks (``RALF``, ``SLOG``, ``TIME_MAP``) are refused: bxrd reads angles.

GSAS data files do not carry the wavelength (it is in the instrument parameter file); a
comment such as ``# Wavelength = 0.4590`` before the first bank is read, otherwise the caller
must give it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bxrd.errors import PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points

_WAVELENGTH = re.compile(r"(?i)(?:wavelength|lambda|\blam\b)[^0-9]{0,8}([0-9]*\.[0-9]+)")


def read_gsas(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every constant-wavelength bank of a GSAS file (see module docstring)."""
    lines = data.decode("latin-1").splitlines()
    banks = [i for i, s in enumerate(lines) if s.startswith("BANK")]
    if not banks:
        raise PatternFileError(f"{path}: GSAS file has no BANK line")
    wl = None
    for s in lines[: banks[0]]:
        if (m := _WAVELENGTH.search(s)) is not None and 0.1 <= float(m.group(1)) <= 5.0:
            wl = float(m.group(1))
    out = []
    ends = banks[1:] + [len(lines)]
    for k, (start, end) in enumerate(zip(banks, ends, strict=True), start=1):
        body = [s for s in lines[start + 1 : end] if s.strip() and not s.startswith("#")]
        x, y = _bank(path, lines[start], body, limits)
        meta = {"bank": lines[start].split()[1], "intensity_unit": "counts"}
        out.append(make_pattern(path, x, y, meta, None, wl, k if len(banks) > 1 else None))
    return out


def _bank(
    path: Path, head: str, body: list[str], limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray]:
    fields = head.split()
    try:
        nchan, bintyp = int(fields[2]), fields[4].upper()
    except (IndexError, ValueError):
        raise PatternFileError(f"{path}: unreadable GSAS bank line {head.strip()!r}") from None
    if bintyp not in ("CONST", "CONS"):
        raise PatternFileError(
            f"{path}: GSAS bank type {bintyp} (time-of-flight) is not read; bxrd reads 2θ scans"
        )
    check_points(path, nchan, limits)
    kind = fields[-1].upper() if fields[-1].isalpha() else "STD"
    try:
        if kind in ("FXYE", "ALT"):
            table = np.array([s.split()[:2] for s in body[:nchan]], dtype=float)
            x, y = table[:, 0] / 100.0, table[:, 1]
        else:
            start, step = float(fields[5]) / 100.0, float(fields[6]) / 100.0
            cells = [s[i : i + 8] for s in body for i in range(0, len(s.rstrip()), 8)]
            if kind == "ESD":
                y = np.array(cells[0::2], dtype=float)
            else:
                y = np.array([c[2:] for c in cells], dtype=float)
            y = y[:nchan]
            x = start + step * np.arange(len(y))
    except (IndexError, ValueError):
        raise PatternFileError(f"{path}: unreadable data in GSAS bank {fields[1]}") from None
    if len(y) < nchan:
        raise PatternFileError(
            f"{path}: GSAS bank {fields[1]} declares {nchan} points but holds {len(y)} (truncated)"
        )
    return x, y
