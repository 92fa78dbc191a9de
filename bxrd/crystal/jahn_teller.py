"""Cooperative Jahn–Teller distortion of an existing perovskite (Q2 mode, as in LaMnO3).

In the plane normal to the JT axis (the in-phase tilt axis when there is one, else the third
pseudo-cubic axis; :func:`bxrd.crystal.tilts.jahn_teller_axis`), B sites alternate like a
checkerboard: B of parity +1 (sum of its two in-plane pseudo-cubic coordinates even) has long
bonds along the first in-plane axis and short ones along the second; parity −1 the reverse.
Each in-plane X, shared by two B of opposite parity, moves by ``amplitude`` (Å) along the
B–X–B link towards the B whose bond is short: one long and one short bond per X
(LaMnO3: Mn–O 1.91 / 2.18 Å, a ±0.13 Å mode). X along the JT axis stay. The pseudo-cubic
frame and octahedra come from :func:`bxrd.crystal.measure.measure`.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from bxrd.crystal.measure import measure, nearest_vectors
from bxrd.crystal.sites import ABX3Sites


def add_jahn_teller(structure: Structure, sites: ABX3Sites, amplitude: float) -> Structure | None:
    """Copy of ``structure`` with the cooperative Q2 pattern of ``amplitude`` Å added.

    Returns None when the cell cannot hold the checkerboard (a B site would need both
    parities, e.g. a one-formula-unit cubic cell).
    """
    geo = measure(structure, sites)
    axes, a_pc = geo.axes, float(np.mean(geo.pc_lengths))
    jt_axis = geo.signs.index("+") if "+" in geo.signs else 2
    plane = [k for k in range(3) if k != jt_axis]
    b_idx = list(sites.b_indices)
    origin = structure[b_idx[0]].coords
    lattice_inv = np.linalg.inv(structure.lattice.matrix)
    moved = structure.copy()
    parity_of: dict[int, int] = {}
    for i in sites.x_indices:
        vecs, owners = nearest_vectors(structure, i, b_idx, 2)  # X → B₁, X → B₂ (Å)
        link = vecs[0] - vecs[1]
        k = int(np.argmax(np.abs(axes @ link)))
        if k == jt_axis:
            continue
        pc = np.rint(((structure[i].coords + vecs - origin) @ axes.T) / a_pc).astype(int)
        parity = 1 - 2 * ((pc[:, plane[0]] + pc[:, plane[1]]) % 2)
        for b, p in zip(owners.tolist(), parity.tolist(), strict=True):
            if parity_of.setdefault(b, p) != p:
                return None  # one B site would need both parities
        if parity[0] == parity[1]:
            return None
        short_parity = -1 if k == plane[0] else 1
        towards = vecs[0] if parity[0] == short_parity else vecs[1]
        shift = amplitude * towards / np.linalg.norm(towards)
        new = structure.frac_coords[i] + shift @ lattice_inv
        moved.replace(i, moved[i].species, new % 1.0)
    return moved
