"""One measured file → its scans as given and as the model sees them, with their wavelength.

Which wavelength a measurement has is decided once, by the readers
(:func:`bxrd.xrd.pattern_io.read_patterns`): the file's own when it records one, the user's
option when it records none, a documented format convention (RRUFF ``.npy``: Cu Kα) as
``default``; an option contradicting the file is an error unless forced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from bxrd.data.search_match import SearchLibrary
from bxrd.errors import PatternFileError
from bxrd.explain.one_family import one_family
from bxrd.inference.answer import WavelengthSource
from bxrd.inference.output import split_source
from bxrd.inference.prefetch import torch_threads
from bxrd.xrd.axis import Axis
from bxrd.xrd.pattern_io import GriddedPattern, MeasuredPattern, read_patterns, to_grids
from bxrd.xrd.roughness import noise_dominated

#: a dropped scan's arrays (:class:`FileReader` without ``keep_measured``)
NO_POINTS = np.empty(0)


@dataclass
class Prepared:
    """One scan ready for the model.

    Attributes:
        measured: the scan as given (own 2θ axis, the wavelength used).
        gridded: on the model's axis: converted, resampled, background removed, normalised.
        source: where the wavelength came from.
        neighbours: the closest library structures (``structure_id``, ``formula``,
            ``space_group``, cosine ``similarity``, ``note``), when a library was searched.
        one_family: the gridded scan's single reflection family
            (:func:`bxrd.explain.one_family.one_family`, as a dict), else None.
        noise_dominated: the scan as measured (own step and range) is more noise than
            diffraction (:mod:`bxrd.xrd.roughness`); gridding would smooth a coarser scan.
        perovskite_similarity: cosine similarity of the gridded scan to the closest clean
            pattern of the perovskites the model learned from, when that library was given.
    """

    measured: MeasuredPattern
    gridded: GriddedPattern
    source: WavelengthSource
    neighbours: list[dict] = field(default_factory=list)
    one_family: dict | None = None
    noise_dominated: bool = False
    perovskite_similarity: float | None = None


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
    result = prepare_files([path], axis, option, force, background, allow_pickle)[0]
    if isinstance(result, PatternFileError):
        raise result
    return result


def prepare_source(source: str, axis: Axis, option: float | None = None) -> Prepared:
    """Prepare the scan an answer's ``file`` names: ``path``, or ``path#k`` (scan k).

    Raises:
        PatternFileError: the file cannot be used (the message names it).
    """
    path, scan = split_source(source)
    return prepare(path, axis, option)[max(scan, 1) - 1]


def prepare_files(
    paths: Sequence[str | Path],
    axis: Axis,
    option: float | None = None,
    force: bool = False,
    background: bool = True,
    allow_pickle: bool = False,
) -> list[list[Prepared] | PatternFileError]:
    """:func:`prepare` of several files: per file, its scans or the error that refused it.

    The scans of all files are put on the grid together (:func:`to_grids`); a file is
    refused by its first scan that cannot be gridded, as by :func:`prepare`.
    """
    read: list[list[MeasuredPattern] | PatternFileError] = []
    for path in paths:
        try:
            read.append(read_patterns(path, option, force, allow_pickle))
        except PatternFileError as exc:
            read.append(exc)
    scans = [m for r in read if not isinstance(r, PatternFileError) for m in r]
    # one torch thread: the batched background's ~80 small operations gain nothing from a
    # second one, and on a busy machine each would wait for it (measured on 2 loaded
    # cores: 5.8 ms per pattern with 2 threads, 0.14 ms with 1)
    with torch_threads(1):
        gridded = iter(to_grids(scans, axis.grid, axis.wavelength, background))
    out: list[list[Prepared] | PatternFileError] = []
    for r in read:
        if isinstance(r, PatternFileError):
            out.append(r)
            continue
        grids = [next(gridded) for _ in r]
        error = next((g for g in grids if isinstance(g, PatternFileError)), None)
        if error is not None:
            out.append(error)
            continue
        out.append([_prepared(m, g, axis) for m, g in zip(r, grids, strict=True)])  # type: ignore[arg-type]
    return out


def _prepared(measured: MeasuredPattern, gridded: GriddedPattern, axis: Axis) -> Prepared:
    """Return the scan with the checks that need no model: one family, noise (~1 ms)."""
    family = one_family(gridded.intensity, axis.two_theta, axis.wavelength)
    noisy = noise_dominated(torch.as_tensor(measured.intensity)[None])
    return Prepared(
        measured,
        gridded,
        measured.wavelength_source,  # type: ignore[arg-type]
        one_family=family.as_dict() if family else None,
        noise_dominated=bool(noisy),
    )


@dataclass
class FileReader:
    """Files → their prepared scans with search-match neighbours, a batch at a time.

    The batch function of :func:`~bxrd.inference.prefetch.prepared` (it may run in a reader
    process). Arguments as :func:`prepare`, plus the search ``library`` (None: none) and the
    number of ``neighbours`` listed per scan, and the library of the model's training
    ``perovskites`` (None: none) whose closest pattern each scan is compared with. Without
    ``keep_measured`` a scan's own 2θ and intensity arrays are dropped once it is gridded
    (its wavelength and header stay): a long scan then costs memory only while it is read.
    """

    axis: Axis
    option: float | None
    force: bool
    background: bool
    allow_pickle: bool
    library: SearchLibrary | None
    neighbours: int
    perovskites: SearchLibrary | None = None
    keep_measured: bool = True

    def __call__(self, files: list[str | Path]) -> list[list[Prepared] | PatternFileError]:
        """One result per file: its scans, or the error that refused it."""
        out = prepare_files(
            files, self.axis, self.option, self.force, self.background, self.allow_pickle
        )
        ready = [p for r in out if not isinstance(r, PatternFileError) for p in r]
        if not self.keep_measured:
            for p in ready:
                p.measured = replace(p.measured, two_theta=NO_POINTS, intensity=NO_POINTS)
        if not ready:
            return out
        queries = np.stack([p.gridded.intensity for p in ready])  # (N, L), both searches'
        if self.library is not None:
            lib = self.library
            closest = lib.search(queries, self.neighbours)
            for p, idx, sim in zip(ready, *closest, strict=True):
                p.neighbours = [
                    {
                        "structure_id": lib.structure_id[i],
                        "formula": lib.formula[i],
                        "space_group": lib.space_group[i],
                        "similarity": round(float(v), 4),
                        "note": lib.note[i],
                    }
                    for i, v in zip(idx, sim, strict=True)
                ]
        if self.perovskites is not None:
            _, best = self.perovskites.search(queries, 1)
            for p, v in zip(ready, best[:, 0].tolist(), strict=True):
                p.perovskite_similarity = round(v, 4)
        return out
