"""Displacements that keep a structure's space group: the identity-irrep projection.

A displacement field u (one Cartesian vector per site) keeps every operation g = (R, t) of
the space group G when u(g·i) = R_c u(i) for all sites i (R_c the rotation in Cartesian
axes). The projector P u(j) = (1/|G|) Σ_g R_c u(g⁻¹·j) maps any field onto such symmetric
ones. :func:`displacement_basis` returns an orthonormal basis of the symmetric fields of
chosen sites (e.g. the two free A-site coordinates of Pnma, x and z of 4c), found by
projecting the 3n unit fields and keeping the independent results (SVD). Moving atoms along
any combination of the basis keeps every operation of G; a special amplitude may add
symmetry, so callers label the result with spglib, never by intent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import spglib
from pymatgen.core import Structure

from bxrd.crystal.template import SYMPREC


def _site_map(frac: np.ndarray, rot: np.ndarray, trans: np.ndarray, lattice: np.ndarray) -> list:
    """Index j of the site at g·x_i for every i (the nearest image, Cartesian distance)."""
    moved = frac @ rot.T + trans
    diff = moved[:, None, :] - frac[None, :, :]
    diff -= np.round(diff)
    return list(np.argmin(np.linalg.norm(diff @ lattice, axis=-1), axis=1))


def projector(structure: Structure, symprec: float = SYMPREC) -> np.ndarray:
    """Return the symmetrising projector P, shape (3n, 3n), acting on flattened (n, 3) fields."""
    lattice = structure.lattice.matrix
    frac = structure.frac_coords
    numbers = [site.specie.Z for site in structure]
    ops = spglib.get_symmetry((lattice, frac, numbers), symprec=symprec)
    inv_lat = np.linalg.inv(lattice)
    n = len(structure)
    p = np.zeros((n, 3, n, 3))
    for rot, trans in zip(ops["rotations"], ops["translations"], strict=True):
        rc = lattice.T @ rot @ inv_lat.T  # Cartesian rotation acting on column vectors
        for src, dst in enumerate(_site_map(frac, rot, trans, lattice)):
            p[dst, :, src, :] += rc
    return p.reshape(3 * n, 3 * n) / len(ops["rotations"])


def displacement_basis(
    structure: Structure, indices: Sequence[int], symprec: float = SYMPREC
) -> np.ndarray:
    """Orthonormal symmetric displacement fields of the sites ``indices``.

    Returns:
        Array (n_modes, len(structure), 3), Cartesian, unit norm over all sites; zero for
        sites outside ``indices``. ``n_modes`` may be 0 (sites fixed by symmetry).
    """
    n = len(structure)
    cols = [3 * i + k for i in indices for k in range(3)]
    if not cols:
        return np.zeros((0, n, 3))
    fields = projector(structure, symprec)[:, cols].T  # (3 len(indices), 3n)
    _, sv, vt = np.linalg.svd(fields, full_matrices=False)
    keep = sv > 1e-6 * max(float(sv.max()), 1e-12)
    return vt[keep].reshape(-1, n, 3)


def displace(structure: Structure, field: np.ndarray) -> Structure:
    """Copy of ``structure`` with every site moved by ``field`` (n_sites, 3), Cartesian Å."""
    moved = structure.copy()
    frac = structure.frac_coords + field @ np.linalg.inv(structure.lattice.matrix)
    for i, f in enumerate(frac):
        moved.replace(i, moved[i].species, f % 1.0)
    return moved
