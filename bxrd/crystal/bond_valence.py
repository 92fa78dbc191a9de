"""Bond valence: bond lengths from oxidation states, bond-valence sums and the GII.

A bond of length R (Å) carries the valence s = exp((R₀ − R)/b), b = 0.37 Å (Brown &
Altermatt 1985). A cation's bond-valence sum (BVS) Σs over its anion neighbours is close to
its oxidation state v, so the ideal length of N equal bonds is R = R₀ − b ln(v/N)
(:func:`ideal_bond_length`). The global instability index GII = √⟨(Σs − |v|)²⟩ over all
sites scores a structure in valence units (v.u.; < 0.1–0.2 v.u. for stable ones).

R₀ for a cation–anion pair comes from the element parameters (r, c) of O'Keeffe & Brese,
J. Am. Chem. Soc. 113, 3226 (1991), as tabulated in pymatgen:
R₀ = r_c + r_a − r_c r_a (√c_c − √c_a)² / (c_c r_c + c_a r_a). For an element without
parameters, R₀ is derived from Shannon radii: the bond r_cation(CN) + r_anion carries v/N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymatgen.analysis.bond_valence import BV_PARAMS
from pymatgen.core import Element, Structure

from bxrd.crystal.ions import Role, ion_for

#: Softness parameter b of the bond-valence law, Å.
B_SOFTNESS = 0.37

#: Bonds longer than R₀ + this (Å) carry < 0.005 v.u. and are ignored in sums.
BOND_REACH = 2.0


def element_r0(cation: str, anion: str) -> float | None:
    """R₀ (Å) of the pair from O'Keeffe–Brese element parameters, None if one is missing."""
    ec, ea = Element(cation), Element(anion)
    if ec not in BV_PARAMS or ea not in BV_PARAMS:
        return None
    rc, cc = BV_PARAMS[ec]["r"], BV_PARAMS[ec]["c"]
    ra, ca = BV_PARAMS[ea]["r"], BV_PARAMS[ea]["c"]
    return rc + ra - rc * ra * (math.sqrt(cc) - math.sqrt(ca)) ** 2 / (cc * rc + ca * ra)


def r0(cation: str, charge: int, anion: str, anion_charge: int, role: Role = "B") -> float:
    """R₀ (Å) of a cation–anion pair (see module docstring for the Shannon fallback).

    Args:
        cation: cation element.
        charge: its oxidation state (> 0).
        anion: anion element.
        anion_charge: its oxidation state (< 0).
        role: perovskite site of the cation (``"A"``: CN 12, ``"B"``: CN 6) for the fallback.

    Raises:
        ValueError: neither bond-valence parameters nor Shannon radii exist for the pair.
    """
    value = element_r0(cation, anion)
    if value is not None:
        return value
    ion_c, ion_a = ion_for(cation, charge, role), ion_for(anion, anion_charge, "X")
    if ion_c is None or ion_a is None:
        raise ValueError(
            f"no bond-valence parameters or Shannon radii for {cation}{charge:+d}-{anion}"
        )
    n = 12 if role == "A" else 6
    return ion_c.radius + ion_a.radius + B_SOFTNESS * math.log(charge / n)


def ideal_bond_length(
    cation: str, charge: int, anion: str, anion_charge: int, n_bonds: int, role: Role = "B"
) -> float:
    """Length (Å) of ``n_bonds`` equal bonds whose valences sum to ``charge``: R₀ − b ln(v/N)."""
    return r0(cation, charge, anion, anion_charge, role) - B_SOFTNESS * math.log(charge / n_bonds)


def _images(lattice: np.ndarray, reach: float) -> np.ndarray:
    """Integer translations (n, 3) reaching every neighbour within ``reach`` Å.

    They are added to minimum-image fractional differences in [−½, ½]: an image k along a
    lattice vector is needed only if |k| ≤ reach / spacing + ½ (spacing: interplanar).
    """
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(lattice), axis=0)
    n = np.floor(reach / spacing + 0.5).astype(int)
    grid = np.stack(np.meshgrid(*(np.arange(-k, k + 1) for k in n), indexing="ij"), -1)
    return grid.reshape(-1, 3)


def bond_valence_sums(
    lattice: np.ndarray,
    frac: np.ndarray,
    symbols: Sequence[str],
    charges: Sequence[int],
    r0_of: dict[tuple[str, str], float],
) -> np.ndarray:
    """Bond-valence sum (v.u., always ≥ 0) of every site, shape (n_sites,).

    Args:
        lattice: lattice vectors as rows, (3, 3) Å.
        frac: fractional coordinates, (n_sites, 3).
        symbols: element per site.
        charges: oxidation state per site.
        r0_of: R₀ (Å) per (cation element, anion element); every cation–anion pair of the
            structure must be present.
    """
    q = np.asarray(charges)
    cat, an = np.flatnonzero(q > 0), np.flatnonzero(q < 0)
    r0m = np.array([[r0_of[(symbols[i], symbols[j])] for j in an] for i in cat])
    images = _images(lattice, float(r0m.max()) + BOND_REACH)
    wrapped = frac[an][None, :, :] - frac[cat][:, None, :]
    wrapped -= np.round(wrapped)
    diff = wrapped[:, :, None, :] + images[None, None]
    dist = np.linalg.norm(diff @ lattice, axis=-1)  # (n_cat, n_an, n_images)
    s = np.exp((r0m[..., None] - dist) / B_SOFTNESS)
    s[dist > r0m[..., None] + BOND_REACH] = 0.0
    bvs = np.zeros(len(symbols))
    bvs[cat] = s.sum(axis=(1, 2))
    bvs[an] = s.sum(axis=(0, 2))
    return bvs


def global_instability_index(bvs: np.ndarray, charges: Sequence[int]) -> float:
    """GII = √⟨(BVS − |v|)²⟩ over all sites, v.u.; ``bvs`` from :func:`bond_valence_sums`."""
    return float(np.sqrt(np.mean((bvs - np.abs(np.asarray(charges))) ** 2)))


def structure_bond_valence_sums(
    structure: Structure, charges: Sequence[int], r0_of: dict[tuple[str, str], float]
) -> np.ndarray:
    """:func:`bond_valence_sums` of a pymatgen structure, shape (n_sites,)."""
    symbols = [site.specie.symbol for site in structure]
    return bond_valence_sums(
        structure.lattice.matrix, structure.frac_coords, symbols, charges, r0_of
    )
