"""One measured file → its scans as given and as the model sees them, with their wavelength.

Which wavelength a measurement has is decided once, by the readers
(:func:`bxrd.xrd.pattern_io.read_patterns`): the file's own when it records one, the user's
option when it records none, a documented format convention (RRUFF ``.npy``: Cu Kα) as
``default``; an option contradicting the file is an error unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bxrd.inference.answer import WavelengthSource
from bxrd.xrd.axis import Axis
from bxrd.xrd.pattern_io import GriddedPattern, MeasuredPattern, read_patterns, to_grid


@dataclass
class Prepared:
    """One scan ready for the model.

    Attributes:
        measured: the scan as given (own 2θ axis, the wavelength used).
        gridded: on the model's axis: converted, resampled, background removed, normalised.
        source: where the wavelength came from.
    """

    measured: MeasuredPattern
    gridded: GriddedPattern
    source: WavelengthSource


def prepare(
    path: str | Path,
    axis: Axis,
    option: float | None = None,
    force: bool = False,
    background: bool = True,
    allow_pickle: bool = False,
) -> list[Prepared]:
    """Read every scan of ``path`` and put it on ``axis``.

    Args:
        path: pattern file (any format of :mod:`bxrd.xrd.formats`).
        axis: the model's 2θ grid and wavelength.
        option: wavelength given by the user (Å), or None.
        force: let ``option`` override a wavelength recorded in the file.
        background: subtract the background (the preparation training patterns get).
        allow_pickle: read pickled ``.npy`` dicts (trusted files only).

    Raises:
        PatternFileError: the file cannot be used (the message names it).
    """
    scans = read_patterns(path, option, force, allow_pickle)
    return [
        Prepared(m, to_grid(m, axis.grid, axis.wavelength, background), m.wavelength_source)
        for m in scans
    ]
