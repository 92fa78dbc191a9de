"""Measure a perovskite: tilts, A and B displacements, distortion, pseudo-cubic cell.

Quantities: octahedral tilts per pseudo-cubic axis, A-site displacement, octahedral
distortion, B off-centring and the pseudo-cubic cell.

Method (any cell, any setting, corner-sharing BX6 octahedra):

* Pseudo-cubic axes: the six nearest B neighbours of a B (lattice translations of the
  aristotype, not rotated by tilts) give three directions, orthonormalised by the polar
  decomposition (SVD). Pseudo-cubic lengths are the mean B–B distances along them.
* Tilts: each octahedron's rotation against the ideal one is the Kabsch rotation taking the
  six unit vectors ±e_k onto the six B→X unit vectors (each matched to its nearest ±e_k).
  Its rotation vector, read in the pseudo-cubic frame, gives the rotation about each axis
  (degrees). The sign pattern along an axis comes from the B neighbour along that axis: the
  same sense means in-phase (+), the opposite sense anti-phase (−); a mean |angle| below
  :data:`TILT_ZERO` reads as 0. The Glazer symbol is the entry of
  :data:`~bxrd.crystal.tilts.TILT_SPACE_GROUPS` that matches the signs and equal angles
  (within :data:`TILT_EQUAL`) under some permutation of the axes.
* A-site displacement: distance of A from the centre of its cube of eight nearest B, Å.
* B off-centring: distance of B from the centroid of its six X, Å.
* Octahedral distortion: Δ = ⟨(d − d̄)²/d̄²⟩ over the six B–X bonds (Brown & Shannon 1973),
  averaged over octahedra (LaMnO3 with its Jahn–Teller bonds: ≈ 33 × 10⁻⁴).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
from pymatgen.core import Structure
from scipy.spatial.transform import Rotation

from bxrd.crystal.sites import ABX3Sites, identify_abx3_sites
from bxrd.crystal.tilts import TILT_SPACE_GROUPS, parse_glazer
from bxrd.errors import NotPerovskiteError

#: Mean |rotation| (degrees) below which an axis counts as untilted.
TILT_ZERO = 1.0

#: Tilts (degrees) closer than this count as equal (same Glazer letter).
TILT_EQUAL = 1.0


@dataclass(frozen=True)
class PerovskiteGeometry:
    """What :func:`measure` reads from a perovskite.

    Attributes:
        axes: pseudo-cubic unit axes as rows, (3, 3), Cartesian.
        pc_lengths: pseudo-cubic lengths (mean B–B distance per axis), Å, (3,).
        volume_per_fu: cell volume per ABX3, Å³.
        rotations: rotation about each pseudo-cubic axis per octahedron, degrees, (n_B, 3).
        tilts: mean |rotation| per axis, degrees, (3,).
        signs: ``"+"``, ``"-"`` or ``"0"`` per axis.
        glazer: canonical Glazer symbol (a key of ``TILT_SPACE_GROUPS``) or ``""``.
        a_displacement: mean A displacement from its B-cube centre, Å.
        b_offcentre: mean B displacement from its X6 centroid, Å.
        distortion: mean bond-length distortion Δ of the octahedra (dimensionless).
        mean_bx: mean B–X bond length, Å.
    """

    axes: np.ndarray
    pc_lengths: np.ndarray
    volume_per_fu: float
    rotations: np.ndarray
    tilts: np.ndarray
    signs: tuple[str, str, str]
    glazer: str
    a_displacement: float
    b_offcentre: float
    distortion: float
    mean_bx: float

    @property
    def max_tilt(self) -> float:
        """Largest tilt over the three axes, degrees."""
        return float(self.tilts.max())


def nearest_vectors(
    structure: Structure, center: int, targets: list[int], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian vectors (k, 3) and indices (k,) of the k nearest ``targets`` (with images)."""
    lat = structure.lattice.matrix
    frac = structure.frac_coords
    diff = frac[targets] - frac[center]
    diff -= np.round(diff)
    images = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    vec = (diff[:, None, :] + images[None]) @ lat  # (n_targets, 27, 3)
    dist = np.linalg.norm(vec, axis=-1).ravel()
    order = np.argsort(dist)[:k]
    return vec.reshape(-1, 3)[order], np.asarray(targets)[order // len(images)]


def _pc_axes(b_vectors: np.ndarray) -> np.ndarray:
    """Orthonormal pseudo-cubic axes (rows) from the six B→B vectors of one B."""
    picked = [b_vectors[0]]
    for v in b_vectors[1:]:
        if all(abs(np.dot(v, p)) < 0.5 * np.linalg.norm(v) * np.linalg.norm(p) for p in picked):
            picked.append(v)
        if len(picked) == 3:
            break
    if len(picked) < 3:
        raise NotPerovskiteError("B sites do not form a pseudo-cubic network")
    m = np.array([p / np.linalg.norm(p) for p in picked])
    u, _, vt = np.linalg.svd(m)
    axes = u @ vt
    return axes if np.linalg.det(axes) > 0 else axes * np.array([[1], [1], [-1]])


def _kabsch(ideal: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising Σ|R ideal_i − actual_i|² (unit vectors as rows)."""
    h = ideal.T @ actual
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def glazer_symbol(tilts: np.ndarray, signs: tuple[str, str, str]) -> str:
    """Return the key of ``TILT_SPACE_GROUPS`` matching measured tilts and signs, or ``""``.

    A key matches when, under some permutation of the axes, its signs equal the measured
    ones and its equal letters join tilts within :data:`TILT_EQUAL`; among matches the one
    with the fewest distinct letters (the highest symmetry) wins.
    """
    best: tuple[int, str] | None = None
    for key in TILT_SPACE_GROUPS:
        letters, key_signs = parse_glazer(key)
        for perm in permutations(range(3)):
            if any(key_signs[k] != signs[perm[k]] for k in range(3)):
                continue
            groups: dict[str, list[float]] = {}
            for k in range(3):
                if key_signs[k] != "0":
                    groups.setdefault(letters[k], []).append(float(tilts[perm[k]]))
            if all(max(g) - min(g) <= TILT_EQUAL for g in groups.values()):
                if best is None or len(groups) < best[0]:
                    best = (len(groups), key)
    return "" if best is None else best[1]


def measure(structure: Structure, sites: ABX3Sites | None = None) -> PerovskiteGeometry:
    """Measure tilts, displacements, distortion and pseudo-cubic cell (module docstring).

    Raises:
        NotPerovskiteError: not an ABX3 perovskite with a pseudo-cubic B network.
    """
    sites = sites or identify_abx3_sites(structure)
    b_idx, a_idx, x_idx = list(sites.b_indices), list(sites.a_indices), list(sites.x_indices)
    bb0, _ = nearest_vectors(structure, b_idx[0], b_idx, 7)
    axes = _pc_axes(bb0[1:])
    rotations, offsets, distortions, bonds, lengths = [], [], [], [], []
    neighbour_along: list[list[int]] = []
    for i in b_idx:
        bx, _ = nearest_vectors(structure, i, x_idx, 6)
        d = np.linalg.norm(bx, axis=1)
        proj = bx @ axes.T  # components on the pc axes
        k = np.argmax(np.abs(proj), axis=1)
        if sorted(k.tolist()) != [0, 0, 1, 1, 2, 2]:
            raise NotPerovskiteError("a BX6 octahedron is too distorted to match the pc axes")
        ideal = axes[k] * np.sign(proj[np.arange(6), k])[:, None]
        rot = Rotation.from_matrix(_kabsch(ideal, bx / d[:, None])).as_rotvec()
        rotations.append(np.degrees(axes @ rot))
        offsets.append(np.linalg.norm(bx.mean(axis=0)))
        distortions.append(np.mean(((d - d.mean()) / d.mean()) ** 2))
        bonds.append(d.mean())
        bbv, bbi = nearest_vectors(structure, i, b_idx, 7)
        along = []
        for axis in range(3):
            j = int(np.argmax(bbv[1:] @ axes[axis])) + 1
            along.append(int(bbi[j]))
            lengths.append((axis, float(np.linalg.norm(bbv[j]))))
        neighbour_along.append(along)
    rotations_arr = np.array(rotations)
    tilts = np.abs(rotations_arr).mean(axis=0)
    row = {b: n for n, b in enumerate(b_idx)}
    signs = []
    for axis in range(3):
        if tilts[axis] < TILT_ZERO:
            signs.append("0")
            continue
        same = [
            rotations_arr[n, axis] * rotations_arr[row[neighbour_along[n][axis]], axis]
            for n in range(len(b_idx))
        ]
        signs.append("+" if np.mean(np.sign(same)) > 0 else "-")
    a_disp = []
    for i in a_idx:
        ab, _ = nearest_vectors(structure, i, b_idx, 8)
        a_disp.append(np.linalg.norm(ab.mean(axis=0)))
    pc = np.array([np.mean([v for a, v in lengths if a == axis]) for axis in range(3)])
    sign_t = (signs[0], signs[1], signs[2])
    return PerovskiteGeometry(
        axes=axes,
        pc_lengths=pc,
        volume_per_fu=structure.volume / len(b_idx),
        rotations=rotations_arr,
        tilts=tilts,
        signs=sign_t,
        glazer=glazer_symbol(tilts, sign_t),
        a_displacement=float(np.mean(a_disp)),
        b_offcentre=float(np.mean(offsets)),
        distortion=float(np.mean(distortions)),
        mean_bx=float(np.mean(bonds)),
    )
