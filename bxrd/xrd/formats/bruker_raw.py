"""Bruker/Siemens binary ``.raw``, versions 3 (``RAW1.01``) and 4 (``RAW4.00``).

Written here: ``fairmat-readers-xrd`` reads only version 4, from fixed offsets of example
files, and returns None instead of an error; ``xrayutilities`` has no RAW reader. The layouts
below are those of Bruker's DIFFRAC^plus XCH manual (appendix A, version 3) and of the
segment structure of version 4 as documented by xylib. Versions 1 and 2 (``"RAW "``,
``"RAW2"``, DIFFRAC-AT) are refused with a message: export them as ``.uxd``.

Version 3 (all little-endian): file header of 712 bytes — number of ranges u32 @12, anode
4 chars @608, Kα average, Kα1, Kα2, Kβ f64 @616/624/632/640, I(Kα2)/I(Kα1) f64 @648; then
each range: header length u32 (304) @+0, steps u32 @+4, start 2θ f64 @+16, step f64 @+176,
time per step f32 @+192, supplementary header length u32 @+256, then ``steps`` float32 counts
after the 304-byte header and the supplementary headers.

Version 4: a 61-byte file header, then segments (type u32, length u32): type 30 holds the
tube (Kα average, Kα1, Kα2, Kβ, ratio f64 @+72…+104, anode 4 chars @+116); type 0 or 160
starts a range: scan type 24 chars @+32, start f64 @+72, step f64 @+80, steps u32 @+88, time
per step f32 @+92, datum size u32 @+136 (4: float32), extra header length u32 @+140, the data
after the 160-byte range header and the extra headers. Only coupled (θ–2θ) ranges are read.

Intensities are counts per second when the time per step is recorded (> 0).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, file_lines, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points
from bxrd.xrd.wavelength import EmissionLines


def read_bruker_raw(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every range of a Bruker RAW v3/v4 file (see module docstring)."""
    if data.startswith(b"RAW1.01"):
        reader = _version3
    elif data.startswith(b"RAW4.00"):
        reader = _version4
    else:
        raise PatternFileError(
            f"{path}: Bruker RAW version {data[:7]!r} is not supported (read: RAW1.01 = "
            "version 3, RAW4.00 = version 4; export older files as .uxd)"
        )
    try:
        ranges, lines = reader(path, data, limits)
    except struct.error:
        raise PatternFileError(f"{path}: Bruker RAW file is truncated") from None
    if not ranges:
        raise PatternFileError(f"{path}: Bruker RAW file has no coupled 2θ range (no data)")
    n = len(ranges)
    return [
        make_pattern(path, x, y, meta, lines, None, k if n > 1 else None)
        for k, (x, y, meta) in enumerate(ranges, start=1)
    ]


def _string(data: bytes, offset: int, size: int) -> str:
    return data[offset : offset + size].split(b"\0")[0].decode("latin-1").strip()


def _lines(path: Path, data: bytes, offset: int, anode_at: int) -> EmissionLines | None:
    _, ka1, ka2, kb, ratio = struct.unpack_from("<5d", data, offset)
    try:
        return file_lines(_string(data, anode_at, 4), ka1, ka2, ratio, kb)
    except BxrdInputError as exc:
        raise PatternFileError(f"{path}: {exc}") from None


def _range(
    path: Path,
    data: bytes,
    at: int,
    start: float,
    step: float,
    steps: int,
    time: float,
    limits: ReadLimits,
) -> tuple[np.ndarray, np.ndarray, dict]:
    check_points(path, steps, limits)
    if steps == 0 or at + 4 * steps > len(data):
        raise PatternFileError(f"{path}: Bruker RAW range of {steps} points is truncated or empty")
    y = np.frombuffer(data, dtype="<f4", count=steps, offset=at).astype(float)
    meta = {"intensity_unit": "counts"}
    if time > 0:
        y, meta = y / time, {"intensity_unit": "counts/s", "counting_time_s": float(time)}
    return start + step * np.arange(steps), y, meta


def _version3(path: Path, data: bytes, limits: ReadLimits) -> tuple[list, EmissionLines | None]:
    (n_ranges,) = struct.unpack_from("<I", data, 12)
    lines = _lines(path, data, 616, 608)
    at, ranges = 712, []
    for _ in range(n_ranges):
        header, steps = struct.unpack_from("<II", data, at)
        if header != 304:
            raise PatternFileError(
                f"{path}: Bruker RAW v3 range header of {header} bytes (not 304)"
            )
        (start,) = struct.unpack_from("<d", data, at + 16)
        (step,) = struct.unpack_from("<d", data, at + 176)
        (time,) = struct.unpack_from("<f", data, at + 192)
        (extra,) = struct.unpack_from("<I", data, at + 256)
        first = at + 304 + extra
        ranges.append(_range(path, data, first, start, step, steps, time, limits))
        at = first + 4 * steps
    return ranges, lines


def _version4(path: Path, data: bytes, limits: ReadLimits) -> tuple[list, EmissionLines | None]:
    at, lines = 61, None
    while True:
        kind, size = struct.unpack_from("<II", data, at)
        if kind in (0, 160):
            break
        if size < 8:
            raise PatternFileError(f"{path}: Bruker RAW v4 segment of {size} bytes at {at}")
        if kind == 30:
            lines = _lines(path, data, at + 72, at + 116)
        at += size
    ranges = []
    while at + 160 <= len(data):
        (kind,) = struct.unpack_from("<I", data, at)
        if kind not in (0, 160):
            raise PatternFileError(f"{path}: Bruker RAW v4 range of unknown type {kind} at {at}")
        scan_type = _string(data, at + 32, 24)
        start, step = struct.unpack_from("<dd", data, at + 72)
        steps, time = struct.unpack_from("<If", data, at + 88)
        datum, extra = struct.unpack_from("<II", data, at + 136)
        first = at + 160 + extra
        if datum != 4:
            raise PatternFileError(f"{path}: Bruker RAW v4 datum of {datum} bytes (not 4)")
        if "coupled" in scan_type.lower():
            x, y, meta = _range(path, data, first, start, step, steps, time, limits)
            ranges.append((x, y, {**meta, "scan_type": scan_type}))
        at = first + datum * steps
    if not ranges and at < len(data):
        raise struct.error("range header cut short")
    return ranges, lines
