r"""Powder CIF (``.cif`` with ``_pd_`` items): the measured profile of a pdCIF data block.

Written here: pymatgen's and gemmi's CIF readers aim at structures (pymatgen takes seconds to
import and drops loops it does not know); a pdCIF profile needs only a small tokenizer for
``_tag value`` items and ``loop_`` tables.

Read per data block (IUCr pdCIF dictionary):

* 2θ: a loop column ``_pd_meas_2theta_scan``, ``_pd_meas_angle_2theta`` or
  ``_pd_proc_2theta_corrected``, or ``_pd_meas_2theta_range_min``/``_max``/``_inc`` (also
  ``_pd_proc_2theta_range_*``), degrees;
* intensity: ``_pd_meas_counts_total``, ``_pd_meas_intensity_total`` or
  ``_pd_proc_intensity_total`` (esd in parentheses dropped);
* wavelength: ``_diffrn_radiation_wavelength`` — one value, or a loop of lines with
  ``_diffrn_radiation_wavelength_wt`` weights (two lines → Kα1, Kα2 and their ratio);
  ``_diffrn_radiation_type`` (``Cu K\\a``) names the anode.

Semicolon text fields are skipped. A block without a profile is not a pattern; a file without
any such block is refused.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.xrd.formats.base import MeasuredPattern, ReadOptions, file_lines, make_pattern
from bxrd.xrd.formats.limits import ReadLimits, check_points

_X = ("_pd_meas_2theta_scan", "_pd_meas_angle_2theta", "_pd_proc_2theta_corrected")
_Y = ("_pd_meas_counts_total", "_pd_meas_intensity_total", "_pd_proc_intensity_total")
_ESD = re.compile(r"\(\d+\)$")


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True, posix=True)
    except ValueError:
        return line.split()


def _blocks(text: str) -> list[tuple[dict[str, str], list[dict[str, list[str]]]]]:
    """Per data block: single items and loops (tag → column of raw values)."""
    blocks: list = []
    items: dict[str, str] = {}
    loops: list[dict[str, list[str]]] = []
    loop_tags: list[str] | None = None
    values: list[str] = []
    pending: str | None = None
    in_text = False

    def close_loop() -> None:
        nonlocal loop_tags, values
        if loop_tags:
            n = len(loop_tags)
            loops.append({t: values[i::n] for i, t in enumerate(loop_tags)})
        loop_tags, values = None, []

    for line in text.splitlines():
        if line.startswith(";"):
            in_text = not in_text
            if not in_text and pending:
                items[pending], pending = "", None
            continue
        if in_text:
            continue
        toks = _tokens(line)
        if not toks:
            continue
        head = toks[0].lower()
        if head.startswith("data_"):
            close_loop()
            items, loops = {}, []
            blocks.append((items, loops))
            continue
        if head == "loop_":
            close_loop()
            loop_tags = []
            continue
        if head.startswith("_"):
            if loop_tags is not None and not values:
                loop_tags.append(head)
                continue
            close_loop()
            if len(toks) > 1:
                items[head] = toks[1]
            else:
                pending = head
            continue
        if pending is not None:
            items[pending], pending = toks[0], None
        elif loop_tags is not None:
            values += toks
    close_loop()
    return blocks


def _floats(path: Path, raw: list[str], tag: str) -> np.ndarray:
    try:
        return np.array(
            [np.nan if v in (".", "?") else float(_ESD.sub("", v)) for v in raw], dtype=float
        )
    except ValueError:
        raise PatternFileError(f"{path}: non-numeric value in {tag}") from None


def read_pdcif(
    path: Path, data: bytes, limits: ReadLimits, options: ReadOptions
) -> list[MeasuredPattern]:
    """Read the profile of every pdCIF data block (see module docstring)."""
    found = []
    for items, loops in _blocks(data.decode("utf-8", errors="replace")):
        profile = next((lp for lp in loops if any(t in lp for t in _Y)), None)
        if profile is None:
            continue
        ytag = next(t for t in _Y if t in profile)
        y = _floats(path, profile[ytag], ytag)
        check_points(path, len(y), limits)
        xtag = next((t for t in _X if t in profile), None)
        if xtag is not None:
            x = _floats(path, profile[xtag], xtag)
        else:
            x = _range(path, items, len(y))
        found.append((x, y, items, loops))
    if not found:
        raise PatternFileError(f"{path}: CIF has no powder profile (_pd_meas_counts_total, ...)")
    out = []
    for k, (x, y, items, loops) in enumerate(found, start=1):
        lines, wl = _wavelength(path, items, loops)
        meta = {"intensity_unit": "counts", "radiation": items.get("_diffrn_radiation_type")}
        out.append(make_pattern(path, x, y, meta, lines, wl, k if len(found) > 1 else None))
    return out


def _range(path: Path, items: dict[str, str], n: int) -> np.ndarray:
    for prefix in ("_pd_meas_2theta_range_", "_pd_proc_2theta_range_"):
        if prefix + "min" in items and prefix + "inc" in items:
            lo, inc = (_floats(path, [items[prefix + k]], prefix + k)[0] for k in ("min", "inc"))
            return lo + inc * np.arange(n)
    raise PatternFileError(f"{path}: CIF profile has intensities but no 2θ values or range")


def _wavelength(
    path: Path, items: dict[str, str], loops: list[dict[str, list[str]]]
) -> tuple[object, float | None]:
    radiation = items.get("_diffrn_radiation_type", "")
    anode = (
        radiation[:2]
        if radiation[:2].capitalize() in ("Cu", "Co", "Fe", "Cr", "Mo", "Ag")
        else None
    )
    table = next((lp for lp in loops if "_diffrn_radiation_wavelength" in lp), None)
    try:
        if table is not None and len(table["_diffrn_radiation_wavelength"]) >= 2:
            lam = _floats(path, table["_diffrn_radiation_wavelength"], "wavelength")
            wt = _floats(path, table.get("_diffrn_radiation_wavelength_wt", ["1", "0.5"]), "wt")
            return file_lines(anode, lam[0], lam[1], wt[1] / wt[0] if wt[0] else None), None
        single = (
            table["_diffrn_radiation_wavelength"][0]
            if table
            else items.get("_diffrn_radiation_wavelength")
        )
        if single is not None:
            value = float(_ESD.sub("", single))
            if not 0.1 <= value <= 5.0:
                raise BxrdInputError(f"recorded wavelength {value} Å is outside 0.1–5 Å")
            return None, value
        return file_lines(anode), None
    except (BxrdInputError, ValueError) as exc:
        raise PatternFileError(f"{path}: {exc}") from None
