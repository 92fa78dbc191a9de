"""Virtual perovskites drawn from measured distributions, labelled by spglib.

For each composition and each *system* — the 15 Glazer tilt systems, the polar families
(a⁰a⁰a⁰ with B along [001], [011], [111]; a⁻a⁻a⁻ with [111]) and the 2H, 4H and 6H hexagonal
polytypes (:mod:`bxrd.crystal.polytypes`) —
:func:`generate_perovskites` draws ``n_per_system`` structures:

1. The structure model (:func:`bxrd.crystal.structure_model.fit_cell`) gives the B–X
   stretch and the tilt φ_m that minimise the GII for this composition and system.
2. The largest tilt is drawn uniformly from the measured 5–95 % range of the anion family
   and system (:mod:`bxrd.crystal.distributions`) within φ_m ± :data:`TILT_SPREAD`; where
   those do not overlap (a composition far from that system's range) from φ_m ± half the
   spread, never below :data:`MIN_TILT` so the system's tilts exist. Further distinct
   Glazer letters get 40–100 % of it.
3. Polar B off-centring and an octahedral distortion (random symmetric X field,
   :mod:`bxrd.crystal.symmetric_displacements`, with rms = d_BX √Δ) are drawn from the
   measured ranges; Jahn–Teller B ions (d⁴ high spin, d⁹) get the cooperative Q2 mode.
   The A-site displacement has a size drawn from the measured range, scaled by the drawn
   tilt over the median tilt (A shifts grow with tilts), and the symmetry-allowed direction
   that lowers the GII most from a random start (the A cation moves towards the X it
   under-bonds, as in Pnma).
4. Spontaneous strain (:mod:`bxrd.crystal.strain_model`): the conventional cell of the
   space group spglib finds is deformed at constant volume to the measured strain law of
   that group at the drawn tilt plus a residual drawn between its 5 and 95 % quantiles
   (Pnma: a/√2, b/2, c/√2 split by ≈ ±0.5 sin²φ ± 1–3 %), so tilted cells are no longer
   metrically pseudo-cubic. The lattice system is kept, so the space group is too.
5. A draw whose cation bond-valence sums stray more than 10 % from the oxidation states is
   redrawn (at most :data:`MAX_TRIES` times; the metadata say whether it passed).
6. spglib at ``symprec`` (default: the label tolerance) labels the result: the label is what
   spglib finds, never the system asked for; the metadata keep both.

A build recipe calls it through :class:`GeneratorConfig` and :func:`run_generator`
(ids, structures, metadata; ``meta["space_group_number"]`` is the label), or directly as
``generate_perovskites(DEFAULT_COMPOSITIONS, n_per_system=2, seed=0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure
from scipy.optimize import minimize
from tqdm.auto import tqdm

from bxrd.crystal.bond_valence import (
    bond_valence_sums,
    global_instability_index,
    structure_bond_valence_sums,
)
from bxrd.crystal.distributions import FAMILIES, anion_family, ranges_for
from bxrd.crystal.molecules import MOLECULES, PROXY_A, orientation_averaged
from bxrd.crystal.polytypes import POLYTYPES, hexagonal_polytype
from bxrd.crystal.strain_model import strain_structure
from bxrd.crystal.structure_model import (
    JAHN_TELLER_FRACTION,
    PerovskiteIons,
    fit_cell,
)
from bxrd.crystal.symmetric_displacements import displace, displacement_basis
from bxrd.crystal.template import SYMPREC, space_group_of
from bxrd.crystal.tilts import (
    POLAR_SPACE_GROUPS,
    TILT_SPACE_GROUPS,
    parse_glazer,
    tilted_perovskite,
)

#: Every system the generator draws: (Glazer symbol or polytype, polar direction or None).
SYSTEMS: tuple[tuple[str, tuple[int, int, int] | None], ...] = (
    *((n, None) for n in TILT_SPACE_GROUPS),
    *POLAR_SPACE_GROUPS,
    *((p, None) for p in POLYTYPES),
)

#: Half-width (degrees) of the tilt window around the model's optimum.
TILT_SPREAD = 3.0

#: Smallest largest-tilt (degrees) of a tilted system.
MIN_TILT = 3.0

#: Largest relative deviation of a cation's bond-valence sum from its oxidation state.
MAX_BVS_ERROR = 0.10

#: Draws per structure before the best one is kept.
MAX_TRIES = 8

#: Compositions (A, B, X, charges) spanning oxides, halides and chalcogenides.
DEFAULT_COMPOSITIONS: tuple[PerovskiteIons, ...] = tuple(
    PerovskiteIons.of(*c)
    for c in (
        ("Ca", "Ti", "O", None),
        ("Sr", "Zr", "O", None),
        ("Ba", "Ti", "O", None),
        ("La", "Mn", "O", (3, 3, -2)),
        ("Gd", "Fe", "O", (3, 3, -2)),
        ("K", "Nb", "O", (1, 5, -2)),
        ("Cs", "Pb", "I", None),
        ("Cs", "Pb", "Br", None),
        ("Cs", "Sn", "I", None),
        ("K", "Mn", "F", None),
        ("Ba", "Zr", "S", None),
        ("Sr", "Hf", "S", None),
    )
)


def _symmetric_field(
    structure: Structure,
    indices: list[int],
    rms: float,
    rng: np.random.Generator,
    score: Callable[[np.ndarray], float] | None = None,
) -> np.ndarray:
    """Symmetry-allowed displacement of ``indices`` with rms ``rms`` Å per moved site.

    Its direction in the space of symmetric fields is random, or, with ``score`` (a
    function of the (n_sites, 3) field), the best of a local search from a random start.
    """
    basis = displacement_basis(structure, indices)
    if len(basis) == 0 or rms <= 0:
        return np.zeros((len(structure), 3))

    def field_of(c: np.ndarray) -> np.ndarray:
        f = np.tensordot(c, basis, axes=1)
        return f * (rms / max(np.sqrt(np.mean(np.sum(f[indices] ** 2, axis=1))), 1e-12))

    c0 = rng.normal(size=len(basis))
    if score is not None and len(basis) > 1:
        c0 = minimize(lambda c: score(field_of(c)), c0, method="Nelder-Mead").x
    elif score is not None and score(field_of(-c0)) < score(field_of(c0)):
        c0 = -c0
    return field_of(c0)


def _angles(notation: str, largest: float, rng: np.random.Generator) -> tuple[float, ...]:
    letters, signs = parse_glazer(notation)
    distinct = list(dict.fromkeys(k for k, s in zip(letters, signs, strict=True) if s != "0"))
    return tuple([largest] + [largest * rng.uniform(0.4, 1.0) for _ in distinct[1:]])


def _tilt(model_tilt: float, lo: float, hi: float, rng: np.random.Generator) -> float:
    a, b = max(lo, model_tilt - TILT_SPREAD), min(hi, model_tilt + TILT_SPREAD)
    if a > b:
        a, b = model_tilt - TILT_SPREAD / 2, model_tilt + TILT_SPREAD / 2
    return max(MIN_TILT, float(rng.uniform(a, b)))


def generate_one(
    ions: PerovskiteIons,
    notation: str,
    polar: tuple[int, int, int] | None,
    rng: np.random.Generator,
    symprec: float = SYMPREC,
) -> tuple[Structure, dict]:
    """One structure of ``ions`` in a system, with its metadata (module docstring).

    Up to :data:`MAX_TRIES` draws are made; the first whose cation bond-valence sums are all
    within :data:`MAX_BVS_ERROR` of the oxidation states is kept, else the best one, with
    ``meta["bvs_ok"] = False`` (a composition far from that system, e.g. BaTiO3 in Pnma).
    """
    best: tuple[Structure, dict] | None = None
    for _ in range(MAX_TRIES):
        structure, meta = _draw(ions, notation, polar, rng, symprec)
        if best is None or meta["bvs_max_relative_error"] < best[1]["bvs_max_relative_error"]:
            best = (structure, meta)
        if meta["bvs_max_relative_error"] <= MAX_BVS_ERROR:
            break
    assert best is not None
    best[1]["bvs_ok"] = best[1]["bvs_max_relative_error"] <= MAX_BVS_ERROR
    return best


def _draw(
    ions: PerovskiteIons,
    notation: str,
    polar: tuple[int, int, int] | None,
    rng: np.random.Generator,
    symprec: float,
) -> tuple[Structure, dict]:
    """One draw of :func:`generate_one`."""
    model = fit_cell(ions, notation, polar, a_displacements=False)
    qa, qb, qx = ions.charges
    meta: dict = {
        "formula": ions.formula,
        "system": _system_name(notation, polar),
        "model_tilt": round(model.tilt, 3),
        "stretch": round(model.stretch, 4),
    }
    if notation in POLYTYPES:
        bond = ions.d_bx * model.stretch
        structure = hexagonal_polytype(ions.a, ions.b, ions.x, notation, bond=bond)
        meta.update(tilts=(), a_shift=0.0, b_shift=0.0)
    else:
        ranges = ranges_for(anion_family(ions.x), notation, polar is not None)
        tilted = any(s != "0" for s in parse_glazer(notation)[1])
        angles = (
            _angles(notation, _tilt(model.tilt, ranges["tilt"].lo, ranges["tilt"].hi, rng), rng)
            if tilted
            else 0.0
        )
        d = ions.d_bx * model.stretch
        b_shift = (0.0, 0.0, 0.0)
        if polar is not None:
            v = np.asarray(polar, float) / np.linalg.norm(polar)
            b_shift = tuple(v * ranges["b_shift"].sample(rng))
        jt = JAHN_TELLER_FRACTION * d * rng.uniform(0.7, 1.3) if ions.jahn_teller else 0.0
        structure = tilted_perovskite(
            ions.a, ions.b, ions.x, notation, angles, ions.charges, d, b_shift, jahn_teller=jt
        )
        symbols = [s.specie.symbol for s in structure]
        a_idx = [i for i, e in enumerate(symbols) if e == ions.a]
        x_idx = [i for i, e in enumerate(symbols) if e == ions.x]
        largest = max(np.atleast_1d(angles))
        a_rms = ranges["a_shift"].sample(rng) * (
            largest / ranges["tilt"].mid
            if tilted and ranges["tilt"].mid > 0
            else float(bool(polar))
        )
        x_rms = d * np.sqrt(max(ranges["distortion"].sample(rng), 0.0))
        field = _symmetric_field(structure, x_idx, x_rms, rng)
        base = displace(structure, field)
        charges = [dict(zip(symbols[:5], (qb, qa, qx, qx, qx), strict=True))[e] for e in symbols]

        def gii(f: np.ndarray) -> float:
            frac = base.frac_coords + f @ np.linalg.inv(base.lattice.matrix)
            bvs = bond_valence_sums(base.lattice.matrix, frac, symbols, charges, ions.r0_table)
            return global_instability_index(bvs, charges)

        structure = displace(base, _symmetric_field(structure, a_idx, a_rms, rng, gii))
        structure = strain_structure(structure, largest, rng=rng, jahn_teller=ions.jahn_teller)
        meta.update(
            tilts=tuple(round(a, 3) for a in np.atleast_1d(angles)),
            a_shift=round(float(a_rms), 4),
            b_shift=round(float(np.linalg.norm(b_shift)), 4),
            jahn_teller=round(float(jt), 4),
        )
    q = dict(zip((ions.a, ions.b, ions.x), ions.charges, strict=True))
    charges = [q[site.specie.symbol] for site in structure]
    bvs = structure_bond_valence_sums(structure, charges, ions.r0_table)
    cation = np.array(charges) > 0
    number, symbol = space_group_of(structure, symprec)
    meta.update(
        space_group_number=number,
        space_group_symbol=symbol,
        bvs_max_relative_error=round(
            float(np.max(np.abs(bvs[cation] / np.array(charges)[cation] - 1))), 4
        ),
    )
    return structure, meta


def generate_perovskites(
    compositions: Iterable[PerovskiteIons | Sequence],
    n_per_system: int = 1,
    seed: int = 0,
    systems: Sequence[tuple[str, tuple[int, int, int] | None]] = SYSTEMS,
    symprec: float = SYMPREC,
    progress: bool = False,
) -> list[tuple[Structure, dict]]:
    """Draw ``n_per_system`` structures per composition and system (module docstring).

    Args:
        compositions: :class:`PerovskiteIons`, or (A, B, X[, charges]) tuples.
        n_per_system: structures per composition and system.
        seed: random seed (the result is reproducible).
        systems: subset of :data:`SYSTEMS`.
        symprec: spglib tolerance of the labels, Å.
        progress: show a progress bar over compositions (a composition takes ~10 s).

    Returns:
        (structure, metadata) pairs; ``meta["space_group_number"]`` is spglib's answer.
    """
    rng = np.random.default_rng(seed)
    out = []
    bar = tqdm(list(compositions), desc="generator", unit="composition", disable=not progress)
    for comp in bar:
        ions = comp if isinstance(comp, PerovskiteIons) else PerovskiteIons.of(*comp)
        for notation, polar in systems:
            for _ in range(n_per_system):
                out.append(generate_one(ions, notation, polar, rng, symprec))
    return out


@dataclass
class GeneratorConfig:
    """Options of :func:`run_generator` (a build recipe's ``generator:`` section).

    Attributes:
        compositions: ``"A-B-X"`` or ``"A-B-X:qA,qB,qX"`` strings, e.g. ``"La-Mn-O:3,3,-2"``
            (None: :data:`DEFAULT_COMPOSITIONS`); A may be a molecular cation of
            :data:`~bxrd.crystal.molecules.MOLECULES` with a halide X (``"MA-Pb-I"``: the
            framework is drawn with Cs, so its metadata ``bvs_ok``, ``model_tilt`` ... are
            those of the Cs framework).
        n_per_system: structures per composition and system.
        seed: random seed.
        systems: the systems to draw, by name as in the metadata (``"a-a-a-"``,
            ``"a0a0a0 [001]"``, ``"2H"``; None: every one of :data:`SYSTEMS`).
        only_bvs_ok: drop draws whose cation bond-valence sums stay off by more than
            :data:`MAX_BVS_ERROR` (compositions far from a system). Off by default: real
            cubic halides (CsPbBr3, CsPbI3) have an under-bonded A cation too (Cs ≈ 0.4 v.u.
            with the element R₀), so the filter would drop the phases films show most.
    """

    compositions: list[str] | None = None
    n_per_system: int = 1
    seed: int = 0
    systems: list[str] | None = None
    only_bvs_ok: bool = False

    def ions(self) -> list[tuple[PerovskiteIons, str | None]]:
        """Return the compositions as :class:`PerovskiteIons` with their molecular A cation.

        A composition whose A is a key of :data:`~bxrd.crystal.molecules.MOLECULES`
        (``"MA-Pb-I"``) is drawn with :data:`~bxrd.crystal.molecules.PROXY_A` and its
        molecule name (else None); :func:`run_generator` then averages the molecule in.

        Raises:
            ValueError: a string that is not ``"A-B-X"`` or ``"A-B-X:qA,qB,qX"``.
        """
        if self.compositions is None:
            return [(ions, None) for ions in DEFAULT_COMPOSITIONS]
        out = []
        for text in self.compositions:
            elements, _, charges = text.partition(":")
            parts = elements.split("-")
            if len(parts) != 3:
                raise ValueError(f"generator composition {text!r}: expected 'A-B-X[:qA,qB,qX]'")
            q = tuple(int(v) for v in charges.split(",")) if charges else None
            molecule = parts[0] if parts[0] in MOLECULES else None
            if molecule and (anion_family(parts[2]) != "halide" or (q is not None and q[0] != 1)):
                raise ValueError(
                    f"generator composition {text!r}: a molecular A cation ({molecule}⁺) "
                    f"needs a halide X ({', '.join(FAMILIES['halide'])}) and charge +1"
                )
            a = PROXY_A if molecule else parts[0]
            out.append((PerovskiteIons.of(a, parts[1], parts[2], q), molecule))  # type: ignore[arg-type]
        return out

    def chosen_systems(self) -> list[tuple[str, tuple[int, int, int] | None]]:
        """Return the chosen entries of :data:`SYSTEMS`.

        Raises:
            ValueError: a name that is no system.
        """
        if self.systems is None:
            return list(SYSTEMS)
        named = {_system_name(n, p): (n, p) for n, p in SYSTEMS}
        unknown = [s for s in self.systems if s not in named]
        if unknown:
            raise ValueError(f"generator systems {unknown}: not among {sorted(named)}")
        return [named[s] for s in self.systems]


def _system_name(notation: str, polar: tuple[int, int, int] | None) -> str:
    """Name of a system as in the metadata: ``"a0a0a0 [001]"`` for a polar one."""
    return notation if polar is None else f"{notation} [{''.join(map(str, polar))}]"


def run_generator(
    config: GeneratorConfig, progress: bool = False
) -> list[tuple[str, Structure, dict]]:
    """(id, structure, metadata) of every generated structure; ids are unique and stable.

    A molecular composition's framework is drawn with the proxy A cation, which is then
    replaced by the orientation-averaged molecule
    (:func:`~bxrd.crystal.molecules.orientation_averaged`); its metadata name the molecule
    and the formula as films are named (``"MAPbI3"``).
    """
    compositions = config.ions()
    systems = config.chosen_systems()
    per_composition = len(systems) * config.n_per_system
    rows = []
    for n, (structure, meta) in enumerate(
        generate_perovskites(
            [ions for ions, _ in compositions],
            config.n_per_system,
            config.seed,
            systems,
            progress=progress,
        )
    ):
        if config.only_bvs_ok and not meta["bvs_ok"]:
            continue
        ions, molecule = compositions[n // per_composition]
        if molecule is not None:
            structure = orientation_averaged(structure, ions.a, molecule)
            meta = {**meta, "molecule": molecule, "formula": f"{molecule}{ions.b}{ions.x}3"}
        system = meta["system"].replace(" ", "").replace("[", "_").replace("]", "")
        rows.append((f"gen_{meta['formula']}_{system}_{n}", structure, meta))
    return rows
