"""Scale the octahedral tilts of a real perovskite, keeping its octahedra corner-shared.

Each BX6 octahedron n has a measured rotation vector ω_n (:func:`bxrd.crystal.measure.measure`,
Cartesian radians). Scaling every tilt by f rotates octahedron n further by Δ_n = (f − 1) ω_n
about its B. An X shared by B₁ and B₂ moves to the mean of its two rotated positions,
X' = X + ½ Σ_k (v_k − R(Δ_k) v_k) with v_k = B_k − X, which is exact when the two rotations
agree at the shared corner (as in every Glazer system) and keeps the space group, because a
common factor f maps symmetry-related rotations onto symmetry-related rotations.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure
from scipy.spatial.transform import Rotation

from bxrd.crystal.measure import measure, nearest_vectors
from bxrd.crystal.sites import ABX3Sites


def scale_tilts(structure: Structure, sites: ABX3Sites, factor: float) -> Structure:
    """Copy of ``structure`` with every octahedral tilt multiplied by ``factor`` (≥ 0)."""
    if factor < 0:
        raise ValueError(f"tilt factor must be >= 0, got {factor}")
    geo = measure(structure, sites)
    b_idx = list(sites.b_indices)
    rotvec = np.radians(geo.rotations) @ geo.axes  # (n_B, 3) Cartesian
    row = {b: n for n, b in enumerate(b_idx)}
    moved = structure.copy()
    inv = np.linalg.inv(structure.lattice.matrix)
    for i in sites.x_indices:
        vecs, owners = nearest_vectors(structure, i, b_idx, 2)
        shift = np.zeros(3)
        for v, b in zip(vecs, owners, strict=True):
            r = Rotation.from_rotvec((factor - 1.0) * rotvec[row[int(b)]]).as_matrix()
            shift += 0.5 * (v - r @ v)
        moved.replace(i, moved[i].species, (structure.frac_coords[i] + shift @ inv) % 1.0)
    return moved
