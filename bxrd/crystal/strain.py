"""Spontaneous strain of a perovskite: how its cell departs from the pseudo-cubic metric.

A tilted or polar perovskite is not metrically cubic: real Pnma cells have a/√2, b/2, c/√2
that differ by up to a few %, I4/mcm cells a c/a ≠ √2, rhombohedral ones a hexagonal c/a ≠
√6 (R-3c) or √(3/2) (R3m), P4mm ones c/a ≠ 1. These split and shift the strong pseudo-cubic
reflections by tenths of a degree 2θ.

Definition (orthorhombic and higher space groups with a pseudo-cubic recipe,
:data:`IDEAL_SYSTEMS`; their conventional angles are fixed by symmetry):

* The conventional cell is spglib's standardized one at the label tolerance
  (:data:`~bxrd.crystal.template.SYMPREC`): its axes are fixed by the symmetry elements
  (Pnma: b the in-phase tilt axis ≈ 2 a_pc), so real and generated cells compare axis by
  axis. a_pc = (V_conv / Z)^(1/3), Z the formula units in the conventional cell.
* The ideal cell has the same conventional axes on a cubic lattice: the space group's
  recipe cell (:func:`bxrd.crystal.tilts.tilted_perovskite`) gives spglib's conventional
  axes as combinations of its 2 × 2 × 2 pseudo-cubic axes, taken on a cubic lattice, e.g.
  (√2, 2, √2) a_pc and 90° for Pnma (:func:`ideal_parameters`).
* The strain is (ln(a / a_ideal), ln(b / b_ideal), ln(c / c_ideal)) at equal volume
  (lengths in units of a_pc): :class:`CellStrain`.

:func:`apply_strain` deforms any cell of the space group to the requested strain at
constant volume, with fractional coordinates kept. The deformation F is expressed in the
conventional axes and keeps their symmetry (orthogonal axes scaled, a = b kept for
tetragonal and hexagonal axes), so spglib still finds the same space group, and tests
check it. Monoclinic and triclinic cells are left alone (:data:`AMBIGUOUS`). Which strain
a composition gets is :mod:`bxrd.crystal.strain_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import spglib
from pymatgen.core import Lattice, Structure

from bxrd.crystal.template import SYMPREC
from bxrd.crystal.tilts import POLAR_SPACE_GROUPS, TILT_SPACE_GROUPS, tilted_perovskite

#: Space group → (tilt system, B shift direction or None) of the unstrained ideal cell.
IDEAL_SYSTEMS: dict[int, tuple[str, tuple[int, int, int] | None]] = {
    **{n: (g, None) for g, n in TILT_SPACE_GROUPS.items()},
    **{n: (g, d) for (g, d), n in POLAR_SPACE_GROUPS.items()},
}

#: Triclinic and monoclinic space groups: spglib's conventional cell (its choice of a and c)
#: follows the metric, so a strain would not read back on the same axes; none is measured
#: or applied.
AMBIGUOUS: frozenset[int] = frozenset(range(1, 16))

#: Largest |ln(L / L_ideal)| of a pseudo-cubic cell; beyond it the conventional cell is
#: not the ideal one's (another supercell), not a strain.
MAX_STRAIN = 0.25


@dataclass(frozen=True)
class CellStrain:
    """Strain of a conventional cell against the ideal one (module docstring).

    Attributes:
        lengths: ln(L / L_ideal) of a, b, c at equal volume, (3,).
    """

    lengths: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _dataset(structure: Structure, symprec: float):  # noqa: ANN202
    cell = (structure.lattice.matrix, structure.frac_coords, [s.specie.Z for s in structure])
    data = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if data is None:
        raise ValueError(f"spglib found no symmetry for {structure.composition.reduced_formula}")
    return data


def conventional_cell(
    structure: Structure, symprec: float = SYMPREC
) -> tuple[int, np.ndarray, int]:
    """(space group, conventional lattice rows (3, 3) Å in the structure's frame, Z of ABX3).

    The rows are spglib's standardized axes before its rotation: C = (P⁻¹)ᵀ L, with P the
    transformation matrix and L the lattice rows.
    """
    data = _dataset(structure, symprec)
    rows = np.linalg.inv(data.transformation_matrix).T @ structure.lattice.matrix
    return int(data.number), rows, max(len(data.std_types) // 5, 1)


def reduced_parameters(rows: np.ndarray, z: int) -> np.ndarray:
    """Return (a, b, c) / a_pc and (α, β, γ) in degrees of conventional ``rows``, (6,)."""
    lattice = Lattice(rows)
    a_pc = (lattice.volume / z) ** (1.0 / 3.0)
    return np.r_[np.asarray(lattice.abc) / a_pc, lattice.angles]


@lru_cache(maxsize=32)
def ideal_parameters(number: int) -> tuple[float, ...]:
    """Reduced conventional parameters (:func:`reduced_parameters`) of the unstrained cell.

    The recipe's cell (:data:`IDEAL_SYSTEMS`, default distinct tilts) gives spglib's
    conventional axes as lattice combinations; the same combinations of a cubic 2 × 2 × 2
    lattice are the ideal cell.

    Raises:
        KeyError: no pseudo-cubic recipe for ``number`` (:data:`IDEAL_SYSTEMS`).
    """
    if number not in IDEAL_SYSTEMS:
        raise KeyError(f"space group {number} has no pseudo-cubic recipe")
    notation, polar = IDEAL_SYSTEMS[number]
    shift = np.zeros(3) if polar is None else 0.15 * np.asarray(polar) / np.linalg.norm(polar)
    s = tilted_perovskite("Ca", "Ti", "O", notation, bond=2.0, b_shift=tuple(shift))
    data = _dataset(s, SYMPREC)
    if data.number != number:
        raise RuntimeError(f"ideal cell of {notation} {polar} reads as {data.number}, not {number}")
    rows = np.linalg.inv(data.transformation_matrix).T @ (2.0 * np.eye(3))
    return tuple(reduced_parameters(rows, max(len(data.std_types) // 5, 1)).tolist())


def measure_strain(structure: Structure, symprec: float = SYMPREC) -> tuple[int, CellStrain]:
    """(space group, strain) of a perovskite (module docstring).

    Raises:
        KeyError: the space group has no ideal cell or is monoclinic or triclinic
            (:data:`AMBIGUOUS`).
    """
    number, rows, z = conventional_cell(structure, symprec)
    if number in AMBIGUOUS:
        raise KeyError(f"space group {number}: the conventional cell is not unique")
    lengths = _log_ratios(number, rows, z)
    return number, CellStrain(tuple((lengths - lengths.mean()).tolist()))


def _log_ratios(number: int, rows: np.ndarray, z: int) -> np.ndarray:
    """ln(L / L_ideal) of the conventional ``rows`` (3,), lengths in units of a_pc.

    Raises:
        ValueError: a ratio beyond :data:`MAX_STRAIN` (not the ideal cell's axes).
    """
    p, ideal = reduced_parameters(rows, z), np.asarray(ideal_parameters(number))
    ratios = np.log(p[:3] / ideal[:3])
    if np.abs(ratios).max() > MAX_STRAIN:
        raise ValueError(
            f"space group {number}: conventional (a, b, c) / a_pc = {np.round(p[:3], 3)} is "
            f"not a strained {np.round(ideal[:3], 3)}"
        )
    return ratios


def _lattice_system_strain(number: int, strain: CellStrain) -> np.ndarray:
    """Return the part of ``strain`` (3,) the lattice system of space group ``number`` allows.

    Orthorhombic: all three; tetragonal and hexagonal axes: a = b; cubic: none.
    """
    ln = np.array(strain.lengths, float)
    if number >= 195:
        return np.zeros(3)
    if number >= 75:  # tetragonal, trigonal (hexagonal axes), hexagonal
        ln[:2] = ln[:2].mean()
    return ln


def apply_strain(structure: Structure, strain: CellStrain, symprec: float = SYMPREC) -> Structure:
    """Copy of ``structure`` with its conventional cell set to ideal × ``strain``.

    The volume and fractional coordinates are kept; only the lattice changes. A structure
    whose space group has no ideal cell, or is in :data:`AMBIGUOUS`, comes back unchanged.

    Raises:
        ValueError: the conventional cell is not the ideal one's, strained
            (:data:`MAX_STRAIN`).
    """
    number, rows, z = conventional_cell(structure, symprec)
    if number not in IDEAL_SYSTEMS or number in AMBIGUOUS:
        return structure.copy()
    _log_ratios(number, rows, z)
    current = Lattice(rows)
    ideal = np.asarray(ideal_parameters(number))
    ln = _lattice_system_strain(number, strain)
    target = Lattice.from_parameters(*(ideal[:3] * np.exp(ln)), *ideal[3:])
    target = target.matrix * (current.volume / target.volume) ** (1.0 / 3.0)
    standard = Lattice.from_parameters(*current.abc, *current.angles).matrix
    rotation = np.linalg.solve(standard, rows)  # standard @ rotation = rows
    deformation = np.linalg.solve(rows, target @ rotation)  # rows @ F = target (our frame)
    lattice = Lattice(structure.lattice.matrix @ deformation)
    return Structure(lattice, structure.species, structure.frac_coords)
