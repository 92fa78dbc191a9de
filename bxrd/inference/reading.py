"""One measured file → the pattern as given and as the model sees it, with its wavelength.

The wavelength of a measurement comes from the file when it states one (RRUFF
``##WAVELENGTH=``, or the convention of its format: ``.npy`` patterns are Cu Kα), else from
the user's option. An option that contradicts the file is an error unless forced: converting
a Cu pattern as if it were Mo moves every peak and silently changes the answer. Lines of one
anode (Kα1, Kα, Kα2, within 0.5 %) agree; the file's value is used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bxrd.errors import PatternFileError
from bxrd.inference.answer import WavelengthSource
from bxrd.xrd.axis import Axis
from bxrd.xrd.pattern_io import GriddedPattern, MeasuredPattern, read_pattern, to_grid

#: relative difference under which a file's and an option's wavelengths agree (one anode)
SAME_WAVELENGTH = 5e-3


@dataclass
class Prepared:
    """A file ready for the model.

    Attributes:
        measured: the pattern as given (own 2θ axis, the wavelength used).
        gridded: on the model's axis: converted, resampled, background removed, normalised.
        source: where the wavelength came from.
    """

    measured: MeasuredPattern
    gridded: GriddedPattern
    source: WavelengthSource


def choose_wavelength(
    file: str, stated: float | None, option: float | None, force: bool
) -> tuple[float, WavelengthSource]:
    """Pick the wavelength (Å) of a measurement and say where it came from.

    Raises:
        PatternFileError: no wavelength at all, or ``option`` contradicts the file's
            ``stated`` wavelength and ``force`` is off.
    """
    if stated is None and option is None:
        raise PatternFileError(
            f"{file}: the file states no wavelength; give it (e.g. --wavelength CuKa or 1.5406)"
        )
    if stated is None:
        return float(option), "option"  # type: ignore[arg-type]
    if option is None or abs(option - stated) <= SAME_WAVELENGTH * stated:
        return float(stated), "file"
    if not force:
        raise PatternFileError(
            f"{file}: the file states λ = {stated:.5f} Å but --wavelength gives {option:.5f} Å; "
            "drop --wavelength, or add --force_wavelength to convert as if measured at it"
        )
    return float(option), "forced"


def prepare(
    path: str | Path,
    axis: Axis,
    option: float | None = None,
    force: bool = False,
    background: bool = True,
) -> Prepared:
    """Read ``path``, choose its wavelength, put it on ``axis``.

    Args:
        path: pattern file.
        axis: the model's 2θ grid and wavelength.
        option: wavelength given by the user (Å), or None.
        force: let ``option`` override a wavelength stated in the file.
        background: subtract a rolling-ball-like background.

    Raises:
        PatternFileError: the file cannot be used (the message names it).
    """
    measured = read_pattern(path)
    wavelength, source = choose_wavelength(measured.source, measured.wavelength, option, force)
    measured = replace(measured, wavelength=wavelength)
    return Prepared(measured, to_grid(measured, axis.grid, axis.wavelength, background), source)
