"""Bruker ``.brml`` (DIFFRAC.SUITE): a zip of XML files, one ``RawData`` file per scan.

Written here rather than taken from ``fairmat-readers-xrd`` (Apache-2.0, whose ``BRMLfile``
opens every member whole and parses it with ``xmltodict`` without entity limits): members are
read through :mod:`bxrd.xrd.formats.limits` (member count, decompressed size) and parsed with
``defusedxml``.

Layout::

    Experiment0/DataContainer.xml   RawDataReferenceList/string → "Experiment0/RawData0.xml", ...
    Experiment0/RawData0.xml        RawData/DataRoutes/DataRoute (one per scan):
        ScanInformation/MeasurementPoints, TimePerStep (s),
            ScanAxes/ScanAxisInfo[@AxisId="TwoTheta"]/Start, Stop, Reference (degrees)
        DataViews/RawDataView[@Start, @Length] named by @LogicName or Recording/@LogicName
            ("TwoTheta", a "...Counter..." column)
        Datum (one per point): comma-separated values, one per view column
      RawData/FixedInformation/.../Tube/WaveLengthAlpha1|Alpha2|Beta|Ratio[@Value], TubeMaterial

2θ comes from the ``TwoTheta`` column when recorded, else from the scan axis' start and stop
in equal steps. Intensities are counts per second (counts / TimePerStep) when the step time
is known. An incident-beam monochromator in the primary track (an ``InfoData`` whose
``xsi:type`` names a monochromator) means Kα1 only.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

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
from bxrd.xrd.formats.xmlnodes import XSI_TYPE, child, children, descendants, name, text


def read_brml(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read every scan of a ``.brml`` file (see module docstring)."""
    archive = zip_members(path, data, limits)
    names = archive.namelist()
    container = next((n for n in names if n.endswith("DataContainer.xml")), None)
    if container is None:
        raise PatternFileError(f"{path}: .brml has no Experiment0/DataContainer.xml member")
    root = parse_xml(path, read_member(path, archive, container, limits), container)
    refs = [
        s.text.strip()
        for ref in descendants(root, "RawDataReferenceList")
        for s in ref
        if s.text and s.text.strip()
    ] or sorted(n for n in names if re.search(r"RawData\d+\.xml$", n))
    if not refs:
        raise PatternFileError(f"{path}: .brml lists no RawData member")
    routes = []
    for ref in refs:
        raw = parse_xml(path, read_member(path, archive, ref, limits), ref)
        lines = _lines(path, raw)
        routes += [(ref, route, lines) for route in descendants(raw, "DataRoute")]
    if not routes:
        raise PatternFileError(f"{path}: .brml has no DataRoute (no scan)")
    out = []
    for k, (ref, route, lines) in enumerate(routes, start=1):
        tag = f"{ref} scan {k}"
        x, y, meta = _route_points(path, route, tag, limits)
        out.append(make_pattern(path, x, y, meta, lines, None, k if len(routes) > 1 else None))
    return out


def _view_columns(route: Element) -> dict[str, int]:
    """Column index of each named data view (first column of the view)."""
    cols = {}
    for view in descendants(route, "RawDataView"):
        recording = child(view, "Recording")
        logic = view.get("LogicName") or (
            recording.get("LogicName") if recording is not None else None
        )
        if logic is not None and view.get("Start") is not None:
            cols[logic] = int(view.get("Start"))
    return cols


def _route_points(
    path: Path, route: Element, tag: str, limits: ReadLimits
) -> tuple[np.ndarray, np.ndarray, dict]:
    datums = children(route, "Datum")
    check_points(path, len(datums), limits)
    if not datums:
        raise PatternFileError(f"{path}: {tag} has no data points")
    try:
        table = np.array([d.text.split(",") for d in datums], dtype=float)
    except (ValueError, AttributeError):
        raise PatternFileError(f"{path}: {tag} has unreadable or ragged <Datum> rows") from None
    cols = _view_columns(route)
    counter = next((c for n, c in cols.items() if "counter" in n.lower()), None)
    if counter is None or counter >= table.shape[1]:
        raise PatternFileError(f"{path}: {tag} has no counter column among {sorted(cols)}")
    y = table[:, counter]
    info = child(route, "ScanInformation")
    if "TwoTheta" in cols and cols["TwoTheta"] < table.shape[1]:
        x = table[:, cols["TwoTheta"]]
    else:
        axis = next(
            (
                a
                for a in descendants(route, "ScanAxisInfo")
                if "TwoTheta" in (a.get("AxisId"), a.get("AxisName"))
            ),
            None,
        )
        if axis is None:
            raise PatternFileError(f"{path}: {tag} has no 2θ column and no TwoTheta scan axis")
        try:
            ref = float(text(axis, "Reference") or 0.0)
            x = np.linspace(
                float(text(axis, "Start")) + ref, float(text(axis, "Stop")) + ref, len(y)
            )
        except (TypeError, ValueError):
            raise PatternFileError(f"{path}: {tag} has a non-numeric TwoTheta axis") from None
    meta = {"scan_name": info.get("ScanName") if info is not None else None}
    try:
        step_time = float(text(info, "TimePerStep") or "nan")
    except ValueError:
        step_time = float("nan")
    if step_time > 0:
        y = y / step_time
        meta["counting_time_s"] = step_time
    meta["intensity_unit"] = "counts/s" if step_time > 0 else "counts"
    return x, y, meta


def _lines(path: Path, raw: Element) -> object:
    tube = next(
        (t for t in descendants(raw, "Tube") if child(t, "WaveLengthAlpha1") is not None), None
    )
    if tube is None:
        return None

    def value(tag: str) -> str | None:
        el = child(tube, tag)
        return None if el is None else el.get("Value")

    mono = any(
        "monochromator" in (el.get(XSI_TYPE) or "").lower() or "monochromator" in name(el).lower()
        for track in descendants(raw, "PrimaryTracks")
        for el in track.iter()
    )
    try:
        return file_lines(
            text(tube, "TubeMaterial"),
            value("WaveLengthAlpha1"),
            value("WaveLengthAlpha2"),
            value("WaveLengthRatio"),
            value("WaveLengthBeta"),
            monochromator=mono,
        )
    except BxrdInputError as exc:
        raise PatternFileError(f"{path}: {exc}") from None
