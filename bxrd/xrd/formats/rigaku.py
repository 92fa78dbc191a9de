"""Rigaku ``.ras`` (text) and ``.rasx`` (zip of a profile text and an XML header).

Written here: ``fairmat-readers-xrd`` reads ``.rasx`` only and opens members whole (a zip bomb
with a 64 MiB member cost it 388 MiB and 4.5 s before a KeyError; this reader refuses it in
under 1 ms at the member limit); ``xrayutilities`` reads ``.ras`` but is GPL-2.0+ with
compiled code and scipy/lmfit. Both layouts are short.

``.ras``: one block per scan between ``*RAS_DATA_START`` and ``*RAS_DATA_END``; header lines
``*KEY "value"`` between ``*RAS_HEADER_START``/``_END`` (``HW_XG_TARGET_NAME`` anode,
``HW_XG_WAVE_LENGTH_ALPHA1``/``ALPHA2``/``BETA`` in Å, ``MEAS_SCAN_AXIS_X``); data lines
``2θ counts attenuation`` between ``*RAS_INT_START``/``_END``.

``.rasx``: ``Data0/Profile0.txt`` (tab-separated ``2θ counts attenuation``, UTF-8 with BOM) and
``Data0/MesurementConditions0.xml`` (Rigaku's spelling) with
``HWConfigurations/XrayGenerator/TargetName, WavelengthKalpha1, WavelengthKalpha2,
WavelengthKbeta``; ``Data1/Profile1.txt`` etc. are further scans.

Intensity = counts × attenuation factor (``meta["intensity_unit"] = "counts"``). Neither
format records the Kα2/Kα1 ratio: the anode's tabulated 0.5 is used.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, file_lines, make_pattern
from bxrd.xrd.formats.limits import (
    ReadLimits,
    check_points,
    parse_xml,
    read_member,
    zip_members,
)
from bxrd.xrd.formats.xmlnodes import descendants, text

_HEADER = re.compile(r'^\*(\w+)\s+"?(.*?)"?\s*$')


def _points(
    path: Path, rows: list[str], tag: str, limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray]:
    """2θ and counts × attenuation from ``2θ counts [attenuation]`` lines."""
    check_points(path, len(rows), limits)
    try:
        table = [[float(t) for t in r.split()] for r in rows if r.strip()]
    except ValueError:
        raise PatternFileError(f"{path}: {tag}: non-numeric value in the data") from None
    if not table:
        raise PatternFileError(f"{path}: {tag} has no data points")
    width = min(len(r) for r in table)
    if width < 2:
        raise PatternFileError(f"{path}: {tag}: data lines need 2θ and counts")
    arr = np.array([r[: min(width, 3)] for r in table])
    y = arr[:, 1] * (arr[:, 2] if arr.shape[1] > 2 else 1.0)
    return arr[:, 0], y


def _lines(path: Path, anode: str | None, ka1: object, ka2: object, kb: object) -> object:
    try:
        return file_lines(anode, ka1, ka2, None, kb)
    except BxrdInputError as exc:
        raise PatternFileError(f"{path}: {exc}") from None


def read_ras(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every scan of a ``.ras`` file (see module docstring)."""
    blocks, header, rows, state = [], {}, [], None
    for line in data.decode("latin-1").splitlines():
        s = line.strip()
        if s.startswith("*RAS_HEADER_START"):
            header, rows, state = {}, [], "header"
        elif s.startswith("*RAS_INT_START"):
            state = "data"
        elif s.startswith("*RAS_INT_END"):
            blocks.append((header, rows))
            state = None
        elif state == "header" and (m := _HEADER.match(s)):
            header[m.group(1)] = m.group(2)
        elif state == "data":
            rows.append(s)
            if len(rows) > limits.max_points:
                check_points(path, len(rows), limits, counting=True)
    if state == "data":
        raise PatternFileError(f"{path}: .ras data block is not closed (*RAS_INT_END missing)")
    if not blocks:
        raise PatternFileError(f"{path}: .ras has no *RAS_INT_START data block")
    out = []
    for k, (head, block) in enumerate(blocks, start=1):
        x, y = _points(path, block, f"scan {k}", limits)
        lines = _lines(
            path,
            head.get("HW_XG_TARGET_NAME"),
            head.get("HW_XG_WAVE_LENGTH_ALPHA1"),
            head.get("HW_XG_WAVE_LENGTH_ALPHA2"),
            head.get("HW_XG_WAVE_LENGTH_BETA"),
        )
        meta = {"scan_axis": head.get("MEAS_SCAN_AXIS_X"), "intensity_unit": "counts"}
        out.append(make_pattern(path, x, y, meta, lines, None, k if len(blocks) > 1 else None))
    return out


def read_rasx(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every profile of a ``.rasx`` file (see module docstring)."""
    archive = zip_members(path, data, limits)
    profiles = sorted(n for n in archive.namelist() if re.search(r"Profile\d+\.txt$", n))
    if not profiles:
        raise PatternFileError(f"{path}: .rasx has no Data0/Profile0.txt member")
    out = []
    for k, profile in enumerate(profiles, start=1):
        body = read_member(path, archive, profile, limits).decode("utf-8-sig", errors="replace")
        x, y = _points(path, body.splitlines(), profile, limits)
        conditions = re.sub(r"Profile(\d+)\.txt$", r"MesurementConditions\1.xml", profile)
        lines, meta = None, {"intensity_unit": "counts"}
        if conditions in archive.namelist():
            root = parse_xml(path, read_member(path, archive, conditions, limits), conditions)
            gen = next(iter(descendants(root, "XrayGenerator")), None)
            lines = _lines(
                path,
                text(gen, "TargetName"),
                text(gen, "WavelengthKalpha1"),
                text(gen, "WavelengthKalpha2"),
                text(gen, "WavelengthKbeta"),
            )
            scan = next(iter(descendants(root, "ScanInformation")), None)
            meta["scan_axis"] = text(scan, "AxisName")
        out.append(make_pattern(path, x, y, meta, lines, None, k if len(profiles) > 1 else None))
    return out
