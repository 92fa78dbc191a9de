"""Compare generated tilt-system perovskites with real structures: fit angles, score peaks.

:func:`fit_tilts` chooses the tilt angles (one per distinct Glazer letter, 0–20°) that best
reproduce the real structure's volume per formula unit and sorted conventional lattice
lengths, with d_BX from bond valence (not fitted). :func:`compare` then reports the largest
relative lattice-length error and, for the ten strongest reflections of the real structure,
the distance to the nearest reflection of the generated one (degrees 2θ). The reflections
come from a callable the caller passes (e.g. :func:`bxrd.xrd.simulate.simulate_sticks`
wrapped, see ``scripts/compare_tilts.py``): crystal does not import xrd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.optimize import minimize

from bxrd.crystal.tilts import bond_length, parse_glazer, tilted_perovskite


def cell_metrics(structure: Structure) -> tuple[np.ndarray, float]:
    """Sorted lengths of the conventional standard cell (Å) and volume per formula unit (Å³)."""
    conv = SpacegroupAnalyzer(structure, symprec=0.01).get_conventional_standard_structure()
    per_fu = structure.volume / structure.composition.get_reduced_composition_and_factor()[1]
    return np.sort(np.array(conv.lattice.abc)), per_fu


def _errors(generated: tuple[np.ndarray, float], real: tuple[np.ndarray, float]) -> np.ndarray:
    (g, vg), (r, vr) = generated, real
    if abs((np.prod(g) / vg) / (np.prod(r) / vr) - 1.0) > 0.2:  # different formula units per cell
        return np.array([(vg / vr) ** (1 / 3) - 1.0])
    return g / r - 1.0


def lattice_errors(generated: Structure, real: Structure) -> np.ndarray:
    """Compute relative errors of the sorted conventional lengths.

    When the two conventional cells hold different numbers of formula units, the error of
    the cube root of the volume per formula unit is returned instead.
    """
    return _errors(cell_metrics(generated), cell_metrics(real))


def fit_tilts(
    real: Structure,
    a: str,
    b: str,
    x: str,
    notation: str,
    charges: tuple[int, int, int],
    fit_bond: bool = False,
) -> tuple[tuple[float, ...], float, Structure]:
    """Fit tilt angles (degrees, one per distinct letter) to ``real``'s lattice.

    Args:
        real: the real structure.
        a: A element.
        b: B element.
        x: X element.
        notation: Glazer symbol.
        charges: oxidation states (q_A, q_B, q_X).
        fit_bond: also fit the B–X bond length (else bond valence).

    Returns:
        The angles, the B–X bond (Å) and the generated structure.
    """
    letters, signs = parse_glazer(notation)
    n = len({letter for letter, s in zip(letters, signs, strict=True) if s != "0"})
    bond0 = bond_length(b, charges[1], x, charges[2])
    reference = cell_metrics(real)  # once, not in every loss evaluation

    def build(p: np.ndarray) -> Structure:
        bond = bond0 * float(np.exp(p[n])) if fit_bond else bond0
        return tilted_perovskite(a, b, x, notation, tuple(np.abs(p[:n])) or 0.0, charges, bond)

    def loss(p: np.ndarray) -> float:
        return float(np.sum(_errors(cell_metrics(build(p)), reference) ** 2))

    starts = [np.r_[np.full(n, t), [0.0] * fit_bond] for t in ((3.0, 8.0, 13.0) if n else (0.0,))]
    if n == 0 and not fit_bond:
        best_p = np.zeros(0)
    else:
        best_p = min(
            (
                minimize(
                    loss,
                    p0,
                    method="Nelder-Mead",
                    options={"xatol": 1e-3, "fatol": 1e-9, "maxiter": 400},
                )
                for p0 in starts
            ),
            key=lambda r: r.fun,
        ).x
    structure = build(best_p)
    bond = bond0 * float(np.exp(best_p[n])) if fit_bond else bond0
    return tuple(float(v) for v in np.abs(best_p[:n])), bond, structure


@dataclass
class Comparison:
    """How a generated structure matches a real one."""

    name: str
    notation: str
    angles: tuple[float, ...]
    space_group: int
    lattice_error: float
    peak_offsets: np.ndarray

    @property
    def max_peak_offset(self) -> float:
        """Largest offset among the ten strongest real reflections, degrees 2θ."""
        return float(self.peak_offsets.max())


#: Reflections of a structure: (2θ in degrees, intensity), each of shape (n_reflections,).
Sticks = Callable[[Structure], tuple[np.ndarray, np.ndarray]]


def compare(
    name: str,
    real: Structure,
    generated: Structure,
    notation: str,
    angles: tuple[float, ...],
    sticks: Sticks,
) -> Comparison:
    """Lattice error and peak offsets of ``generated`` against ``real``.

    Args:
        name: label of the comparison.
        real: the real structure.
        generated: the generated one.
        notation: its Glazer system.
        angles: its tilt angles, degrees.
        sticks: reflections (2θ degrees, intensity) of a structure at one wavelength.
    """
    tr, ir = sticks(real)
    tg, _ = sticks(generated)
    strongest = tr[np.argsort(ir)[::-1][:10]]
    offsets = np.array([np.min(np.abs(tg - t)) for t in strongest])
    number = SpacegroupAnalyzer(generated, 0.01).get_space_group_number()
    return Comparison(
        name,
        notation,
        angles,
        number,
        float(np.max(np.abs(lattice_errors(generated, real)))),
        offsets,
    )
