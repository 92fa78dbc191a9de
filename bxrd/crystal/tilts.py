"""ABX3 perovskites from Glazer tilt notation, polar B-site shifts, and the 2H polytype.

Construction (a 2 × 2 × 2 pseudo-cubic supercell, B at integer sites (i, j, k)):

* Glazer ``a±b±c±``: the octahedron at (i, j, k) turns by (α, β, γ) about x, y, z. About z,
  neighbours along x and y always turn in opposite senses; along z in the same sense for
  ``+`` (in-phase) and opposite for ``-`` (anti-phase); likewise for the other axes:
  γ(i,j,k) = γ₀ (-1)^(i+j) [(-1)^k for ``-``], β = β₀ (-1)^(i+k) [(-1)^j], α = α₀ (-1)^(j+k)
  [(-1)^i]. Equal letters mean equal angles. Each X, shared by two octahedra along one axis,
  moves by ω × r (r = B→X), the same from both sides, so octahedra stay corner-shared.
* Cell: each pseudo-cubic length is 2 d_BX cos θ₁ cos θ₂ (θ the tilts about the two other
  axes), the usual rigid-octahedron shortening (Glazer 1972; SPuDS, Lufaso & Woodward 2001).
* d_BX from bond valence: d = R₀ − 0.37 ln(v_B / 6) (:mod:`bxrd.crystal.bond_valence`).
  The structure model (:mod:`bxrd.crystal.structure_model`) chooses tilt and d_BX from
  the GII; this module only builds.
* A sits at the cavity centre plus ``a_shift``; symmetry-allowed A displacements (as in
  Pnma) are added by :mod:`bxrd.crystal.generator` and the structure model.
* Jahn–Teller: optional cooperative Q2 pattern of B–X bond lengths (``jahn_teller``, Å).
* Polar: B (and optionally A) shift by a vector in Å: [001] → P4mm, [011] → Amm2,
  [111] → R3m, a⁻a⁻a⁻ + [111] → R3c.

Space groups of the 15 tilt systems follow Howard & Stokes, Acta Cryst. B54, 782 (1998)
(:data:`TILT_SPACE_GROUPS`); tests check each with spglib.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import product

import numpy as np
from pymatgen.core import Lattice, Structure

from bxrd.crystal.bond_valence import ideal_bond_length

#: Glazer tilt system → space-group number (Howard & Stokes 1998, Table 2).
TILT_SPACE_GROUPS: dict[str, int] = {
    "a0a0a0": 221,  # Pm-3m
    "a0a0c+": 127,  # P4/mbm
    "a0a0c-": 140,  # I4/mcm
    "a0b+b+": 139,  # I4/mmm
    "a0b-b-": 74,  # Imma
    "a+a+a+": 204,  # Im-3
    "a+b+c+": 71,  # Immm
    "a+a+c-": 137,  # P4_2/nmc
    "a+b-b-": 62,  # Pnma
    "a+b-c-": 11,  # P2_1/m
    "a0b+c-": 63,  # Cmcm
    "a0b-c-": 12,  # C2/m
    "a-b-b-": 15,  # C2/c
    "a-a-a-": 167,  # R-3c
    "a-b-c-": 2,  # P-1
}

#: Polar families: (tilt system, B shift direction) → space-group number.
POLAR_SPACE_GROUPS: dict[tuple[str, tuple[int, int, int]], int] = {
    ("a0a0a0", (0, 0, 1)): 99,  # P4mm
    ("a0a0a0", (0, 1, 1)): 38,  # Amm2
    ("a0a0a0", (1, 1, 1)): 160,  # R3m
    ("a-a-a-", (1, 1, 1)): 161,  # R3c
}

#: Default angles (degrees) given to the distinct tilt letters in order of appearance.
DEFAULT_ANGLES: tuple[float, float, float] = (8.0, 6.0, 4.5)

_GLAZER = re.compile(r"^([abc])([0+-])([abc])([0+-])([abc])([0+-])$")


def parse_glazer(notation: str) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """Letters and signs of a Glazer symbol, e.g. ``"a+b-b-"`` → (a, b, b), (+, -, -).

    Raises:
        ValueError: not three letter-sign pairs (signs 0, + or -).
    """
    m = _GLAZER.match(notation.replace("⁺", "+").replace("⁻", "-").replace("⁰", "0"))
    if m is None:
        raise ValueError(f"{notation!r} is not a Glazer tilt symbol such as 'a+b-b-' or 'a0a0c-'")
    g = m.groups()
    return (g[0], g[2], g[4]), (g[1], g[3], g[5])


def tilt_angles(
    notation: str, angles: float | tuple[float, ...] | None = None
) -> tuple[float, float, float]:
    """Tilt angles (degrees) about x, y, z for ``notation``.

    Args:
        notation: Glazer symbol.
        angles: one angle for every tilted axis, or one per distinct letter in order of
            appearance (default :data:`DEFAULT_ANGLES`); equal letters get equal angles.
    """
    letters, signs = parse_glazer(notation)
    tilted = [letter for letter, s in zip(letters, signs, strict=True) if s != "0"]
    distinct = list(dict.fromkeys(tilted))
    if angles is None:
        values = DEFAULT_ANGLES
    elif isinstance(angles, (int, float)):
        values = (float(angles),) * 3
    else:
        values = tuple(float(a) for a in angles)
    if len(values) < len(distinct):
        raise ValueError(f"{notation}: {len(distinct)} distinct tilts need as many angles")
    by_letter = dict(zip(distinct, values, strict=False))
    return tuple(  # type: ignore[return-value]
        by_letter[letter] if s != "0" else 0.0 for letter, s in zip(letters, signs, strict=True)
    )


def bond_length(b: str, b_charge: int, x: str, x_charge: int) -> float:
    """B–X bond length in Å from bond valence (see module docstring), Shannon as fallback."""
    return ideal_bond_length(b, b_charge, x, x_charge, 6, "B")


def _signs(i: int, j: int, k: int, signs: tuple[str, str, str]) -> np.ndarray:
    """Rotation sense about x, y, z of the octahedron at (i, j, k)."""
    alt = [(-1) ** n for n in (i, j, k)]
    sx = (-1) ** (j + k) * (alt[0] if signs[0] == "-" else 1)
    sy = (-1) ** (i + k) * (alt[1] if signs[1] == "-" else 1)
    sz = (-1) ** (i + j) * (alt[2] if signs[2] == "-" else 1)
    return np.array([sx, sy, sz], dtype=float)


def jahn_teller_axis(notation: str) -> int:
    """Axis (0, 1, 2) normal to the plane of the cooperative Jahn–Teller pattern.

    The in-phase tilt axis when there is one (c⁺ of LaMnO3 in Pbnm), else z.
    """
    _, signs = parse_glazer(notation)
    return signs.index("+") if "+" in signs else 2


def tilted_perovskite_arrays(
    a: str,
    b: str,
    x: str,
    notation: str,
    omega_deg: tuple[float, float, float],
    bond: float,
    b_shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
    a_shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
    jahn_teller: float = 0.0,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Lattice (3, 3) Å, species (40,) and fractional coordinates (40, 3) of the 2×2×2 cell.

    ``omega_deg`` are the tilt angles about x, y, z (degrees); ``jahn_teller`` is the
    amplitude (Å) of the cooperative Q2 mode: in the plane normal to
    :func:`jahn_teller_axis`, each B has two long bonds (+δ) along one in-plane axis and two
    short ones (−δ) along the other, alternating like a checkerboard, stacked in phase.
    """
    _, signs = parse_glazer(notation)
    omega = np.radians(omega_deg)
    cos = np.cos(omega)
    pc = 2.0 * bond * np.array([cos[1] * cos[2], cos[0] * cos[2], cos[0] * cos[1]])
    sites, senses, stretch = _cell_pattern(signs, jahn_teller_axis(notation))
    half = np.eye(3)[None] * (pc / 2)  # (1, axis, xyz): B→X of each of the three X
    w = omega * senses  # (8, 3) rotation vector of each octahedron
    x_pos = sites[:, None] * pc + half + np.cross(w[:, None], half) + stretch * jahn_teller
    coords = np.concatenate(
        [
            (sites * pc + np.asarray(b_shift))[:, None],
            ((sites + 0.5) * pc + np.asarray(a_shift))[:, None],
            x_pos,
        ],
        axis=1,
    ).reshape(-1, 3) / (2 * pc)
    species = [b, a, x, x, x] * 8
    return np.diag(2 * pc), species, np.mod(coords, 1.0)


@lru_cache(maxsize=64)
def _cell_pattern(
    signs: tuple[str, str, str], jt_axis: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites (8, 3), rotation senses (8, 3) and unit Jahn–Teller bond changes (8, 3, 3)."""
    plane = [k for k in range(3) if k != jt_axis]
    sites = np.array(list(product(range(2), repeat=3)), dtype=float)
    senses = np.array([_signs(*map(int, site), signs) for site in sites])
    stretch = np.zeros((8, 3, 3))
    for n, site in enumerate(sites):
        parity = (-1) ** int(site[plane[0]] + site[plane[1]])
        stretch[n, plane[0], plane[0]] = parity  # long bond along plane[0] where parity is +1
        stretch[n, plane[1], plane[1]] = -parity
    return sites, senses, stretch


def default_charges(x: str) -> tuple[int, int, int]:
    """(q_A, q_B, q_X): (2, 4, −2) for chalcogenides and oxides, (1, 2, −1) for halides."""
    return (2, 4, -2) if x in ("O", "S", "Se", "Te") else (1, 2, -1)


def tilted_perovskite(
    a: str,
    b: str,
    x: str,
    notation: str = "a0a0a0",
    angles: float | tuple[float, ...] | None = None,
    charges: tuple[int, int, int] | None = None,
    bond: float | None = None,
    b_shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
    a_shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
    jahn_teller: float = 0.0,
) -> Structure:
    """Build an ABX3 perovskite (2 × 2 × 2 pseudo-cubic cell, 40 atoms).

    Args:
        a: A-site element.
        b: B-site element.
        x: X-site element.
        notation: Glazer tilt system, e.g. ``"a+b-b-"``.
        angles: tilt angles in degrees (see :func:`tilt_angles`).
        charges: oxidation states (q_A, q_B, q_X); default :func:`default_charges`.
        bond: B–X bond length, Å (default: :func:`bond_length`).
        b_shift: polar displacement of every B, Cartesian Å.
        a_shift: polar displacement of every A, Cartesian Å.
        jahn_teller: amplitude of the cooperative Jahn–Teller bond pattern, Å
            (see :func:`tilted_perovskite_arrays`).
    """
    if charges is None:
        charges = default_charges(x)
    if charges[0] + charges[1] + 3 * charges[2] != 0:
        raise ValueError(f"charges {charges} are not neutral for ABX3")
    d = bond if bond is not None else bond_length(b, charges[1], x, charges[2])
    lattice, species, frac = tilted_perovskite_arrays(
        a, b, x, notation, tilt_angles(notation, angles), d, b_shift, a_shift, jahn_teller
    )
    return Structure(Lattice(lattice), species, frac)


def hexagonal_2h(a: str, b: str, x: str, bond: float | None = None) -> Structure:
    """Build the 2H polytype (P6_3/mmc, BaNiO3 type): face-sharing octahedra along c.

    Positions and axial ratio of BaNiO3 (Takeda et al., Mater. Res. Bull. 11, 1976):
    a = 5.629, c = 4.811 Å; Ba 2d (1/3, 2/3, 3/4), Ni 2a (0, 0, 0), O 6h (0.1486, 0.2972, 1/4).
    The cell is scaled so the B–X bond equals ``bond`` (default: bond valence, v_B = 4).
    """
    ref = Structure.from_spacegroup(
        "P6_3/mmc",
        Lattice.hexagonal(5.629, 4.811),
        ["Ba", "Ni", "O"],
        [[1 / 3, 2 / 3, 0.75], [0, 0, 0], [0.1486, 0.2972, 0.25]],
    )
    ni = [i for i, s in enumerate(ref) if s.specie.symbol == "Ni"][0]
    ref_bond = min(ref.get_distance(ni, i) for i, s in enumerate(ref) if s.specie.symbol == "O")
    target = bond if bond is not None else bond_length(b, 4, x, -2)
    ref.scale_lattice(ref.volume * (target / ref_bond) ** 3)
    ref.replace_species({"Ba": a, "Ni": b, "O": x})
    return ref
