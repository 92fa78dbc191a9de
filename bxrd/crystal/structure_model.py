"""Structure model of ABX3 perovskites: composition + tilt system → cell (SPuDS-like).

Rule (after SPuDS, Lufaso & Woodward, Acta Cryst. B57, 725, 2001), all in the 2 × 2 × 2
pseudo-cubic cell of :func:`bxrd.crystal.tilts.tilted_perovskite_arrays`:

1. Rigid BX6 octahedra with B–X = s · d_BX, d_BX the bond-valence length of six bonds
   (:func:`bxrd.crystal.bond_valence.ideal_bond_length`), s a stretch factor (≈ 1).
2. The tilt magnitude φ (degrees, the same for every tilted axis) and s minimise the global
   instability index (GII) of all A, B and X sites: bond valence of *both* the A–X and the
   B–X bonds sets the cell. With t < 1 the A cation is under-bonded in the cubic cell and
   tilting shortens A–X contacts, so φ follows the tolerance factor; with t > 1 no tilt
   helps and s > 1 stretches the cell between the B–X and the A–X optimum (BaTiO3:
   a ≈ 4.0 Å where 2 d_BX = 3.93 and √2 d_AX = 4.17 Å).
3. A-site displacements: the symmetry-allowed A coordinates (identity-irrep fields of
   :mod:`bxrd.crystal.symmetric_displacements`, e.g. x and z of Pnma 4c) are optimised
   with φ and s, again on the GII. The GII alone leaves a family of equally good cells
   (tilt and A shift both raise the A bond-valence sum); a weak penalty picks the one whose
   A shift per degree of tilt is the measured median of real structures of that anion family
   and tilt system (:mod:`bxrd.crystal.distributions`).
4. Polar families: every B moves by :data:`POLAR_SHIFT` Å along [001], [011] or [111].
5. Jahn–Teller: high-spin d⁴ (Mn³⁺, Cr²⁺) and d⁹ (Cu²⁺) B ions get the cooperative Q2
   pattern with amplitude :data:`JAHN_TELLER_FRACTION` × d_BX (LaMnO3: Mn–O 1.91/2.18 Å).
6. Spontaneous strain (:mod:`bxrd.crystal.strain_model`): the cell built so far is
   metrically pseudo-cubic; its conventional cell is deformed at constant volume to the
   measured median strain of its space group at the optimal tilt (Pnma: a/√2 > b/2 > c/√2
   by ≈ 0.6 sin²φ and 0.5 sin²φ), fractional coordinates kept (:mod:`bxrd.crystal.strain`).
7. Calibration (:mod:`bxrd.crystal.calibration`): every length of the optimal cell is
   multiplied by the composition's length scale k (a fitted per-anion-family volume
   correction, by default the committed one; ``UNCALIBRATED`` gives k = 1). The ions' R₀
   move with it (R₀ + (k − 1) d_ideal), so bond-valence sums of the scaled cell stay those
   of the bond-valence optimum.

The tilt system of a composition (:func:`predict_tilt_system`) is a⁺b⁻b⁻ (Pnma, the most
common distorted perovskite) when the optimal a⁺b⁻b⁻ tilt reaches the calibrated threshold
(:attr:`~bxrd.crystal.calibration.Calibration.tilt_threshold`), else a⁰a⁰a⁰ (Pm-3m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from pymatgen.core import Lattice, Structure
from scipy.optimize import minimize

from bxrd.crystal.bond_valence import bond_valence_sums, global_instability_index, ideal_bond_length
from bxrd.crystal.bond_valence import r0 as pair_r0
from bxrd.crystal.calibration import Calibration, load_calibration
from bxrd.crystal.distributions import anion_family, ranges_for
from bxrd.crystal.ions import ion_for
from bxrd.crystal.polytypes import POLYTYPES, hexagonal_polytype
from bxrd.crystal.strain_model import StrainModel, strain_structure
from bxrd.crystal.symmetric_displacements import displacement_basis
from bxrd.crystal.tilts import (
    POLAR_SPACE_GROUPS,
    TILT_SPACE_GROUPS,
    default_charges,
    parse_glazer,
    tilted_perovskite_arrays,
)

#: B ions with a Jahn–Teller active configuration (high-spin d⁴ and d⁹): (element, charge).
JAHN_TELLER_IONS: frozenset[tuple[str, int]] = frozenset(
    {("Mn", 3), ("Cr", 2), ("Cu", 2), ("Ag", 2)}
)

#: Amplitude of the Q2 Jahn–Teller mode as a fraction of d_BX (LaMnO3: ±0.13 Å of 2.04 Å).
JAHN_TELLER_FRACTION = 0.065

#: Polar B off-centring in Å (BaTiO3 P4mm: Ti 0.09 Å, KNbO3 R3m: Nb ≈ 0.15 Å).
POLAR_SHIFT = 0.12

#: Weight (v.u.² / Å²) that picks, among equal-GII cells, the A displacement nearest the
#: measured median for the tilt (:mod:`bxrd.crystal.distributions`).
A_SHIFT_PENALTY = 1e-3

#: Largest tilt (degrees) and A-site displacement (Å) the optimiser may choose.
MAX_TILT, MAX_A_SHIFT = 25.0, 0.8

#: Space group → (tilt system, polar direction or None); "2H" is the hexagonal polytype.
SPACE_GROUP_RECIPES: dict[int, tuple[str, tuple[int, int, int] | None]] = {
    **{number: (notation, None) for notation, number in TILT_SPACE_GROUPS.items()},
    **{number: (notation, d) for (notation, d), number in POLAR_SPACE_GROUPS.items()},
    194: ("2H", None),
}


@dataclass(frozen=True)
class PerovskiteIons:
    """The three ions of ABX3 with their oxidation states and the model's length scale.

    ``length_scale`` k multiplies every length of the model cell (module docstring, 6).
    """

    a: str
    b: str
    x: str
    charges: tuple[int, int, int]
    length_scale: float = 1.0

    @classmethod
    def of(
        cls,
        a: str,
        b: str,
        x: str,
        charges: tuple[int, int, int] | None = None,
        calibration: Calibration | None = None,
    ) -> PerovskiteIons:
        """Ions with ``charges`` (default :func:`~bxrd.crystal.tilts.default_charges`).

        ``calibration`` sets the length scale (default: the committed one).
        """
        charges = charges or default_charges(x)
        if charges[0] + charges[1] + 3 * charges[2] != 0 or min(charges[:2]) <= 0:
            raise ValueError(f"{a}{b}{x}3: charges {charges} are not those of a neutral ABX3")
        bare = cls(a, b, x, tuple(charges))
        calibration = calibration or load_calibration()
        scale = calibration.length_scale(anion_family(x), bare.shannon_disagreement)
        return replace(bare, length_scale=scale)

    @property
    def bare(self) -> PerovskiteIons:
        """The same ions with k = 1 (the bond-valence cell)."""
        return replace(self, length_scale=1.0)

    @property
    def formula(self) -> str:
        """E.g. ``"CaTiO3"``."""
        return f"{self.a}{self.b}{self.x}3"

    @cached_property
    def r0_table(self) -> dict[tuple[str, str], float]:
        """R₀ (Å) of the A–X and B–X pairs, moved by (k − 1) × their ideal length."""
        qa, qb, qx = self.charges
        k = self.length_scale - 1.0
        return {
            (self.a, self.x): pair_r0(self.a, qa, self.x, qx, "A") + k * self.bare.d_ax,
            (self.b, self.x): pair_r0(self.b, qb, self.x, qx, "B") + k * self.bare.d_bx,
        }

    @property
    def d_bx(self) -> float:
        """B–X length of six bonds, Å: bond valence × k."""
        q = self.charges
        return self.length_scale * ideal_bond_length(self.b, q[1], self.x, q[2], 6, "B")

    @property
    def d_ax(self) -> float:
        """A–X length of twelve bonds, Å: bond valence × k."""
        q = self.charges
        return self.length_scale * ideal_bond_length(self.a, q[0], self.x, q[2], 12, "A")

    @property
    def bv_tolerance(self) -> float:
        """Bond-valence tolerance factor d_AX / (√2 d_BX) (Lufaso & Woodward 2001)."""
        return self.d_ax / (math.sqrt(2.0) * self.d_bx)

    @property
    def shannon_disagreement(self) -> float:
        """3 ln(d_Shannon / d_BV) of the B–X bond (0 if a radius is missing).

        d_Shannon = r_B(VI) + r_X(VI); d_BV the bare bond-valence length (k = 1).
        """
        rb = ion_for(self.b, self.charges[1], "B")
        rx = ion_for(self.x, self.charges[2], "X")
        if rb is None or rx is None:
            return 0.0
        return 3.0 * math.log((rb.radius + rx.radius) / self.bare.d_bx)

    @property
    def tolerance(self) -> float | None:
        """Goldschmidt t from Shannon radii (None when a radius is missing)."""
        ions = [
            ion_for(e, q, r)
            for e, q, r in zip((self.a, self.b, self.x), self.charges, "ABX", strict=True)
        ]
        if any(i is None for i in ions):
            return None
        ra, rb, rx = (i.radius for i in ions)  # type: ignore[union-attr]
        return (ra + rx) / (math.sqrt(2.0) * (rb + rx))

    @property
    def jahn_teller(self) -> bool:
        """The B ion is Jahn–Teller active (:data:`JAHN_TELLER_IONS`)."""
        return (self.b, self.charges[1]) in JAHN_TELLER_IONS


@dataclass
class ModelCell:
    """A cell predicted by the model.

    Attributes:
        ions: the composition.
        notation: Glazer tilt system (``"2H"``, ``"4H"``, ``"6H"``: hexagonal polytypes).
        polar: B shift direction or None.
        tilt: optimal tilt magnitude, degrees (every tilted axis).
        stretch: B–X stretch factor s.
        a_shift: A-site displacement, Å (largest over A sites).
        gii: global instability index of ``structure`` (strained), v.u.
        structure: the 40-atom (2H: 10-atom) structure.
    """

    ions: PerovskiteIons
    notation: str
    polar: tuple[int, int, int] | None
    tilt: float
    stretch: float
    a_shift: float
    gii: float
    structure: Structure = field(repr=False)

    @property
    def volume_per_formula_unit(self) -> float:
        """Cell volume per ABX3, Å³."""
        return self.structure.volume / (len(self.structure) / 5)


def _polar_shift(polar: tuple[int, int, int] | None) -> tuple[float, float, float]:
    if polar is None:
        return (0.0, 0.0, 0.0)
    v = np.asarray(polar, dtype=float)
    return tuple(POLAR_SHIFT * v / np.linalg.norm(v))  # type: ignore[return-value]


def _tilted_axes(notation: str, tilt: float) -> tuple[float, float, float]:
    _, signs = parse_glazer(notation)
    return tuple(0.0 if s == "0" else tilt for s in signs)  # type: ignore[return-value]


def _a_shift_target(ions: PerovskiteIons, notation: str, polar: bool) -> float:
    """Measured median A shift per degree of tilt (Å/°) for the family and tilt system."""
    try:
        r = ranges_for(anion_family(ions.x), notation, polar)
    except KeyError:
        return 0.0
    return r["a_shift"].mid / r["tilt"].mid if r["tilt"].mid > 0 else 0.0


def fit_cell(
    ions: PerovskiteIons,
    notation: str = "a+b-b-",
    polar: tuple[int, int, int] | None = None,
    a_displacements: bool = True,
    strain: StrainModel | None = None,
) -> ModelCell:
    """Minimise the GII over tilt, stretch and A-site displacements (module docstring).

    Args:
        ions: the composition; the optimum of ``ions.bare`` is scaled by ``ions.length_scale``.
        notation: Glazer tilt system, or a hexagonal polytype ``"2H"``, ``"4H"``, ``"6H"``
            (:mod:`bxrd.crystal.polytypes`; bond-valence B–X, no optimisation).
        polar: B shift direction ([001], [011], [111]) or None.
        a_displacements: optimise the symmetry-allowed A-site coordinates too.
        strain: the spontaneous-strain law (default: the committed table;
            :data:`~bxrd.crystal.strain_model.NO_STRAIN` keeps the pseudo-cubic cell).
    """
    if ions.length_scale != 1.0:
        return _scaled(fit_cell(ions.bare, notation, polar, a_displacements, strain), ions)
    qa, qb, qx = ions.charges
    if notation in POLYTYPES:
        s = hexagonal_polytype(ions.a, ions.b, ions.x, notation, bond=ions.d_bx)
        charges = [{ions.a: qa, ions.b: qb, ions.x: qx}[site.specie.symbol] for site in s]
        bvs = bond_valence_sums(
            s.lattice.matrix, s.frac_coords, [t.specie.symbol for t in s], charges, ions.r0_table
        )
        gii = global_instability_index(bvs, charges)
        return ModelCell(ions, notation, None, 0.0, 1.0, 0.0, gii, s)
    _, signs = parse_glazer(notation)
    tilted = any(sg != "0" for sg in signs)
    d0, shift = ions.d_bx, _polar_shift(polar)
    jt = JAHN_TELLER_FRACTION * d0 if ions.jahn_teller else 0.0

    def arrays(tilt: float, stretch: float) -> tuple[np.ndarray, list[str], np.ndarray]:
        omega = _tilted_axes(notation, abs(tilt))
        return tilted_perovskite_arrays(
            ions.a, ions.b, ions.x, notation, omega, d0 * stretch, shift, jahn_teller=jt * stretch
        )

    lattice, symbols, frac = arrays(8.0 if tilted else 0.0, 1.0)
    charges = [{ions.a: qa, ions.b: qb, ions.x: qx}[e] for e in symbols]
    a_idx = [i for i, e in enumerate(symbols) if e == ions.a]
    basis = np.zeros((0, len(symbols), 3))
    if a_displacements and tilted:
        basis = displacement_basis(Structure(Lattice(lattice), symbols, frac), a_idx)

    def build(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat, _, fr = arrays(p[0], math.exp(p[1]))
        if len(basis):
            fr = fr + np.tensordot(p[2:], basis, axes=1) @ np.linalg.inv(lat)
        return lat, fr

    def gii(p: np.ndarray) -> float:
        lat, fr = build(p)
        bvs = bond_valence_sums(lat, fr, symbols, charges, ions.r0_table)
        return global_instability_index(bvs, charges)

    target = _a_shift_target(ions, notation, polar is not None)

    def objective(p: np.ndarray) -> float:  # GII², A shift nearest the measured one among equals
        a_size = math.sqrt(float(np.sum(p[2:] ** 2)))
        return gii(p) ** 2 + A_SHIFT_PENALTY * (a_size - target * abs(p[0])) ** 2

    n_modes = len(basis)
    bounds = [(0.0, MAX_TILT if tilted else 0.0), (-0.1, 0.15)]
    bounds += [(-MAX_A_SHIFT, MAX_A_SHIFT)] * n_modes
    # start from the best tilt of a coarse scan (A centred, no stretch), then refine all
    scan = np.arange(0.0, MAX_TILT + 0.1, 2.5) if tilted else np.zeros(1)
    t0 = min(scan, key=lambda t: gii(np.r_[t, 0.0, np.zeros(n_modes)]))
    best = minimize(
        objective,
        np.r_[t0, 0.0, np.zeros(n_modes)],
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 60},
    )
    lat, fr = build(best.x)
    tilt = float(abs(best.x[0]))
    structure = Structure(Lattice(lat), symbols, fr % 1.0)
    structure = strain_structure(structure, tilt, strain, jahn_teller=ions.jahn_teller)
    bvs = bond_valence_sums(
        structure.lattice.matrix, structure.frac_coords, symbols, charges, ions.r0_table
    )
    a_field = np.tensordot(best.x[2:], basis, axes=1) if n_modes else np.zeros((1, 3))
    return ModelCell(
        ions,
        notation,
        polar,
        tilt,
        float(math.exp(best.x[1])),
        float(np.linalg.norm(a_field, axis=1).max()),
        global_instability_index(bvs, charges),
        structure,
    )


def _scaled(cell: ModelCell, ions: PerovskiteIons) -> ModelCell:
    """``cell`` of the bare ions with every length × ``ions.length_scale``."""
    k = ions.length_scale
    s = cell.structure
    structure = Structure(Lattice(s.lattice.matrix * k), s.species, s.frac_coords)
    charge_of = dict(zip((ions.a, ions.b, ions.x), ions.charges, strict=True))
    charges = [charge_of[e.symbol] for e in s.species]
    bvs = bond_valence_sums(
        structure.lattice.matrix,
        structure.frac_coords,
        [e.symbol for e in s.species],
        charges,
        ions.r0_table,
    )
    return replace(
        cell,
        ions=ions,
        a_shift=cell.a_shift * k,
        structure=structure,
        gii=global_instability_index(bvs, charges),
    )


def predict_tilt_system(
    ions: PerovskiteIons, calibration: Calibration | None = None
) -> tuple[str, ModelCell]:
    """Tilt system predicted from composition alone, with its model cell (module docstring).

    ``calibration`` gives the tilt threshold (default: the committed one).
    """
    threshold = (calibration or load_calibration()).tilt_threshold
    pnma = fit_cell(ions, "a+b-b-")
    if pnma.tilt >= threshold:
        return "a+b-b-", pnma
    return "a0a0a0", fit_cell(ions, "a0a0a0")


def cell_for_space_group(ions: PerovskiteIons, number: int) -> ModelCell:
    """Model cell of ``ions`` in the tilt system or polar family of space group ``number``.

    Raises:
        ValueError: no recipe for that space group (:data:`SPACE_GROUP_RECIPES`).
    """
    if number not in SPACE_GROUP_RECIPES:
        raise ValueError(
            f"space group {number} is not a tilt system, polar family or 2H polytype; "
            f"known: {sorted(SPACE_GROUP_RECIPES)}"
        )
    notation, polar = SPACE_GROUP_RECIPES[number]
    return fit_cell(ions, notation, polar)
