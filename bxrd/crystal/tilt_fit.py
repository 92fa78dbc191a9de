"""Compare generated tilt-system perovskites with real structures: fit angles, score peaks.

:func:`fit_tilts` chooses the tilt angles (one per distinct Glazer letter, 0–20°) that best
reproduce the real structure's volume per formula unit and sorted conventional lattice
lengths, with d_BX from bond valence (not fitted). :func:`compare` then reports the largest
relative lattice-length error and, for the ten strongest reflections of the real structure,
the distance to the nearest reflection of the generated one (degrees 2θ, Cu Kα).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.optimize import minimize

from bxrd.crystal.tilts import bond_length, parse_glazer, tilted_perovskite
from bxrd.xrd.simulate import simulate_sticks


def conventional_abc(structure: Structure) -> np.ndarray:
    """Sorted lengths (Å) of the conventional standard cell, per formula unit scaled to Z."""
    conv = SpacegroupAnalyzer(structure, symprec=0.01).get_conventional_standard_structure()
    return np.sort(np.array(conv.lattice.abc))


def lattice_errors(generated: Structure, real: Structure) -> np.ndarray:
    """Compute relative errors of the sorted conventional lengths.

    When the two conventional cells hold different numbers of formula units, the error of
    the cube root of the volume per formula unit is returned instead.
    """
    g, r = conventional_abc(generated), conventional_abc(real)
    vg = generated.volume / generated.composition.get_reduced_composition_and_factor()[1]
    vr = real.volume / real.composition.get_reduced_composition_and_factor()[1]
    zg = np.prod(g) / vg
    zr = np.prod(r) / vr
    if abs(zg / zr - 1.0) > 0.2:
        return np.array([(vg / vr) ** (1 / 3) - 1.0])
    return g / r - 1.0


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

    def build(p: np.ndarray) -> Structure:
        bond = bond0 * float(np.exp(p[n])) if fit_bond else bond0
        return tilted_perovskite(a, b, x, notation, tuple(np.abs(p[:n])) or 0.0, charges, bond)

    def loss(p: np.ndarray) -> float:
        return float(np.sum(lattice_errors(build(p), real) ** 2))

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


def compare(
    name: str,
    real: Structure,
    generated: Structure,
    notation: str,
    angles: tuple[float, ...],
    two_theta_range: tuple[float, float] = (10.0, 80.0),
) -> Comparison:
    """Lattice error and peak offsets of ``generated`` against ``real`` (Cu Kα)."""
    sr = simulate_sticks(real, "CuKa", two_theta_range)
    sg = simulate_sticks(generated, "CuKa", two_theta_range)
    strongest = sr.two_theta[np.argsort(sr.intensity)[::-1][:10]]
    offsets = np.array([np.min(np.abs(sg.two_theta - t)) for t in strongest])
    number = SpacegroupAnalyzer(generated, 0.01).get_space_group_number()
    return Comparison(
        name,
        notation,
        angles,
        number,
        float(np.max(np.abs(lattice_errors(generated, real)))),
        offsets,
    )
