"""Hexagonal ABX3 polytypes (P6_3/mmc): 2H, 4H and 6H stackings of close-packed AX3 layers.

AX3 layers stack as h (the layers either side are alike, B octahedra share faces across it)
or c (corner sharing, as in the cubic perovskite). 2H is all h (BaNiO3: face-sharing chains
along c), 4H is hc (SrMnO3 type: face-sharing B2X9 dimers joined by corners), 6H is hcc
(hexagonal BaTiO3: dimers and single corner-sharing octahedra). All three have space group
P6_3/mmc (194); they differ in the face-sharing B neighbours per B (:func:`face_sharing`):
two for every B (2H), one for every B (4H), one for two thirds of them and none for the
rest (6H).

Positions (fractional, conventional cell), with the axial ratio c/a:

* 2H: :func:`bxrd.crystal.tilts.hexagonal_2h` (BaNiO3, Takeda et al. 1976).
* 4H: A 2a (0, 0, 0), A 2c (1/3, 2/3, 1/4), B 4f (1/3, 2/3, 0.612), X 6h (0.8175, 0.635, 1/4),
  X 6g (1/2, 0, 0); c/a = 1.666 (close to 4H-SrMnO3, Battle et al., J. Solid State Chem. 74,
  60, 1988).
* 6H: A 2b (0, 0, 1/4), A 4f (1/3, 2/3, 0.097), B 2a (0, 0, 0), B 4f (1/3, 2/3, 0.846),
  X 6h (0.518, 0.036, 1/4), X 12k (0.835, 0.670, 0.081); c/a = 2.44 (close to 6H-BaTiO3,
  Akimoto et al., Acta Cryst. C50, 160, 1994).

Face-sharing B move apart from the shared face (z of B 4f off the ideal 5/8 and 5/6): the
B–B repulsion of real dimers. The cell is scaled so the mean B–X bond equals ``bond``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pymatgen.core import Lattice, Structure

from bxrd.crystal.tilts import hexagonal_2h

Polytype = Literal["2H", "4H", "6H"]

#: The polytypes, stacking sequence of their AX3 layers (h/c per layer).
POLYTYPES: dict[str, str] = {"2H": "hh", "4H": "hchc", "6H": "hcchcc"}

#: (c/a, [(site label, species role, fractional position)]) of 4H and 6H.
_SITES: dict[str, tuple[float, list[tuple[str, tuple[float, float, float]]]]] = {
    "4H": (
        1.666,
        [
            ("A", (0.0, 0.0, 0.0)),
            ("A", (1 / 3, 2 / 3, 0.25)),
            ("B", (1 / 3, 2 / 3, 0.612)),
            ("X", (0.8175, 0.635, 0.25)),
            ("X", (0.5, 0.0, 0.0)),
        ],
    ),
    "6H": (
        2.44,
        [
            ("A", (0.0, 0.0, 0.25)),
            ("A", (1 / 3, 2 / 3, 0.097)),
            ("B", (0.0, 0.0, 0.0)),
            ("B", (1 / 3, 2 / 3, 0.846)),
            ("X", (0.518, 0.036, 0.25)),
            ("X", (0.835, 0.670, 0.081)),
        ],
    ),
}


def _b_x_distances(structure: Structure, b: str, x: str) -> np.ndarray:
    """Return the six shortest B–X distances of every B, Å, shape (n_B, 6)."""
    x_idx = [i for i, s in enumerate(structure) if s.specie.symbol == x]
    rows = []
    for i, site in enumerate(structure):
        if site.specie.symbol == b:
            rows.append(np.sort([structure.get_distance(i, j) for j in x_idx])[:6])
    return np.array(rows)


def hexagonal_polytype(a: str, b: str, x: str, polytype: Polytype, bond: float) -> Structure:
    """Build the ``polytype`` of A B X3 with mean B–X bond ``bond`` (Å).

    Raises:
        ValueError: unknown polytype.
    """
    if polytype == "2H":
        return hexagonal_2h(a, b, x, bond=bond)
    if polytype not in _SITES:
        raise ValueError(f"unknown polytype {polytype!r}; known: {sorted(POLYTYPES)}")
    c_over_a, sites = _SITES[polytype]
    names = {"A": a, "B": b, "X": x}
    s = Structure.from_spacegroup(
        "P6_3/mmc",
        Lattice.hexagonal(1.0, c_over_a),
        [names[role] for role, _ in sites],
        [pos for _, pos in sites],
    )
    mean = float(_b_x_distances(s, b, x).mean())
    s.scale_lattice(s.volume * (bond / mean) ** 3)
    return s


def face_sharing(structure: Structure, b: str, bond: float) -> np.ndarray:
    """Count the face-sharing B neighbours of every B, shape (n_B,).

    Octahedra sharing a face put their B about 1.2–1.3 × the B–X bond apart (corner
    sharing: 2 ×); B within 1.6 × ``bond`` (Å) count.
    """
    return np.array(
        [
            sum(n.specie.symbol == b for n in structure.get_neighbors(site, 1.6 * bond))
            for site in structure
            if site.specie.symbol == b
        ]
    )
