"""March–Dollase preferred orientation, applied per symmetry-equivalent reflection.

A textured sample has its crystallites' orientation axis n̂ (e.g. the film normal expressed in
crystal axes) distributed around the diffraction vector. March–Dollase (March, Z. Kristallogr.
81, 285, 1932; Dollase, J. Appl. Cryst. 19, 267, 1986) scales a reflection whose scattering
vector makes angle α with n̂ by

    P(α) = (r² cos²α + sin²α / r)^(−3/2),

r = 1 a random powder, r < 1 plates with n̂ along the film normal (their n̂-reflections grow,
the others fade), r > 1 needles. P averages to 1 over all directions, so a random set of axes
keeps the total intensity. A stick stands for a whole family {hkl}: the equivalent reflections
have different α, so the family's factor is the mean of P over them. Sticks keep one
representative hkl per family (pymatgen merges them), so the family is regenerated with the
rotations of the lattice's point symmetry (its holohedry, from spglib on the cell metric;
P depends on cos²α, so proper rotations suffice). Where the structure's Laue group is lower
than its lattice's, families merged in the stick file at the same d are averaged together: the
stick file does not tell them apart either.
"""

from __future__ import annotations

import numpy as np
import spglib
import torch

#: Most proper rotations of a lattice point group (m-3m has 24).
MAX_ROTATIONS = 24


def lattice_rotations(lattice: np.ndarray, symprec: float = 1e-3) -> np.ndarray:
    """Proper rotations of the lattice's holohedry in Cartesian axes, shape (M, 3, 3), M ≤ 24.

    Args:
        lattice: direct lattice vectors as rows, Å, shape (3, 3).
        symprec: spglib tolerance, Å.
    """
    cell = (np.asarray(lattice, dtype=float), [[0.0, 0.0, 0.0]], [1])
    sym = spglib.get_symmetry(cell, symprec=symprec)
    frac = sym["rotations"] if sym is not None else np.eye(3, dtype=int)[None]
    frac = np.unique(frac[np.round(np.linalg.det(frac)) > 0], axis=0)
    a_t = np.asarray(lattice, dtype=float).T  # x = Aᵀ f
    return a_t @ frac @ np.linalg.inv(a_t)


def march_dollase(cos_alpha: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """P(α) = (r² cos²α + sin²α / r)^(−3/2), broadcasting ``cos_alpha`` against ``r``."""
    c2 = cos_alpha**2
    x = r**2 * c2 + (1.0 - c2) / r
    return x.rsqrt().div_(x)  # x^(−3/2); several times faster than pow on CPU


def family_march_dollase(
    normals: torch.Tensor,
    rotations: torch.Tensor,
    rotation_weight: torch.Tensor,
    direction: torch.Tensor,
    r: torch.Tensor,
) -> torch.Tensor:
    """March–Dollase factor of each stick, averaged over its symmetry-equivalent reflections.

    Args:
        normals: unit scattering vectors of the representative reflections, Cartesian,
            shape (B, P, 3).
        rotations: proper point rotations, Cartesian, shape (B, M, 3, 3) (padding: any).
        rotation_weight: 1 / (number of rotations) on real rotations, 0 on padding, (B, M).
        direction: unit orientation axes n̂, Cartesian, shape (B, 3).
        r: March–Dollase parameter per pattern, shape (B,).

    Returns:
        Factors, shape (B, P); cos α_j = (R_j g)·n̂ = g·(R_jᵀ n̂).
    """
    axes = torch.einsum("bmji,bj->bmi", rotations, direction)  # R_jᵀ n̂
    cos_alpha = torch.einsum("bpi,bmi->bpm", normals, axes)
    factor = march_dollase(cos_alpha, r[:, None, None])
    return torch.einsum("bpm,bm->bp", factor, rotation_weight)


__all__ = ["MAX_ROTATIONS", "family_march_dollase", "lattice_rotations", "march_dollase"]
