"""Search-match: the closest library patterns to a query, by cosine similarity.

What a crystallographer does first with a measured pattern: compare it with the simulated
patterns of known structures and read off the best matches. Here the library is the clean
simulation of every training structure (one pattern per structure, on the model's 2θ grid,
preprocessed as the network sees its input: max-normalised intensities), with its formula,
space group and labels. A query is answered by the ``k`` most similar library patterns
(cosine similarity, 1 = identical shape), computed in chunks of the library so memory stays
bounded (``chunk`` × number of queries floats).

numpy only, so ``bxrd predict`` can list the closest known structures beside the
classifier's answer, and the evaluation suite can score search-match as a baseline
(the label of the nearest library pattern as the prediction).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bxrd.data.store import PatternSet
from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_path
from bxrd.xrd.axis import Axis
from bxrd.xrd.grid import TwoThetaGrid

#: Order of the axis numbers stored in a library file.
AXIS_KEYS = ("start", "stop", "step", "wavelength")
#: Note on a cell with a molecular A cation: DFT relaxes one frozen orientation of each
#: molecule, and spglib reads that orientation's symmetry (cubic MAPbI3: Pm; cubic FAPbI3:
#: Pmm2), not the orientationally disordered average structure a film at room temperature
#: shows (:mod:`bxrd.crystal.molecules`).
ORDERED_MOLECULE = "group of one frozen molecule orientation"


def unit_rows(patterns: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length, shape as ``patterns`` (N, L); zero rows stay 0."""
    x = np.asarray(patterns, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


@dataclass
class Match:
    """One library pattern close to a query.

    Attributes:
        structure_id: library structure.
        formula: its reduced formula.
        space_group: its space group, e.g. ``"Pnma (62)"``.
        similarity: cosine similarity to the query, in [-1, 1] (≥ 0 for intensities).
        note: what the reader should know about the entry ("" if nothing), e.g.
            :data:`ORDERED_MOLECULE`.
    """

    structure_id: str
    formula: str
    space_group: str
    similarity: float
    note: str = ""


@dataclass
class SearchLibrary:
    """Clean patterns of known structures with their metadata.

    Attributes:
        patterns: shape (M, L), rows scaled to unit length (see :func:`unit_rows`).
        structure_id: one id per row.
        formula: one reduced formula per row.
        space_group: one space-group name per row.
        labels: task → class index per row, shape (M,) (for scoring search-match).
        note: one note per row ("" for none; empty list: none at all), e.g.
            :data:`ORDERED_MOLECULE` for a DFT cell whose space group is that of one frozen
            molecule orientation.
        axis: the 2θ grid and wavelength the patterns were made on (None: unknown; a
            library is only comparable with patterns on the same axis).
        chunk: library rows compared at once.
    """

    patterns: np.ndarray
    structure_id: list[str]
    formula: list[str]
    space_group: list[str]
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    axis: Axis | None = None
    chunk: int = 2048
    note: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.patterns = unit_rows(self.patterns)
        n = len(self.patterns)
        self.note = list(self.note) or [""] * n
        for name in ("structure_id", "formula", "space_group", "note"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, patterns {n}")

    def __len__(self) -> int:
        return len(self.patterns)

    @classmethod
    def from_structures(
        cls,
        sources: list[str | Path],
        grid: TwoThetaGrid,
        wavelength: float,
        synthesized: bool | None = None,
        size_nm: float = 40.0,
    ) -> tuple[SearchLibrary, list[str]]:
        """Make a library of known structures: one clean simulated pattern per structure file.

        Args:
            sources: structure files or folders (CIF, pymatgen JSON, CSV of CIFs; a folder's
                ``manifest.csv`` gives provenance and the ``synthesized`` flag).
            grid: the model's 2θ grid, degrees.
            wavelength: the model's wavelength, Å.
            synthesized: keep only structures with this manifest flag (None: all).
            size_nm: crystallite size of the clean render (Scherrer width), nm.

        Returns:
            The library and one message per skipped structure file. An ordered cell with a
            molecular A cation (MA, FA, NH4: DFT cells with one frozen orientation) keeps its
            spglib group with the note :data:`ORDERED_MOLECULE`; a cell whose molecules are
            orientation-averaged (partly occupied sites) has the average's group and no note.
        """
        from bxrd.crystal.io import load_structures
        from bxrd.crystal.molecules import has_molecular_cation
        from bxrd.crystal.template import space_group_of
        from bxrd.xrd.augment import render_clean
        from bxrd.xrd.render import Renderer
        from bxrd.xrd.simulate import simulate_sticks
        from bxrd.xrd.stick_batch import StickBatch

        report = load_structures(sources, synthesized=synthesized)
        ids, formulas, groups, sticks, notes = [], [], [], [], []
        for sid, structure in report.structures.items():
            number, symbol = space_group_of(structure)
            frozen = structure.is_ordered and has_molecular_cation(structure)
            notes.append(ORDERED_MOLECULE if frozen else "")
            ids.append(sid)
            formulas.append(structure.composition.reduced_formula)
            groups.append(f"{symbol} ({number})")
            sticks.append(simulate_sticks(structure, wavelength, (grid.start, grid.stop)))
        if not sticks:
            raise BxrdInputError(f"no structure read from {', '.join(map(str, sources))}")
        renderer = Renderer(grid, wavelength)
        rows = [
            render_clean(renderer, StickBatch.from_patterns(sticks[i : i + 256]), size_nm)
            for i in range(0, len(sticks), 256)
        ]
        patterns = np.concatenate([r.numpy() for r in rows])
        failures = [f"{path}: {why}" for path, why in report.failures]
        library = cls(patterns, ids, formulas, groups, axis=Axis(grid, wavelength), note=notes)
        return library, failures

    @classmethod
    def concat(cls, libraries: list[SearchLibrary]) -> SearchLibrary:
        """One library of the rows of ``libraries`` (labels kept only if every one has them).

        Raises:
            ValueError: the libraries were made on different axes.
        """
        axes = {lib.axis for lib in libraries}
        if len(axes) > 1:
            raise ValueError(f"libraries on different axes cannot be joined: {axes}")
        tasks = set.intersection(*(set(lib.labels) for lib in libraries))
        return cls(
            np.concatenate([lib.patterns for lib in libraries]),
            [i for lib in libraries for i in lib.structure_id],
            [f for lib in libraries for f in lib.formula],
            [g for lib in libraries for g in lib.space_group],
            {t: np.concatenate([lib.labels[t] for lib in libraries]) for t in tasks},
            axis=axes.pop(),
            note=[n for lib in libraries for n in lib.note],
        )

    @classmethod
    def from_pattern_set(
        cls,
        data: PatternSet,
        splits: tuple[str, ...] = ("train", "pretrain"),
        structures: Collection[str] | None = None,
    ) -> SearchLibrary:
        """Make the library: the clean pattern of every structure in ``splits`` of a dataset.

        ``structures``: only these structure ids (e.g. those a model could train on, so that
        search-match and the model see the same data).
        """
        prov = data.provenance
        keep = np.isin(prov["split"], splits) & (np.asarray(prov["augmentation"]) == "none")
        if structures is not None:
            keep &= np.isin(prov["structure_id"], list(structures))
        rows = np.nonzero(keep)[0]
        sg = np.asarray(data.classes["space_group"])[data.labels["space_group"][rows]]
        return cls(
            data.patterns[rows],
            [prov["structure_id"][i] for i in rows],
            [prov["formula"][i] for i in rows],
            sg.tolist(),
            {task: np.asarray(y)[rows] for task, y in data.labels.items()},
            axis=Axis(TwoThetaGrid.from_values(data.two_theta), data.wavelength),
        )

    def save(self, path: str | Path) -> Path:
        """Write the library to one ``.npz`` file (atomic), for ``bxrd predict`` to load."""
        path = Path(path)
        arrays = {f"labels_{k}": np.asarray(v) for k, v in self.labels.items()}
        if self.axis is not None:
            arrays["axis"] = np.array([self.axis.to_dict()[k] for k in AXIS_KEYS])
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                patterns=self.patterns.astype(np.float16),
                structure_id=np.array(self.structure_id),
                formula=np.array(self.formula),
                space_group=np.array(self.space_group),
                note=np.array(self.note),
                **arrays,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SearchLibrary:
        """Read a library written by :meth:`save`.

        Raises:
            BxrdInputError: missing or unreadable file (the message names it).
        """
        try:
            with np.load(path, allow_pickle=False) as f:
                return cls(
                    f["patterns"].astype(np.float32),
                    f["structure_id"].tolist(),
                    f["formula"].tolist(),
                    f["space_group"].tolist(),
                    {k[len("labels_") :]: f[k] for k in f.files if k.startswith("labels_")},
                    axis=(
                        Axis.from_dict(dict(zip(AXIS_KEYS, f["axis"].tolist(), strict=True)))
                        if "axis" in f.files
                        else None
                    ),
                    note=f["note"].tolist() if "note" in f.files else [],
                )
        except (OSError, KeyError, ValueError) as exc:
            raise BxrdInputError(f"{path}: not a search-match library ({exc})") from None

    def search(self, queries: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` library rows per query, best first.

        Args:
            queries: patterns on the library's grid, shape (N, L).
            k: matches per query (at most the library size).

        Returns:
            indices (N, k) into the library and cosine similarities (N, k).
        """
        q = unit_rows(queries)
        if q.shape[1] != self.patterns.shape[1]:
            raise ValueError(
                f"queries have {q.shape[1]} points, the library {self.patterns.shape[1]}"
            )
        k = min(k, len(self))
        best_i = np.zeros((len(q), 0), dtype=np.int64)
        best_s = np.zeros((len(q), 0), dtype=np.float32)
        for start in range(0, len(self), self.chunk):
            sim = q @ self.patterns[start : start + self.chunk].T
            idx = np.broadcast_to(np.arange(start, start + sim.shape[1]), sim.shape)
            cand_s = np.concatenate([best_s, sim], axis=1)
            cand_i = np.concatenate([best_i, idx], axis=1)
            top = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
            best_s = np.take_along_axis(cand_s, top, axis=1)
            best_i = np.take_along_axis(cand_i, top, axis=1)
        return best_i, best_s

    def matches(self, query: np.ndarray, k: int = 5) -> list[Match]:
        """Return the ``k`` closest library structures to one pattern (L,), best first."""
        idx, sim = self.search(np.asarray(query)[None], k)
        return [
            Match(
                self.structure_id[i], self.formula[i], self.space_group[i], float(s), self.note[i]
            )
            for i, s in zip(idx[0], sim[0], strict=True)
        ]

    def predict(self, queries: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
        """Class of the nearest library pattern per query and its similarity, shapes (N,)."""
        idx, sim = self.search(queries, 1)
        return self.labels[task][idx[:, 0]], sim[:, 0]


def perovskite_library(
    data: PatternSet, splits: Collection[str], structures: Collection[str] | None = None
) -> SearchLibrary:
    """Return the library of the perovskites of a dataset's ``splits``, one clean pattern each.

    Real and virtual structures that the build marked a perovskite (provenance
    ``perovskite``): what a model trained on those splits learned perovskites from (``bxrd predict
    --perovskites``: a named class needs one of them like the pattern).

    ``structures``: only these structure ids (those a model could train on).

    Raises:
        BxrdInputError: the dataset marks no perovskites (built before that provenance), or
            has none in ``splits``.
    """
    prov = data.provenance
    if "perovskite" not in prov:
        raise BxrdInputError("the dataset has no `perovskite` provenance: rebuild it")
    ids = {s for s, p in zip(prov["structure_id"], prov["perovskite"], strict=True) if int(p)}
    if structures is not None:
        ids &= set(structures)
    library = SearchLibrary.from_pattern_set(data, tuple(splits), structures=ids)
    if not len(library):
        raise BxrdInputError(f"no perovskite in the splits {sorted(splits)} of the dataset")
    return library
