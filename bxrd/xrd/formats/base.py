"""What every reader returns: a measured pattern with the wavelength its file records.

A reader turns one file into one or more :class:`MeasuredPattern` (one per scan). The X-ray
source recorded in the file becomes :func:`file_lines`: Kα1, Kα2 and their intensity ratio
I(Kα2)/I(Kα1) when the file gives them, the anode's tabulated lines
(:data:`bxrd.xrd.wavelength.EMISSION_LINES`) when it names only the anode, and Kα1 alone when
an incident-beam monochromator removes Kα2. ``wavelength`` is then the intensity-weighted Kα
average (λ1 + r λ2)/(1 + r), the single wavelength a model's grid refers to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bxrd.errors import BxrdInputError
from bxrd.xrd.wavelength import EMISSION_LINES, EmissionLines, emission_lines


@dataclass
class MeasuredPattern:
    """A measured pattern on its own 2θ axis.

    Attributes:
        two_theta: angles, degrees 2θ, strictly increasing, shape (N,).
        intensity: counts, counts per second or arbitrary units (``meta["intensity_unit"]``),
            shape (N,).
        wavelength: Å (the Kα average of ``lines``, or a single line), or None when the file
            does not say and the caller gave none.
        source: file the pattern came from (``file#k`` for scan k of a multi-scan file).
        meta: header fields (RRUFF ``##KEY=value``, ``.npy`` labels, vendor header, ...).
        lines: the tube's emission lines as recorded (Kα2 ratio 0 when monochromated to
            Kα1), or None when only a single wavelength is known.
        wavelength_source: where ``wavelength`` came from: ``"file"``, ``"option"`` (given by
            the caller), ``"default"`` (a format's documented convention, e.g. RRUFF ``.npy``
            is Cu Kα), or None when unknown.
    """

    two_theta: np.ndarray
    intensity: np.ndarray
    wavelength: float | None
    source: str
    meta: dict = field(default_factory=dict)
    lines: EmissionLines | None = None
    wavelength_source: str | None = None

    def __len__(self) -> int:
        return len(self.two_theta)


@dataclass(frozen=True)
class ReadOptions:
    """Reader options that are not limits.

    Attributes:
        allow_pickle: read pickled ``.npy`` object arrays (RRUFF-style dicts), restricted to
            numpy arrays and plain containers (see :mod:`bxrd.xrd.formats.npy`).
        npy_start: first 2θ (degrees) of ``.npy``/``.npz`` intensity vectors.
        npy_step: 2θ step (degrees) of ``.npy``/``.npz`` intensity vectors.
        npy_wavelength: wavelength of ``.npy``/``.npz`` vectors (RRUFF convention: Cu Kα).
    """

    allow_pickle: bool = False
    npy_start: float = 5.0
    npy_step: float = 0.01
    npy_wavelength: str | float = "CuKa"


def _num(value: object, allow_zero: bool = False) -> float | None:
    """Return a recorded value as a finite positive number (or zero), else None."""
    try:
        out = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and (out > 0 or (allow_zero and out == 0)) else None


def file_lines(
    anode: str | None = None,
    ka1: object = None,
    ka2: object = None,
    ratio: object = None,
    kb: object = None,
    monochromator: bool = False,
) -> EmissionLines | None:
    """Emission lines from the values a file records (strings or numbers, Å); None if none.

    Args:
        anode: anode element (``"Cu"``), if recorded.
        ka1: Kα1 wavelength, Å, if recorded.
        ka2: Kα2 wavelength, Å, if recorded.
        kb: Kβ wavelength, Å, if recorded.
        ratio: I(Kα2)/I(Kα1), if recorded (0.5 from the anode table otherwise).
        monochromator: an incident-beam monochromator passes Kα1 only (ratio set to 0).

    Raises:
        BxrdInputError: recorded values outside the X-ray range 0.1–5 Å.
    """
    name = (anode or "").strip()
    table = EMISSION_LINES.get(name[:2].capitalize()) if name else None
    a1, a2, b, r = _num(ka1), _num(ka2), _num(kb), _num(ratio, allow_zero=True)
    if a1 is None:
        if table is None:
            return None
        a1, a2 = table.ka1, table.ka2
    for value in (a1, a2):
        if value is not None and not 0.1 <= value <= 5.0:
            raise BxrdInputError(f"recorded wavelength {value} Å is outside 0.1–5 Å")
    if a2 is None or monochromator or r == 0.0:
        a2, r = a1, 0.0
    elif r is None:
        r = table.ka2_ratio if table else emission_lines("Cu").ka2_ratio
    kbeta = b if b is not None else (table.kb if table else float("nan"))
    return EmissionLines(table.anode if table else name, a1, a2, r, kbeta)


def make_pattern(
    path: object,
    two_theta: np.ndarray,
    intensity: np.ndarray,
    meta: dict | None = None,
    lines: EmissionLines | None = None,
    wavelength: float | None = None,
    scan: int | None = None,
) -> MeasuredPattern:
    """Build a pattern whose wavelength (if any) came from its file.

    Args:
        path: the file.
        two_theta: degrees 2θ, shape (N,).
        intensity: shape (N,).
        meta: header fields.
        lines: recorded emission lines; ``wavelength`` defaults to their Kα average.
        wavelength: a single recorded wavelength, Å (synchrotron, or no lines).
        scan: 1-based scan number in a multi-scan file (appended to the source as ``#k``).
    """
    wl = lines.ka if lines is not None and wavelength is None else wavelength
    return MeasuredPattern(
        two_theta=np.asarray(two_theta, dtype=float),
        intensity=np.asarray(intensity, dtype=float),
        wavelength=wl,
        source=str(path) if scan is None else f"{path}#{scan}",
        meta=dict(meta or {}),
        lines=lines,
        wavelength_source="file" if wl is not None else None,
    )
