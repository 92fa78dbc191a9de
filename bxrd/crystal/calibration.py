"""Fitted constants of the structure model: a volume correction and the tilt threshold.

The bond-valence cell (:mod:`bxrd.crystal.structure_model`) is fitted to no structure. Two
composition-only corrections are, on the experimentally reported ``mp_abx3`` cells
(Materials Project, PBE-relaxed), and stored in ``tables/structure_model_calibration.csv``,
written by::

    PYTHONPATH=. nice -n 10 python scripts/evaluate_structure_model.py --write-calibration

* Volume: ln(V_real / V_model) = c_family + w · 3 ln(d_Shannon / d_BV), one offset per
  anion family (oxide, halide, chalcogenide; 0 for others) and one weight on the
  disagreement between two published B–X lengths: the bond-valence one of the model
  (O'Keeffe–Brese element parameters, blind to the oxidation and spin state) and the sum of
  Shannon radii r_B(VI) + r_X(VI) (0 when a radius is missing); fitted by least absolute
  deviations (4 parameters). w ≈ ½ puts the B–X length between the two; the offsets take
  up that PBE overestimates cell volumes by an amount that differs between oxides, halides
  and chalcogenides while R₀ and radii are fitted to experimental structures. Applied as
  the length scale k = exp(correction / 3) of every length of the model cell.
* Tilt system: a⁺b⁻b⁻ when the optimal a⁺b⁻b⁻ tilt is ≥ ``tilt_threshold`` (degrees),
  else a⁰a⁰a⁰; the threshold maximising agreement with the real space groups (1 parameter).

The evaluation script reports these fits with formula-grouped K-fold cross-validation
(:func:`grouped_folds`): no formula is in the fold that fits the constants it is scored by.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from bxrd.fileio import atomic_write_text

TABLE_PATH = Path(__file__).parent / "tables" / "structure_model_calibration.csv"

#: Anion families with their own volume offset (others get 0).
CALIBRATED_FAMILIES: tuple[str, ...] = ("oxide", "halide", "chalcogenide")

#: Candidate tilt thresholds (degrees) searched by :func:`fit_tilt_threshold`.
THRESHOLD_GRID = np.arange(0.0, 15.01, 0.25)


@dataclass(frozen=True)
class Calibration:
    """The fitted constants (module docstring).

    Attributes:
        offsets: ln-volume offset per anion family.
        shannon_weight: weight w on 3 ln(d_Shannon / d_BV).
        tilt_threshold: smallest optimal a⁺b⁻b⁻ tilt (degrees) predicted as tilted.
    """

    offsets: dict[str, float]
    shannon_weight: float
    tilt_threshold: float

    def log_volume_correction(self, family: str, shannon_disagreement: float) -> float:
        """ln(V_corrected / V_bond_valence) for one composition.

        Args:
            family: anion family.
            shannon_disagreement: 3 ln(d_Shannon / d_BV) of its B–X bond (0 if unknown).
        """
        return self.offsets.get(family, 0.0) + self.shannon_weight * shannon_disagreement

    def length_scale(self, family: str, shannon_disagreement: float) -> float:
        """Factor k on every length of the model cell: exp(correction / 3)."""
        return math.exp(self.log_volume_correction(family, shannon_disagreement) / 3.0)


#: No correction: the bare bond-valence model with a 4° threshold.
UNCALIBRATED = Calibration(offsets={}, shannon_weight=0.0, tilt_threshold=4.0)


def _design(families: Sequence[str], disagreements: Sequence[float]) -> np.ndarray:
    onehot = [[float(f == c) for c in CALIBRATED_FAMILIES] for f in families]
    return np.c_[np.array(onehot).reshape(-1, 3), np.asarray(disagreements)]


def fit_volume_correction(
    families: Sequence[str], disagreements: Sequence[float], log_ratios: Sequence[float]
) -> tuple[dict[str, float], float]:
    """Least-absolute-deviation fit of the volume correction, (offsets, Shannon weight).

    Args:
        families: anion family per structure.
        disagreements: 3 ln(d_Shannon / d_BV) of the B–X bond per structure.
        log_ratios: ln(V_real / V_model) per structure.
    """
    x, y = _design(families, disagreements), np.asarray(log_ratios, dtype=float)
    n, p = x.shape
    # minimise Σ u subject to −u ≤ x c − y ≤ u; variables (c, u)
    cost = np.r_[np.zeros(p), np.ones(n)]
    a_ub = np.block([[x, -np.eye(n)], [-x, -np.eye(n)]])
    b_ub = np.r_[y, -y]
    present = x[:, :3].sum(axis=0) > 0
    bounds = [(None, None) if k >= 3 or present[k] else (0.0, 0.0) for k in range(p)]
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds + [(0, None)] * n, method="highs")
    if not result.success:
        raise RuntimeError(f"volume correction fit failed: {result.message}")
    c = result.x[:p]
    return {f: float(c[k]) for k, f in enumerate(CALIBRATED_FAMILIES) if present[k]}, float(c[3])


def fit_tilt_threshold(tilts: Sequence[float], tilted: Sequence[bool]) -> float:
    """Threshold (degrees) of :data:`THRESHOLD_GRID` with the most right predictions.

    Args:
        tilts: optimal a⁺b⁻b⁻ tilt of the model per structure, degrees.
        tilted: the real structure has the a⁺b⁻b⁻ system (False: a⁰a⁰a⁰).
    """
    t, real = np.asarray(tilts)[:, None], np.asarray(tilted)[:, None]
    right = ((t >= THRESHOLD_GRID[None]) == real).sum(axis=0)
    return float(THRESHOLD_GRID[int(np.argmax(right))])


def grouped_folds(groups: Sequence[str], k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index (0..k−1) per item; all items of a group (formula) share one fold."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold = {names[i]: n % k for n, i in enumerate(order)}
    return np.array([fold[g] for g in groups])


def write_calibration(calibration: Calibration, n_structures: int, path: Path = TABLE_PATH) -> None:
    """Write the table (one ``name,value`` row per constant) atomically."""
    rows = [("n_structures", str(n_structures))]
    rows += [(f"offset_{f}", f"{v:.5f}") for f, v in sorted(calibration.offsets.items())]
    rows += [("shannon_weight", f"{calibration.shannon_weight:.5f}")]
    rows += [("tilt_threshold", f"{calibration.tilt_threshold:.2f}")]
    atomic_write_text(path, "name,value\n" + "".join(f"{n},{v}\n" for n, v in rows))


@lru_cache(maxsize=1)
def load_calibration(path: Path = TABLE_PATH) -> Calibration:
    """Return the committed constants (:data:`UNCALIBRATED` if the table is absent)."""
    if not path.exists():
        return UNCALIBRATED
    with open(path) as fh:
        values = {r["name"]: float(r["value"]) for r in csv.DictReader(fh)}
    offsets = {f: values[f"offset_{f}"] for f in CALIBRATED_FAMILIES if f"offset_{f}" in values}
    return Calibration(offsets, values["shannon_weight"], values["tilt_threshold"])
