"""Measured distributions of perovskite distortions, the ranges the generator samples from.

The committed table ``tables/perovskite_distributions.csv`` is written by::

    nice -n 10 python scripts/measure_perovskites.py

from the real structures of ``../shared/data/structures`` (experimentally reported
``mp_abx3`` entries, hybrid, COD, AMCSD and literature files, the built-in templates), each
measured with :func:`bxrd.crystal.measure.measure`. One row per (anion family, Glazer
system, polar yes/no) with at least one structure, plus pooled rows (``glazer = "*"``: every
tilted structure of the family; ``family = "*"``: every family). Columns: count ``n``,
Goldschmidt t range, and the 5 / 50 / 95 % quantiles of the largest tilt (degrees), the
A-site displacement (Å), the B off-centring (Å) and the octahedral distortion Δ.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bxrd.fileio import atomic_write_text

TABLE_PATH = Path(__file__).parent / "tables" / "perovskite_distributions.csv"

#: Anion families (the X element decides).
FAMILIES: dict[str, tuple[str, ...]] = {
    "oxide": ("O",),
    "halide": ("F", "Cl", "Br", "I"),
    "chalcogenide": ("S", "Se", "Te"),
}

#: Quantities summarised per row, with their column prefix.
QUANTITIES: dict[str, str] = {
    "tilt": "tilt_1",
    "a_shift": "a_displacement",
    "b_shift": "b_offcentre",
    "distortion": "distortion",
}

#: Fewest structures a row needs before the sampler trusts it over the pooled row.
MIN_COUNT = 3


def anion_family(x: str) -> str:
    """``"oxide"``, ``"halide"``, ``"chalcogenide"`` or ``"other"`` for the X element."""
    return next((f for f, members in FAMILIES.items() if x in members), "other")


@dataclass(frozen=True)
class Range:
    """5, 50 and 95 % quantiles of one measured quantity."""

    lo: float
    mid: float
    hi: float

    def sample(self, rng: np.random.Generator) -> float:
        """Uniform draw between the 5 and 95 % quantiles."""
        return float(rng.uniform(self.lo, self.hi))


def _summary(rows: list[dict]) -> dict:
    out: dict = {"n": len(rows)}
    t = np.array([float(r["tolerance"]) for r in rows])
    t = t[np.isfinite(t)]
    out["t_lo"], out["t_hi"] = (
        (round(float(t.min()), 3), round(float(t.max()), 3)) if t.size else ("", "")
    )
    for name, column in QUANTITIES.items():
        v = np.array([float(r[column]) for r in rows])
        q = np.quantile(v, [0.05, 0.5, 0.95])
        for suffix, value in zip(("lo", "mid", "hi"), q, strict=True):
            out[f"{name}_{suffix}"] = round(float(value), 5)
    return out


def summarise(rows: Iterable[dict]) -> list[dict]:
    """Table rows (module docstring) from per-structure measurement rows."""
    rows = [r for r in rows if r["glazer"]]
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for r in rows:
        polar = int(r["polar"])
        groups.setdefault((r["family"], r["glazer"], polar), []).append(r)
        if r["glazer"] != "a0a0a0":
            groups.setdefault((r["family"], "*", polar), []).append(r)
            groups.setdefault(("*", "*", polar), []).append(r)
    return [
        {"family": f, "glazer": g, "polar": p, **_summary(members)}
        for (f, g, p), members in sorted(groups.items())
    ]


def write_distributions(rows: Iterable[dict], path: Path = TABLE_PATH) -> list[dict]:
    """Summarise ``rows`` and write the table atomically; returns the table rows."""
    table = summarise(rows)
    lines = [",".join(table[0])] + [",".join(str(v) for v in r.values()) for r in table]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return table


@lru_cache(maxsize=1)
def load_distributions(path: Path = TABLE_PATH) -> dict[tuple[str, str, int], dict[str, Range]]:
    """Read the committed table as {(family, glazer, polar): {quantity: Range}}."""
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    return {
        (r["family"], r["glazer"], int(r["polar"])): {
            "n": int(r["n"]),  # type: ignore[dict-item]
            **{
                name: Range(float(r[f"{name}_lo"]), float(r[f"{name}_mid"]), float(r[f"{name}_hi"]))
                for name in QUANTITIES
            },
        }
        for r in rows
    }


def ranges_for(family: str, glazer: str, polar: bool) -> dict[str, Range]:
    """Measured ranges for a family and tilt system, falling back to pooled rows.

    Order: the exact row when it holds :data:`MIN_COUNT` structures, then the family's tilted
    pool, then every family's pool (for a⁰a⁰a⁰ the untilted row of any family).
    """
    table = load_distributions()
    p = int(polar)
    keys = [(family, glazer, p), (family, "*", p), ("*", "*", p), ("*", "*", 0)]
    if glazer == "a0a0a0":
        keys = [(family, glazer, p)] + [(f, glazer, p) for f in FAMILIES] + keys[1:]
    for key in keys:
        row = table.get(key)
        if row is not None and row["n"] >= MIN_COUNT:  # type: ignore[operator]
            return {k: v for k, v in row.items() if k != "n"}  # type: ignore[misc]
    raise KeyError(f"no measured distribution for {family} {glazer} polar={polar}")
