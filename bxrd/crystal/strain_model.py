"""Which spontaneous strain a perovskite of a space group and tilt gets: the measured table.

The committed table ``tables/spontaneous_strain.csv`` is written by::

    nice -n 10 python scripts/measure_perovskites.py

from the strains (:func:`bxrd.crystal.strain.measure_strain`) of the real structures in
``data/measured_perovskites.csv`` (experimentally reported ``mp_abx3`` entries, COD, AMCSD,
literature files, built-in templates; not the hybrid ones). One row per space group with at
least :data:`MIN_COUNT` structures; each of the three strain components (ln a, ln b, ln c
of the conventional cell at equal volume) is

* tilted space groups: ``slope`` × sin²φ, φ the largest octahedral tilt (the tilt-driven
  strain vanishes with the tilt and grows, to lowest order, with its square); the slope is
  the least-absolute-deviation fit through the origin (the sin²φ-weighted median of
  strain / sin²φ). Pnma, measured: a/√2 grows by ≈ 0.6 sin²φ, c/√2 shrinks by ≈ 0.5 sin²φ
  (GdFeO3, φ ≈ 12.6°: +2.6 %, −2.3 %).
* untilted (polar) space groups: ``slope`` is the median strain itself (sin²φ taken as 1).
* Jahn–Teller active B ions (high-spin d⁴, d⁹; column ``jahn_teller`` of the measured rows)
  add ``jt``, the median residual of those structures (Pnma, measured over 14: a/√2 +3 %,
  b/2 −3 %, LaMnO3's O' cell); the slope is fitted on the others.

``lo`` and ``hi`` are the 5 and 95 % quantiles of the residuals (strain − prediction). The
structure model applies the prediction (deterministic); the generator adds a residual drawn
uniformly between them. Space groups without a row get no strain.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from bxrd.crystal.strain import CellStrain, apply_strain, conventional_cell
from bxrd.crystal.tilts import TILT_SPACE_GROUPS
from bxrd.fileio import atomic_write_text

TABLE_PATH = Path(__file__).parent / "tables" / "spontaneous_strain.csv"

#: Strain components, in :class:`~bxrd.crystal.strain.CellStrain` order.
COMPONENTS: tuple[str, ...] = ("a", "b", "c")

#: Column prefixes of the table, in :class:`StrainRow` order.
_PARTS: tuple[str, ...] = ("slope", "jt", "lo", "hi")

#: Fewest structures of a space group before its strain is trusted.
MIN_COUNT = 2

#: Space groups with octahedral tilts (strain ∝ sin²φ); the others are polar, untilted.
TILTED_GROUPS: frozenset[int] = frozenset(n for g, n in TILT_SPACE_GROUPS.items() if g != "a0a0a0")


@dataclass(frozen=True)
class StrainRow:
    """One space group's strain law: prediction = slope × s (+ jt), residual in [lo, hi].

    Attributes are (3,) tuples in :data:`COMPONENTS` order; s = sin²φ (tilted) or 1;
    ``jt`` is added for Jahn–Teller active B ions.
    """

    n: int
    slope: tuple[float, ...]
    jt: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]


@dataclass(frozen=True)
class StrainModel:
    """Space group → :class:`StrainRow`; an empty model (:data:`NO_STRAIN`) strains nothing."""

    rows: dict[int, StrainRow] = field(default_factory=dict)

    def _mid(self, number: int, tilt: float, jahn_teller: bool) -> np.ndarray | None:
        row = self.rows.get(number)
        if row is None:
            return None
        return np.asarray(row.slope) * _s(number, tilt) + np.asarray(row.jt) * jahn_teller

    def predict(self, number: int, tilt: float, jahn_teller: bool = False) -> CellStrain:
        """Median strain of space group ``number`` at largest tilt ``tilt`` (degrees)."""
        mid = self._mid(number, tilt, jahn_teller)
        return CellStrain() if mid is None else CellStrain(tuple(mid.tolist()))

    def sample(
        self, number: int, tilt: float, rng: np.random.Generator, jahn_teller: bool = False
    ) -> CellStrain:
        """:meth:`predict` plus a residual drawn uniformly between the 5 and 95 % quantiles."""
        mid = self._mid(number, tilt, jahn_teller)
        if mid is None:
            return CellStrain()
        row = self.rows[number]
        return CellStrain(tuple((mid + rng.uniform(row.lo, row.hi)).tolist()))


def _s(number: int, tilt: float) -> float:
    """sin²φ for a tilted space group (φ = ``tilt`` degrees), else 1."""
    return math.sin(math.radians(tilt)) ** 2 if number in TILTED_GROUPS else 1.0


#: No strain anywhere (the pseudo-cubic cells of the bare model).
NO_STRAIN = StrainModel()


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def fit_strain_model(samples: Iterable[tuple[int, float, CellStrain, bool]]) -> StrainModel:
    """Fit the table (module docstring) from (space group, largest tilt °, strain, Jahn–Teller)."""
    groups: dict[int, list[tuple[float, np.ndarray, bool]]] = {}
    for number, tilt, strain, jt in samples:
        groups.setdefault(number, []).append((_s(number, tilt), np.asarray(strain.lengths), jt))
    rows = {}
    for number, members in sorted(groups.items()):
        if len(members) < MIN_COUNT:
            continue
        s = np.array([m[0] for m in members])
        v = np.array([m[1] for m in members])  # (n, 3)
        jt = np.array([m[2] for m in members])
        plain = ~jt if (~jt).sum() >= MIN_COUNT else np.ones_like(jt)
        if number in TILTED_GROUPS and np.all(s > 0):
            slope = np.array([_weighted_median(v[plain, k] / s[plain], s[plain]) for k in range(3)])
        else:
            slope = np.median(v[plain], axis=0)
        residual = v - s[:, None] * slope
        offset = np.median(residual[jt], axis=0) if jt.sum() >= MIN_COUNT else np.zeros(3)
        lo, hi = np.quantile(residual - jt[:, None] * offset, [0.05, 0.95], axis=0)
        rows[number] = StrainRow(
            len(members), *(tuple(np.round(x, 5).tolist()) for x in (slope, offset, lo, hi))
        )
    return StrainModel(rows)


def samples_from_rows(rows: Iterable[dict]) -> list[tuple[int, float, CellStrain, bool]]:
    """(space group, tilt, strain, Jahn–Teller) of the measured rows that carry a strain.

    ``rows`` are those of ``data/measured_perovskites.csv`` (columns ``space_group``,
    ``tilt_1``, ``jahn_teller`` and ``strain_a``, ``strain_b``, ``strain_c``, empty where
    none was measured).
    """
    out = []
    for r in rows:
        if r["strain_a"] == "":  # a missing column raises: rows written before the strain
            continue
        v = tuple(float(r[f"strain_{c}"]) for c in COMPONENTS)
        jt = bool(int(r["jahn_teller"]))
        out.append((int(r["space_group"]), float(r["tilt_1"]), CellStrain(v), jt))  # type: ignore[arg-type]
    return out


def write_strain_model(model: StrainModel, path: Path = TABLE_PATH) -> None:
    """Write the table atomically, one row per space group."""
    head = ["space_group", "n"] + [f"{q}_{c}" for q in _PARTS for c in COMPONENTS]
    lines = [",".join(head)]
    for number, row in sorted(model.rows.items()):
        lines.append(",".join(map(str, [number, row.n, *row.slope, *row.jt, *row.lo, *row.hi])))
    atomic_write_text(path, "\n".join(lines) + "\n")


@lru_cache(maxsize=1)
def load_strain_model(path: Path = TABLE_PATH) -> StrainModel:
    """Return the committed table (:data:`NO_STRAIN` if it is absent)."""
    if not path.exists():
        return NO_STRAIN
    with open(path) as fh:
        rows = {
            int(r["space_group"]): StrainRow(
                int(r["n"]),
                *(tuple(float(r[f"{q}_{c}"]) for c in COMPONENTS) for q in _PARTS),
            )
            for r in csv.DictReader(fh)
        }
    return StrainModel(rows)


def strain_structure(
    structure: Structure,
    tilt: float,
    model: StrainModel | None = None,
    rng: np.random.Generator | None = None,
    jahn_teller: bool = False,
) -> Structure:
    """``structure`` strained as its space group (spglib, label tolerance) and tilt call for.

    Args:
        structure: a perovskite cell (e.g. metrically pseudo-cubic, from the generator).
        tilt: its largest octahedral tilt, degrees.
        model: the strain law (default: the committed table).
        rng: draw the residual too (:meth:`StrainModel.sample`); None: the median strain.
        jahn_teller: the B ion is Jahn–Teller active.
    """
    model = load_strain_model() if model is None else model
    if not model.rows:
        return structure
    number = conventional_cell(structure)[0]
    strain = (
        model.predict(number, tilt, jahn_teller)
        if rng is None
        else model.sample(number, tilt, rng, jahn_teller)
    )
    if strain == CellStrain():
        return structure
    return apply_strain(structure, strain)
