"""Measured powder patterns: read files, check them, convert wavelength, put them on a grid.

The readers live in :mod:`bxrd.xrd.formats` (one module per format family; the format is
picked by content and extension, see :mod:`bxrd.xrd.formats.registry`). This module adds the
wavelength decision, the checks every pattern must pass, Bragg-law conversion and gridding.

Wavelength: the file's (Kα1, Kα2, ratio, anode, monochromator where recorded; see
:class:`MeasuredPattern`) is used when it has one; a wavelength given by the caller is needed
only when the file has none. A given wavelength that disagrees with the file's (by more than
0.2 %, which tells anodes apart but not Kα1 from the Kα average) is an error unless
``override_wavelength`` is set.

Every problem raises :class:`~bxrd.errors.PatternFileError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.fileio import expand_files
from bxrd.xrd.formats import PATTERN_SUFFIXES, MeasuredPattern, ReadLimits, ReadOptions, read_file
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.prepare import prepare_measured_batch
from bxrd.xrd.wavelength import (
    EMISSION_LINES,
    EmissionLines,
    d_from_two_theta,
    emission_lines,
    resolve_wavelength,
    two_theta_from_d,
)

__all__ = [
    "PATTERN_SUFFIXES",
    "GriddedPattern",
    "MeasuredPattern",
    "ReadLimits",
    "check_pattern",
    "convert_wavelength",
    "load_patterns",
    "pattern_files",
    "read_pattern",
    "read_patterns",
    "to_grid",
    "to_grids",
]

#: Relative difference between a given and a recorded wavelength that counts as a conflict.
WAVELENGTH_TOLERANCE = 0.002


def read_patterns(
    path: str | Path,
    wavelength: str | float | None = None,
    override_wavelength: bool = False,
    allow_pickle: bool = False,
    limits: ReadLimits | None = None,
    npy_start: float = 5.0,
    npy_step: float = 0.01,
    npy_wavelength: str | float = "CuKa",
) -> list[MeasuredPattern]:
    """Read and check every scan of one pattern file.

    Args:
        path: pattern file (any format of :mod:`bxrd.xrd.formats`).
        wavelength: wavelength of the measurement (name or Å), used when the file has none.
        override_wavelength: use ``wavelength`` even where the file states another one.
        allow_pickle: read pickled ``.npy`` objects (numpy arrays and containers only).
        limits: size / point / zip limits (:class:`ReadLimits` defaults when None).
        npy_start: first 2θ (degrees) of ``.npy`` intensity vectors.
        npy_step: 2θ step (degrees) of ``.npy`` intensity vectors.
        npy_wavelength: wavelength of ``.npy`` vectors (RRUFF convention: Cu Kα).

    Raises:
        PatternFileError: unreadable or refused file, a wavelength conflict, or data that
            fail :func:`check_pattern`.
    """
    options = ReadOptions(allow_pickle, npy_start, npy_step, npy_wavelength)
    patterns = read_file(path, limits, options)
    for p in patterns:
        _decide_wavelength(p, wavelength, override_wavelength)
        check_pattern(p)
    return patterns


def read_pattern(
    path: str | Path, wavelength: str | float | None = None, **kwargs: Any
) -> MeasuredPattern:
    """Read and check a single-scan pattern file (keywords as :func:`read_patterns`).

    Raises:
        PatternFileError: as :func:`read_patterns`, or the file holds several scans.
    """
    patterns = read_patterns(path, wavelength, **kwargs)
    if len(patterns) > 1:
        raise PatternFileError(
            f"{path}: holds {len(patterns)} scans; read them with read_patterns or load_patterns"
        )
    return patterns[0]


def _given_lines(given: str | float) -> EmissionLines | None:
    """Lines of a named Kα wavelength (``"CuKa"``, ``"Mo"``); None for numbers and Kα1 names."""
    name = str(given).strip()
    anode = name[:2].capitalize()
    if anode in EMISSION_LINES and name[2:].lower() in ("", "ka"):
        return emission_lines(anode)
    return None


def _decide_wavelength(pattern: MeasuredPattern, given: str | float | None, override: bool) -> None:
    """Set the pattern's wavelength from its file or from ``given`` (see module docstring)."""
    src = pattern.source
    if given is None:
        return
    try:
        value = resolve_wavelength(given)
    except BxrdInputError as exc:
        raise PatternFileError(f"{src}: {exc}") from None
    recorded = pattern.wavelength if pattern.wavelength_source == "file" else None
    if recorded is not None and not override:
        if abs(value - recorded) <= WAVELENGTH_TOLERANCE * recorded:
            return
        raise PatternFileError(
            f"{src}: the file records λ = {recorded:.5f} Å, the given wavelength {given} is "
            f"{value:.5f} Å; leave --wavelength out to use the file's, or add "
            "--force_wavelength (Python: override_wavelength=True) to convert as if measured at it"
        )
    pattern.wavelength, pattern.lines = value, _given_lines(given)
    pattern.wavelength_source = "option"
    if recorded is not None:
        pattern.meta["file_wavelength"] = recorded
        pattern.wavelength_source = "forced"


def check_pattern(
    pattern: MeasuredPattern,
    negative_tolerance: float = 0.05,
    spike_ratio: float = 1000.0,
    max_intensity: float = 1e30,
) -> None:
    """Raise :class:`PatternFileError` naming ``pattern.source`` if the data are unusable.

    Args:
        pattern: the pattern to check.
        negative_tolerance: intensities down to −tolerance × max are taken as noise.
        spike_ratio: a single point more than this many times every other point is a
            spike (a glitch or a corrupted value), not a reflection: after normalisation the
            rest of the pattern would be flat.
        max_intensity: larger values are not measurements (a float overflow, a corrupted
            field): no detector counts 10^30.
    """
    x, y, src = pattern.two_theta, pattern.intensity, pattern.source
    if len(x) < 10:
        raise PatternFileError(f"{src}: only {len(x)} data points")
    for name, arr in (("2θ", x), ("intensity", y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise PatternFileError(
                f"{src}: {bad.sum()} NaN/inf {name} value(s), first at point {np.argmax(bad) + 1}"
            )
    step = np.diff(x)
    if (step == 0).any():
        i = int(np.argmax(step == 0))
        raise PatternFileError(f"{src}: duplicate 2θ {x[i]:g}° at points {i + 1} and {i + 2}")
    if (step < 0).any():
        i = int(np.argmax(step < 0))
        raise PatternFileError(
            f"{src}: 2θ is not increasing ({x[i]:g}° then {x[i + 1]:g}° at point {i + 2})"
        )
    if x[0] <= 0 or x[-1] >= 180:
        raise PatternFileError(f"{src}: 2θ range {x[0]:g}–{x[-1]:g}° is outside (0°, 180°)")
    top = np.max(np.abs(y))
    if top == 0:
        raise PatternFileError(f"{src}: all intensities are zero")
    i = int(np.argmax(np.abs(y)))
    if top > max_intensity:
        raise PatternFileError(
            f"{src}: intensity {y[i]:g} at 2θ {x[i]:g}° (point {i + 1}) is not a measurement "
            f"(beyond {max_intensity:g})"
        )
    second = np.partition(np.abs(y), -2)[-2]
    if top > spike_ratio * second:
        raise PatternFileError(
            f"{src}: a single point, {y[i]:g} at 2θ {x[i]:g}° (point {i + 1}), is more than "
            f"{spike_ratio:g}× every other point ({second:g}): a spike, not a pattern; remove it"
        )
    if y.min() < -negative_tolerance * top:
        raise PatternFileError(
            f"{src}: intensities down to {y.min():g} (max {top:g}) are negative beyond noise"
        )


def convert_wavelength(pattern: MeasuredPattern, wavelength: float) -> MeasuredPattern:
    """Re-express 2θ for another wavelength (Å) through Bragg's law at fixed d.

    Points whose d is not reachable with the new wavelength (λ/2d > 1, i.e. d < λ'/2) are
    dropped; their number is ``meta["dropped_points"]`` (0 when nothing was converted).

    Raises:
        PatternFileError: the pattern has no known wavelength.
    """
    if pattern.wavelength is None:
        raise PatternFileError(
            f"{pattern.source}: unknown wavelength (the file states none); give it "
            "(e.g. --wavelength CuKa or 1.5406)"
        )
    if abs(pattern.wavelength - wavelength) < 1e-6:
        return replace(pattern, meta={**pattern.meta, "dropped_points": 0})
    tt = two_theta_from_d(d_from_two_theta(pattern.two_theta, pattern.wavelength), wavelength)
    keep = np.isfinite(tt)
    meta = {**pattern.meta, "dropped_points": int((~keep).sum())}
    return replace(
        pattern,
        two_theta=tt[keep],
        intensity=pattern.intensity[keep],
        wavelength=wavelength,
        meta=meta,
    )


@dataclass
class GriddedPattern:
    """A measured pattern resampled onto a model grid.

    Attributes:
        intensity: shape (grid.n_points,), max 1, zero outside the measured range.
        coverage: fraction of the grid's 2θ range measured, in [0, 1] (gaps wider than
            :data:`GAP_DEG` are not measured).
        measured_range: 2θ range (degrees, at the model wavelength) that survived conversion.
        source: file name (``file#k`` for scan k of a multi-scan file).
        meta: the file's header fields (see :class:`MeasuredPattern`).
        wavelength: the measurement's wavelength, Å (before conversion).
        lines: the measurement's emission lines, if known.
        wavelength_source: where ``wavelength`` came from (see :class:`MeasuredPattern`).
        n_points: points read from the file.
        dropped_points: points whose d the model's wavelength cannot reach (λ/2d > 1), dropped
            by the conversion.
    """

    intensity: np.ndarray
    coverage: float
    measured_range: tuple[float, float]
    source: str
    meta: dict = field(default_factory=dict)
    wavelength: float | None = None
    lines: EmissionLines | None = None
    wavelength_source: str | None = None
    n_points: int = 0
    dropped_points: int = 0

    def conversion_note(self) -> str:
        """One line: wavelength and its origin, surviving 2θ range, points dropped."""
        lo, hi = self.measured_range
        text = f"λ {self.wavelength:.5f} Å ({self.wavelength_source}); used 2θ {lo:.2f}–{hi:.2f}°"
        if self.dropped_points:
            share = self.dropped_points / max(self.n_points, 1)
            text += (
                f"; {self.dropped_points:,} of {self.n_points:,} points ({share:.0%}) beyond the "
                "model wavelength's reach dropped"
            )
        return text


#: a measured step wider than this (degrees 2θ) is a gap: nothing was measured there, and
#: interpolating across it would invent a featureless stretch the model reads as data
GAP_DEG = 0.5
#: scans whose median step (degrees 2θ, at the model wavelength) is coarser than this are
#: refused: reflections 0.05–0.3° wide fall between the points (lab scans: 0.01–0.05°)
MAX_STEP_DEG = 0.2


def _gaps(two_theta: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Gaps (steps over :data:`GAP_DEG`) of ``two_theta`` clipped to [lo, hi], shape (G, 2)."""
    wide = np.flatnonzero(np.diff(two_theta) > GAP_DEG)
    gaps = np.stack([two_theta[wide], two_theta[wide + 1]], axis=1).clip(lo, hi)
    return gaps[gaps[:, 1] > gaps[:, 0]]


def to_grid(
    pattern: MeasuredPattern,
    grid: TwoThetaGrid,
    wavelength: float,
    background: bool = True,
    min_coverage: float = 0.5,
) -> GriddedPattern:
    """Convert to ``wavelength`` (Å), resample on ``grid``, subtract background, normalise.

    Raises:
        PatternFileError: unknown wavelength, a step coarser than :data:`MAX_STEP_DEG`, or
            less than ``min_coverage`` of the grid measured (gaps wider than
            :data:`GAP_DEG` count as not measured, and are zero in the result).
    """
    result = to_grids([pattern], grid, wavelength, background, min_coverage)[0]
    if isinstance(result, PatternFileError):
        raise result
    return result


def to_grids(
    patterns: Sequence[MeasuredPattern],
    grid: TwoThetaGrid,
    wavelength: float,
    background: bool = True,
    min_coverage: float = 0.5,
) -> list[GriddedPattern | PatternFileError]:
    """:func:`to_grid` of several patterns: per pattern, its gridded pattern or its error.

    The backgrounds are estimated together (:func:`~bxrd.xrd.prepare.prepare_measured_batch`:
    the values of one by one, without torch's per-call overhead for each pattern).
    """
    x = grid.values
    results: dict[int, GriddedPattern | PatternFileError] = {}
    kept: list[tuple[int, MeasuredPattern, float, float, float]] = []
    for i, pattern in enumerate(patterns):
        try:
            p = convert_wavelength(pattern, wavelength)
        except PatternFileError as exc:
            results[i] = exc
            continue
        if len(p.two_theta) < 2:
            results[i] = PatternFileError(
                f"{pattern.source}: no point is left at the model wavelength "
                f"({wavelength:g} Å cannot reach the scan's d)"
            )
            continue
        lo, hi = max(p.two_theta[0], grid.start), min(p.two_theta[-1], grid.stop)
        gaps = _gaps(p.two_theta, lo, hi)
        coverage = max(0.0, hi - lo - float((gaps[:, 1] - gaps[:, 0]).sum()))
        coverage /= grid.stop - grid.start
        if coverage < min_coverage:
            unmeasured = f", {len(gaps)} gap(s) over {GAP_DEG:g}° not counted" if len(gaps) else ""
            results[i] = PatternFileError(
                f"{pattern.source}: measured 2θ {p.two_theta[0]:.2f}–{p.two_theta[-1]:.2f}° "
                f"covers {coverage:.0%} of the model grid {grid.start:g}–{grid.stop:g}° "
                f"(need {min_coverage:.0%}{unmeasured})"
            )
            continue
        on_grid = p.two_theta[(p.two_theta >= lo) & (p.two_theta <= hi)]
        step = float(np.median(np.diff(on_grid)))
        if step > MAX_STEP_DEG:
            results[i] = PatternFileError(
                f"{pattern.source}: 2θ step {step:.3g}° on the model grid is coarser than "
                f"{MAX_STEP_DEG:g}°: reflections (0.05–0.3° wide) fall between the points"
            )
            continue
        kept.append((i, p, lo, hi, coverage, gaps))
    if not kept:
        return [results[i] for i in range(len(patterns))]
    y = np.stack([np.interp(x, p.two_theta, p.intensity, left=0.0, right=0.0) for _, p, *_ in kept])
    inside = np.stack([(x >= lo) & (x <= hi) for _, _, lo, hi, *_ in kept])
    y = prepare_measured_batch(y, inside, grid.step, background)
    for row, (i, p, lo, hi, coverage, gaps) in zip(y, kept, strict=True):
        pattern = patterns[i]
        for a, b in gaps:  # not measured: nothing there, as outside the range
            row[(x > a) & (x < b)] = 0.0
        if row.max() > 0:
            row /= row.max()
        if row.max() <= 0:
            results[i] = PatternFileError(f"{pattern.source}: no signal left on the model grid")
            continue
        results[i] = GriddedPattern(
            intensity=row.copy(),  # not a view that holds the whole batch
            coverage=coverage,
            measured_range=(float(lo), float(hi)),
            source=p.source,
            meta=p.meta,
            wavelength=pattern.wavelength,
            lines=pattern.lines,
            wavelength_source=pattern.wavelength_source,
            n_points=len(pattern),
            dropped_points=int(p.meta["dropped_points"]),
        )
    return [results[i] for i in range(len(patterns))]


def pattern_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into pattern file paths."""
    return expand_files(sources, PATTERN_SUFFIXES)


def load_patterns(
    sources: str | Path | Iterable[str | Path],
    grid: TwoThetaGrid,
    wavelength: float,
    file_wavelength: str | float | None = None,
    background: bool = True,
    override_wavelength: bool = False,
    allow_pickle: bool = False,
    limits: ReadLimits | None = None,
) -> tuple[list[GriddedPattern], list[str]]:
    """Read every scan under ``sources`` onto ``grid``; bad files give a message, not a crash.

    Args:
        sources: files and folders (folders searched recursively for pattern suffixes).
        grid: the model's 2θ grid, degrees.
        wavelength: the model's wavelength, Å; patterns are converted to it.
        file_wavelength: the measurement's wavelength (name or Å) for files that record none
            (the CLI's ``--wavelength``).
        background: subtract a smooth background.
        override_wavelength: use ``file_wavelength`` even where a file records another one.
        allow_pickle: read pickled ``.npy`` objects (numpy arrays and containers only).
        limits: file size / points / zip limits.

    Returns:
        The gridded patterns (file and scan order) and one message per skipped file or scan.
    """
    done, failures = [], []
    for path in pattern_files(sources):
        try:
            scans = read_patterns(path, file_wavelength, override_wavelength, allow_pickle, limits)
        except PatternFileError as exc:
            failures.append(str(exc))
            continue
        for measured in scans:
            try:
                done.append(to_grid(measured, grid, wavelength, background))
            except PatternFileError as exc:
                failures.append(str(exc))
    return done, failures
