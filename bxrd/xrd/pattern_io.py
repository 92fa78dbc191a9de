"""Measured powder patterns: read files, check them, convert wavelength, put them on a grid.

Formats read by :func:`read_pattern`:

* two- or three-column text (``.xy``, ``.xye``, ``.csv``, ``.txt``, ``.dat``): 2θ (degrees)
  and intensity, separated by blanks, commas, semicolons or tabs; comment lines starting with
  ``#``, ``!``, ``'`` or ``;`` and a non-numeric header are skipped. Fixed-width files whose
  columns run together (``14.11852709`` for ``14.1185  2709``) are split at the column width
  of the file's other lines, and accepted only if the 2θ step stays consistent.
* RRUFF powder text files: ``##KEY=value`` header lines (``##WAVELENGTH=`` gives λ in Å),
  data as ``2θ, I``, ending with ``##END=``.
* RRUFF-derived ``.npy`` dicts with ``features`` (1 × N intensities on 2θ = 5° + 0.01° × i,
  Cu Kα); the grid can be overridden with ``npy_start``/``npy_step``.

Every problem raises :class:`~bxrd.errors.PatternFileError` naming the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bxrd.errors import PatternFileError
from bxrd.fileio import expand_files
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.wavelength import d_from_two_theta, resolve_wavelength, two_theta_from_d

#: File suffixes read as measured patterns.
PATTERN_SUFFIXES: tuple[str, ...] = (".xy", ".xye", ".csv", ".txt", ".dat", ".npy")
_SPLIT = re.compile(r"[\s,;]+")
_COMMENT = ("#", "!", "'", ";", "//")


@dataclass
class MeasuredPattern:
    """A measured pattern on its own 2θ axis.

    Attributes:
        two_theta: angles, degrees 2θ, strictly increasing, shape (N,).
        intensity: counts or arbitrary units, shape (N,).
        wavelength: Å, or None when the file did not say and the caller gave none.
        source: file the pattern came from.
        meta: header fields (RRUFF ``##KEY=value``, ``.npy`` labels, ...).
    """

    two_theta: np.ndarray
    intensity: np.ndarray
    wavelength: float | None
    source: str
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.two_theta)


def _parse_text(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    text = path.read_text(encoding="utf-8", errors="replace")
    meta: dict[str, str] = {}
    rows: list[list[str]] = []
    raw: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("##"):
            key, _, value = s[2:].partition("=")
            if key.strip().upper() == "END":
                break
            meta[key.strip().upper()] = value.strip()
            continue
        if s.startswith(_COMMENT):
            continue
        tokens = [t for t in _SPLIT.split(s) if t]
        if not rows and not _is_number(tokens[0]):
            continue  # a column header
        rows.append(tokens)
        raw.append(line.rstrip("\r\n"))
    if not rows:
        raise PatternFileError(f"{path}: no numeric data")
    rows = _split_merged_columns(path, rows, raw)
    try:
        values = np.array([[float(t) for t in r[:2]] for r in rows], dtype=float)
    except ValueError as exc:
        raise PatternFileError(f"{path}: non-numeric value in data ({exc})") from None
    return values[:, 0], values[:, 1], meta


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


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


def _read_npy(path: Path, start: float, step: float) -> tuple[np.ndarray, np.ndarray, dict]:
    try:
        obj = np.load(path, allow_pickle=True)
    except (OSError, ValueError) as exc:
        raise PatternFileError(f"{path}: not a readable .npy file ({exc})") from None
    if obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if isinstance(obj, dict):
        if "features" not in obj:
            raise PatternFileError(f"{path}: .npy dict has no 'features' array")
        y = np.asarray(obj["features"], dtype=float).ravel()
        meta = {k: np.asarray(v).tolist() for k, v in obj.items() if k != "features"}
        return start + step * np.arange(len(y)), y, meta
    arr = np.asarray(obj, dtype=float)
    if arr.ndim == 2 and 2 in arr.shape:
        arr = arr if arr.shape[1] == 2 else arr.T
        return arr[:, 0], arr[:, 1], {}
    if arr.ndim == 1 or (arr.ndim == 2 and 1 in arr.shape):
        y = arr.ravel()
        return start + step * np.arange(len(y)), y, {}
    raise PatternFileError(f"{path}: .npy array of shape {arr.shape} is not a pattern")


def read_pattern(
    path: str | Path,
    wavelength: str | float | None = None,
    npy_start: float = 5.0,
    npy_step: float = 0.01,
    npy_wavelength: str | float = "CuKa",
) -> MeasuredPattern:
    """Read and check one measured pattern.

    Args:
        path: pattern file (see module docstring for formats).
        wavelength: wavelength of the measurement (name or Å); overrides the file's header.
        npy_start: first 2θ (degrees) of ``.npy`` intensity vectors.
        npy_step: 2θ step (degrees) of ``.npy`` intensity vectors.
        npy_wavelength: wavelength of ``.npy`` patterns when not given.

    Raises:
        PatternFileError: unreadable file, NaN/inf values, 2θ not strictly increasing or
            duplicated, 2θ outside (0°, 180°), intensities negative beyond noise, or an
            unknown wavelength.
    """
    path = Path(path)
    if not path.is_file():
        raise PatternFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in PATTERN_SUFFIXES:
        raise PatternFileError(f"{path}: unknown pattern format {suffix!r}")
    if suffix == ".npy":
        x, y, meta = _read_npy(path, npy_start, npy_step)
        file_wl: str | float | None = npy_wavelength
    else:
        x, y, meta = _parse_text(path)
        file_wl = meta.get("WAVELENGTH")
    given = wavelength if wavelength is not None else file_wl
    try:
        wl = None if given is None else resolve_wavelength(given)
    except ValueError as exc:
        raise PatternFileError(f"{path}: {exc}") from None
    pattern = MeasuredPattern(x, y, wl, str(path), meta)
    check_pattern(pattern)
    return pattern


def check_pattern(pattern: MeasuredPattern, negative_tolerance: float = 0.05) -> None:
    """Raise :class:`PatternFileError` naming ``pattern.source`` if the data are unusable.

    Args:
        pattern: the pattern to check.
        negative_tolerance: intensities down to −tolerance × max are taken as noise.
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
    if y.min() < -negative_tolerance * top:
        raise PatternFileError(
            f"{src}: intensities down to {y.min():g} (max {top:g}) are negative beyond noise"
        )


def convert_wavelength(pattern: MeasuredPattern, wavelength: float) -> MeasuredPattern:
    """Re-express 2θ for another wavelength (Å) through Bragg's law at fixed d.

    Points whose d is not reachable with the new wavelength (λ/2d > 1) are dropped and listed
    in ``meta["dropped_points"]``.

    Raises:
        PatternFileError: the pattern has no known wavelength.
    """
    if pattern.wavelength is None:
        raise PatternFileError(
            f"{pattern.source}: unknown wavelength; give it (e.g. --wavelength CuKa or 1.5406)"
        )
    if abs(pattern.wavelength - wavelength) < 1e-6:
        return pattern
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


def _moving(y: np.ndarray, window: int, reduce: str) -> np.ndarray:
    """Centred moving ``min`` or ``mean`` over an odd ``window`` of points.

    Edges are padded with the end values (scipy.ndimage's ``mode="nearest"``). numpy only:
    scipy.ndimage costs 0.3 s to import on the ``bxrd predict`` path.
    """
    half = window // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(y, half, mode="edge"), window)
    return windows.min(axis=-1) if reduce == "min" else windows.mean(axis=-1)


def subtract_background(y: np.ndarray, window: int = 101, iterations: int = 20) -> np.ndarray:
    """Remove a smooth background by iterative clipping to a moving minimum-then-mean.

    Args:
        y: intensities on a uniform grid, shape (N,).
        window: smoothing window in points (odd; about 2° at 0.02° steps).
        iterations: clipping passes; each lowers the estimate under the peaks.
    """
    if window % 2 == 0:
        raise ValueError(f"background window must be odd, got {window}")
    bg = y.astype(float)
    for _ in range(iterations):
        bg = np.minimum(bg, _moving(_moving(bg, window, "min"), window, "mean"))
    return np.clip(y - bg, 0.0, None)


@dataclass
class GriddedPattern:
    """A measured pattern resampled onto a model grid.

    Attributes:
        intensity: shape (grid.n_points,), max 1, zero outside the measured range.
        coverage: fraction of the grid covered by the measurement, in [0, 1].
        measured_range: 2θ range (degrees, at the model wavelength) that survived conversion.
        source: file name.
        meta: the file's header fields (see :class:`MeasuredPattern`).
    """

    intensity: np.ndarray
    coverage: float
    measured_range: tuple[float, float]
    source: str
    meta: dict = field(default_factory=dict)


def to_grid(
    pattern: MeasuredPattern,
    grid: TwoThetaGrid,
    wavelength: float,
    background: bool = True,
    min_coverage: float = 0.5,
) -> GriddedPattern:
    """Convert to ``wavelength`` (Å), resample on ``grid``, subtract background, normalise.

    Raises:
        PatternFileError: unknown wavelength, or less than ``min_coverage`` of the grid is
            covered by the measured range.
    """
    p = convert_wavelength(pattern, wavelength)
    lo, hi = max(p.two_theta[0], grid.start), min(p.two_theta[-1], grid.stop)
    coverage = max(0.0, hi - lo) / (grid.stop - grid.start)
    if coverage < min_coverage:
        raise PatternFileError(
            f"{pattern.source}: measured 2θ {p.two_theta[0]:.2f}–{p.two_theta[-1]:.2f}° covers "
            f"{coverage:.0%} of the model grid {grid.start:g}–{grid.stop:g}° "
            f"(need {min_coverage:.0%})"
        )
    x = grid.values
    y = np.interp(x, p.two_theta, p.intensity, left=0.0, right=0.0)
    if background:
        inside = (x >= lo) & (x <= hi)
        y[inside] = subtract_background(y[inside], window=max(5, int(round(2.0 / grid.step)) | 1))
    y = np.clip(y, 0.0, None)
    top = y.max()
    if top <= 0:
        raise PatternFileError(f"{pattern.source}: no signal left on the model grid")
    span = (float(lo), float(hi))
    return GriddedPattern((y / top).astype(np.float32), coverage, span, p.source, p.meta)


def pattern_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into pattern file paths."""
    return expand_files(sources, PATTERN_SUFFIXES)


def load_patterns(
    sources: str | Path | Iterable[str | Path],
    grid: TwoThetaGrid,
    wavelength: float,
    file_wavelength: str | float | None = None,
    background: bool = True,
) -> tuple[list[GriddedPattern], list[str]]:
    """Read every pattern under ``sources`` onto ``grid``; bad files give a message, not a crash.

    Returns:
        The gridded patterns (file order) and one message per skipped file.
    """
    done, failures = [], []
    for path in pattern_files(sources):
        try:
            measured = read_pattern(path, file_wavelength)
            done.append(to_grid(measured, grid, wavelength, background))
        except PatternFileError as exc:
            failures.append(str(exc))
    return done, failures
