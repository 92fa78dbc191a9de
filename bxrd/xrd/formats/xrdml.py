"""PANalytical XRDML (``.xrdml``): XML, one or more scans, the tube's lines in the header.

Written here rather than taken from ``fairmat-readers-xrd`` 0.0.10 (Apache-2.0, pure Python):
that reader parses with the standard-library XML parser (only expat's own amplification limit
stops a billion-laughs file), needs ``pint`` (importing it takes 1.7 s on 2 cores, against
bxrd's 4 s cold start), and names no file in its errors. On the shared CoO-ZnO scan both
readers give the same 2θ and counts (checked once; the test compares with the XML).
``xrayutilities`` 1.8.0 (GPL-2.0+, an 8.6 MB wheel with a compiled extension, needing scipy,
h5py, lmfit and odrpack) is too heavy, and its licence does not fit an MIT package.

Layout (XRDML schema 1.0–2.x, namespace ignored)::

    xrdMeasurements/xrdMeasurement            (one or more)
      usedWavelength[@intended]/kAlpha1, kAlpha2, kBeta, ratioKAlpha2KAlpha1   (Å)
      incidentBeamPath/xRayTube/anodeMaterial; a ...Monochromator element here passes Kα1 only
      scan (one or more)/dataPoints
        positions[@axis="2Theta"]/startPosition + endPosition (equal steps)
                                  | listPositions (any steps) | commonPosition (fixed: refused)
        counts[@unit] | intensities[@unit]      ("counts" or "counts/s")
        commonCountingTime | countingTimes      (s)
        beamAttenuationFactors                  (optional, multiplies the counts)

Intensities are returned in counts per second (``meta["intensity_unit"]``): counts × attenuation
/ counting time, so scans with per-point counting times are comparable point to point.
Lines: ``intended="K-Beta"`` gives the Kβ line alone; an incident-beam monochromator gives
Kα1 alone; otherwise Kα1 + Kα2 with the recorded ratio (a Ni filter removes only Kβ).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, file_lines, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points, parse_xml
from bxrd.xrd.formats.xmlnodes import child, children, first, name, numbers, text


def read_xrdml(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every scan of an XRDML file (see module docstring)."""
    root = parse_xml(path, data, "XRDML")
    measurements = [m for m in root.iter() if name(m) == "xrdMeasurement"]
    scans = [(m, s) for m in measurements for s in children(m, "scan")]
    if not scans:
        raise PatternFileError(f"{path}: XRDML has no <scan> element")
    out = []
    for k, (measurement, scan) in enumerate(scans, start=1):
        tag = f"scan {k}" if len(scans) > 1 else "scan"
        x, y, meta = _scan_points(path, scan, tag, limits)
        lines, wl, meta_wl = _wavelength(path, measurement)
        meta.update(meta_wl)
        out.append(make_pattern(path, x, y, meta, lines, wl, k if len(scans) > 1 else None))
    return out


def _scan_points(
    path: Path, scan: Element, tag: str, limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray, dict]:
    points = child(scan, "dataPoints")
    if points is None:
        raise PatternFileError(f"{path}: {tag} has no <dataPoints>")
    counts = first(points, "counts", "intensities")
    if counts is None:
        raise PatternFileError(f"{path}: {tag} has no <counts> or <intensities>")
    y = numbers(path, counts, name(counts))
    check_points(path, len(y), limits)
    if len(y) == 0:
        raise PatternFileError(f"{path}: {tag} has no data points")
    axis = next((p for p in children(points, "positions") if p.get("axis") == "2Theta"), None)
    if axis is None:
        raise PatternFileError(f"{path}: {tag} has no 2Theta positions")
    listed, start, end = (child(axis, n) for n in ("listPositions", "startPosition", "endPosition"))
    if listed is not None:
        x = numbers(path, listed, "listPositions")
        if len(x) != len(y):
            raise PatternFileError(f"{path}: {tag} lists {len(x)} 2θ positions for {len(y)} counts")
    elif start is not None and end is not None:
        try:
            x = np.linspace(float(start.text), float(end.text), len(y))
        except (TypeError, ValueError):
            raise PatternFileError(f"{path}: {tag} has a non-numeric 2θ start/end") from None
    else:
        raise PatternFileError(
            f"{path}: {tag} keeps 2θ fixed (a rocking curve or other non-2θ scan), not a pattern"
        )
    unit = (counts.get("unit") or "counts").strip().lower()
    per_second = unit in ("counts/s", "cps", "counts per second")
    meta = {"scan_axis": scan.get("scanAxis"), "scan_mode": scan.get("mode")}
    attenuation = child(points, "beamAttenuationFactors")
    if attenuation is not None:
        factors = numbers(path, attenuation, "beamAttenuationFactors")
        if factors.size not in (1, len(y)):
            raise PatternFileError(f"{path}: {tag} has {factors.size} attenuation factors")
        y = y * factors
    if not per_second:
        times = first(points, "countingTimes", "commonCountingTime")
        if times is not None:
            t = numbers(path, times, name(times))
            if t.size not in (1, len(y)) or (t <= 0).any():
                raise PatternFileError(f"{path}: {tag} has unusable counting times")
            y = y / t
            per_second = True
            meta["counting_time_s"] = float(t[0]) if t.size == 1 else t.tolist()
    meta["intensity_unit"] = "counts/s" if per_second else "counts"
    return x, y, meta


def _wavelength(path: Path, measurement: Element) -> tuple[object, float | None, dict]:
    used = child(measurement, "usedWavelength")
    beam = child(measurement, "incidentBeamPath")
    tube = child(beam, "xRayTube")
    anode = text(tube, "anodeMaterial")
    mono = [name(c) for c in (beam if beam is not None else []) if "onochromator" in name(c)]
    intended = used.get("intended", "") if used is not None else ""
    meta = {"anode": anode, "monochromator": mono[0] if mono else None, "intended": intended}
    try:
        if "beta" in intended.lower() and text(used, "kBeta"):
            return None, float(text(used, "kBeta")), meta
        lines = file_lines(
            anode,
            text(used, "kAlpha1"),
            text(used, "kAlpha2"),
            text(used, "ratioKAlpha2KAlpha1"),
            text(used, "kBeta"),
            monochromator=bool(mono),
        )
    except (BxrdInputError, ValueError) as exc:
        raise PatternFileError(f"{path}: {exc}") from None
    return lines, None, meta
