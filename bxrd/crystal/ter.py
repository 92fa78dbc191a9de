"""Template element replacement (TER): new ABX3 structures from templates by substitution.

For a template with ions (A, B, X) of charges (q_A, q_B, q_X), candidates (A', B', X') come
from :func:`bxrd.crystal.ions.candidate_ions` (pymatgen oxidation states and Shannon radii)
and always satisfy q_A' + q_B' + 3 q_X' = 0:

* ``charge_mode="same"`` (the paper's rule): q_A' = q_A, q_B' = q_B, q_X' = q_X.
* ``charge_mode="neutral"``: any q_A' ∈ {1, 2, 3} with q_B' = -3 q_X - q_A' > 0.

Candidates are filtered on the Goldschmidt tolerance factor and the octahedral factor. The
substituted cell follows the structure model (:mod:`bxrd.crystal.structure_model`, bond
valence on both A–X and B–X bonds, tilt from the GII) in the template's tilt system:

* tilts: every octahedral tilt of the template is multiplied by f = φ(A', B', X') / φ(A, B, X),
  the model's optimal tilts of the new and the template composition
  (:func:`bxrd.crystal.retilt.scale_tilts`; f = 1 when the model finds the template's own
  composition untilted);
* cell: scaled isotropically so the volume changes by V(A', B', X') / V(A, B, X), the
  model's volumes per formula unit (the ratio cancels the model's systematic error). The
  bare bond-valence model is used: its ratios reproduce experiment (SrZrO3 from CaTiO3,
  BaTiO3 from BaZrO3 within 3 %), the calibration towards the DFT cells
  (:mod:`bxrd.crystal.calibration`) moves them 2–4 % away.

* Jahn–Teller: a Jahn–Teller active B (:data:`~bxrd.crystal.structure_model.JAHN_TELLER_IONS`)
  put into a template whose B is not gets the cooperative Q2 pattern
  (:func:`bxrd.crystal.jahn_teller.add_jahn_teller`, amplitude
  :data:`~bxrd.crystal.structure_model.JAHN_TELLER_FRACTION` × d_BX) where the template's
  space group holds it (Pnma: as LaMnO3); elsewhere (R-3c, one-formula-unit cubic cells) the
  child keeps regular octahedra, as rhombohedral LaMnO3 above its Jahn–Teller transition.
  A template's own Jahn–Teller distortion is kept as it is.

The result is labelled by spglib; a candidate whose space group differs from the template's
is rejected with the reason, and so is one whose model tilt in a tilted template is below
:data:`MIN_TILT` (a composition with t ≥ 1 in a Pnma template).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Literal

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from tqdm.auto import tqdm

import bxrd
from bxrd.crystal.calibration import UNCALIBRATED
from bxrd.crystal.io import write_structures
from bxrd.crystal.ions import (
    Ion,
    candidate_ions,
    ion_for,
    octahedral_factor,
    tolerance_factor,
)
from bxrd.crystal.jahn_teller import add_jahn_teller
from bxrd.crystal.measure import measure
from bxrd.crystal.retilt import scale_tilts
from bxrd.crystal.structure_model import JAHN_TELLER_FRACTION, PerovskiteIons, fit_cell
from bxrd.crystal.template import Template, space_group_of
from bxrd.crystal.tilts import TILT_SPACE_GROUPS
from bxrd.errors import BxrdInputError


@dataclass
class TERConfig:
    """Options of template element replacement.

    Attributes:
        charge_mode: ``"same"`` keeps the template's oxidation states; ``"neutral"`` allows any
            charge pair that keeps the formula neutral.
        a_elements: restrict A candidates to these symbols (None: all pymatgen's data allow).
        b_elements: same for B.
        x_elements: same for X (used only with ``substitute_x``).
        substitute_x: also replace the anion (default: keep the template's X).
        tolerance_range: keep candidates with Goldschmidt t in [min, max].
        octahedral_range: keep candidates with μ = r_B / r_X in [min, max].
        max_per_template: sample at most this many candidates per template (None: all).
        seed: seed of that sampling.
        rescale_lattice: scale the cell and tilts by the structure model (see module doc).
    """

    charge_mode: Literal["same", "neutral"] = "same"
    a_elements: list[str] | None = None
    b_elements: list[str] | None = None
    x_elements: list[str] | None = None
    substitute_x: bool = False
    tolerance_range: tuple[float, float] = (0.80, 1.10)
    octahedral_range: tuple[float, float] = (0.41, 0.90)
    max_per_template: int | None = None
    seed: int = 0
    rescale_lattice: bool = True

    def __post_init__(self) -> None:
        if self.charge_mode not in ("same", "neutral"):
            raise ValueError(f"charge_mode must be 'same' or 'neutral', got {self.charge_mode!r}")
        for name in ("tolerance_range", "octahedral_range"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must satisfy 0 < min <= max, got {(lo, hi)}")


@dataclass(frozen=True)
class Substitution:
    """One candidate (A', B', X') for a template, with its geometry factors."""

    a: Ion
    b: Ion
    x: Ion
    tolerance: float
    octahedral: float

    @property
    def formula(self) -> str:
        """Formula ABX3 as text, e.g. ``"SrZrO3"``."""
        return f"{self.a.element}{self.b.element}{self.x.element}3"


@dataclass
class TERStructure:
    """A substituted structure with its provenance (everything needed to trace it back)."""

    id: str
    structure: Structure
    template_id: str
    substitution: Substitution
    lattice_scale: float
    space_group_number: int
    space_group_symbol: str
    duplicates: list[str] = field(default_factory=list)

    def manifest_row(self) -> dict:
        """JSON-serialisable provenance record."""
        sub = self.substitution
        return {
            "id": self.id,
            "formula": self.structure.composition.reduced_formula,
            "template_id": self.template_id,
            "substitutions": {"A": str(sub.a), "B": str(sub.b), "X": str(sub.x)},
            "ions": {k: asdict(v) for k, v in (("A", sub.a), ("B", sub.b), ("X", sub.x))},
            "tolerance_factor": round(sub.tolerance, 4),
            "octahedral_factor": round(sub.octahedral, 4),
            "lattice_scale": round(self.lattice_scale, 5),
            "space_group_number": self.space_group_number,
            "space_group_symbol": self.space_group_symbol,
            "duplicates": self.duplicates,
            "bxrd_version": bxrd.__version__,
        }


@dataclass
class TERResult:
    """TER output: kept structures and rejected candidates as (candidate id, reason)."""

    structures: list[TERStructure] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """Summarise counts per template and per rejection reason."""
        per_template: dict[str, int] = {}
        for s in self.structures:
            per_template[s.template_id] = per_template.get(s.template_id, 0) + 1
        lines = [f"TER: {len(self.structures)} structures, {len(self.rejected)} rejected"]
        lines += [f"  {tid:<20s} {n:5d}" for tid, n in sorted(per_template.items())]
        reasons: dict[str, int] = {}
        for _, reason in self.rejected:
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        lines += [f"  rejected ({reason}): {n}" for reason, n in sorted(reasons.items())]
        return "\n".join(lines)


def _charge_triples(template: Template, config: TERConfig) -> list[tuple[int, int, int]]:
    s = template.sites
    if config.charge_mode == "same":
        return [(s.a_charge, s.b_charge, s.x_charge)]
    qx = s.x_charge
    return [(qa, -3 * qx - qa, qx) for qa in (1, 2, 3) if -3 * qx - qa > 0]


def _restricted(ions: tuple[Ion, ...], allowed: list[str] | None) -> tuple[Ion, ...]:
    return ions if allowed is None else tuple(i for i in ions if i.element in allowed)


def template_ions(template: Template) -> tuple[Ion, Ion, Ion]:
    """Return the template's own (A, B, X) ions.

    Raises:
        ValueError: pymatgen has no Shannon radius for one of them.
    """
    s = template.sites
    a, b, x = (
        ion_for(s.a, s.a_charge, "A"),
        ion_for(s.b, s.b_charge, "B"),
        ion_for(s.x, s.x_charge, "X"),
    )
    if a is None or b is None or x is None:
        raise ValueError(f"template {template.id}: an ion has no Shannon radius")
    return a, b, x


def candidates(template: Template, config: TERConfig) -> list[Substitution]:
    """All charge-neutral candidates for ``template`` passing the geometry filters (sorted)."""
    own = template_ions(template)
    t_lo, t_hi = config.tolerance_range
    mu_lo, mu_hi = config.octahedral_range
    found = []
    for qa, qb, qx in _charge_triples(template, config):
        a_ions = _restricted(candidate_ions("A", qa), config.a_elements)
        b_ions = _restricted(candidate_ions("B", qb), config.b_elements)
        x_ions = (
            _restricted(candidate_ions("X", qx), config.x_elements)
            if config.substitute_x
            else (own[2],)
        )
        for a, b, x in product(a_ions, b_ions, x_ions):
            if a.element == b.element or (a, b, x) == own:
                continue
            t, mu = tolerance_factor(a, b, x), octahedral_factor(b, x)
            if t_lo <= t <= t_hi and mu_lo <= mu <= mu_hi:
                found.append(Substitution(a, b, x, t, mu))
    return sorted(found, key=lambda c: (c.a.element, c.b.element, c.x.element))


#: Smallest model tilt (degrees) a substitution into a tilted template may have.
MIN_TILT = 1.0


@lru_cache(maxsize=4096)
def _model(ions: PerovskiteIons, notation: str) -> tuple[float, float]:
    """(tilt in degrees, volume per formula unit in Å³) of the structure model."""
    cell = fit_cell(ions, notation, a_displacements=False)
    return cell.tilt, cell.volume_per_formula_unit


def template_system(template: Template) -> str:
    """Glazer symbol (or ``"2H"``) of a template: its recorded tilt system, else measured."""
    word = template.tilt_system.split(" ")[0] if template.tilt_system else ""
    if word == "2H" or word in TILT_SPACE_GROUPS:
        return word
    try:
        return measure(template.structure, template.sites).glazer or "a0a0a0"
    except BxrdInputError:  # not a corner-sharing network (e.g. a hexagonal polytype)
        return "2H"


def _ions(a: Ion, b: Ion, x: Ion) -> PerovskiteIons:
    """Bare bond-valence ions: TER takes model ratios, not absolute cells (module docstring)."""
    charges = (a.charge, b.charge, x.charge)
    return PerovskiteIons.of(a.element, b.element, x.element, charges, UNCALIBRATED)


def _tilt_vanishes(template: Template, sub: Substitution) -> str:
    """Reason text when the template is tilted but the model finds no tilt for ``sub``."""
    notation = template_system(template)
    if notation in ("2H", "a0a0a0") or _model(_ions(*template_ions(template)), notation)[0] <= 0.5:
        return ""
    tilt = _model(_ions(sub.a, sub.b, sub.x), notation)[0]
    if tilt >= MIN_TILT:
        return ""
    return f"model tilt {tilt:.1f}° in {notation} at t = {sub.tolerance:.3f}"


def substitute(
    template: Template, sub: Substitution, rescale: bool = True
) -> tuple[Structure, float]:
    """Replace the template's A, B, X by ``sub``, re-tilt and rescale; returns (structure, scale).

    ``scale`` is the factor on the lattice lengths (module docstring).
    """
    structure = template.structure.copy()
    mapping = {template.sites.a: sub.a.element, template.sites.b: sub.b.element}
    if sub.x.element != template.sites.x:
        mapping[template.sites.x] = sub.x.element
    structure.replace_species(mapping)
    if not rescale:
        return structure, 1.0
    notation = template_system(template)
    old = _model(_ions(*template_ions(template)), notation)
    new = _model(_ions(sub.a, sub.b, sub.x), notation)
    if notation != "2H" and old[0] > 0.5:
        structure = scale_tilts(structure, template.sites, new[0] / old[0])
    scale = (new[1] / old[1]) ** (1.0 / 3.0)
    structure.scale_lattice(template.structure.volume * scale**3)
    new_ions = _ions(sub.a, sub.b, sub.x)
    if (
        notation != "2H"
        and new_ions.jahn_teller
        and not _ions(*template_ions(template)).jahn_teller
    ):
        amplitude = JAHN_TELLER_FRACTION * new_ions.d_bx
        distorted = add_jahn_teller(structure, template.sites, amplitude)
        if distorted is not None and space_group_of(distorted)[0] == template.space_group_number:
            structure = distorted
    return structure, scale


def run_ter(templates: dict[str, Template], config: TERConfig, progress: bool = False) -> TERResult:
    """Run TER on every template; deduplicate identical results (StructureMatcher).

    ``progress``: show a progress bar over templates.
    """
    result = TERResult()
    rng = np.random.default_rng(config.seed)
    matcher = StructureMatcher()
    seen: dict[tuple[str, int], list[TERStructure]] = {}
    bar = tqdm(list(templates.values()), desc="TER", unit="template", disable=not progress)
    for template in bar:
        cands = candidates(template, config)
        if config.max_per_template is not None and len(cands) > config.max_per_template:
            keep = rng.choice(len(cands), size=config.max_per_template, replace=False)
            cands = [cands[i] for i in sorted(keep)]
        for sub in cands:
            new_id = f"{template.id}__{sub.formula}"
            vanishes = config.rescale_lattice and _tilt_vanishes(template, sub)
            if vanishes:
                result.rejected.append((new_id, f"tilts vanish: {vanishes}"))
                continue
            structure, scale = substitute(template, sub, config.rescale_lattice)
            number, symbol = space_group_of(structure)
            if number != template.space_group_number:
                result.rejected.append(
                    (new_id, f"space group changed: {template.space_group_symbol} -> {symbol}")
                )
                continue
            new = TERStructure(new_id, structure, template.id, sub, scale, number, symbol)
            key = (structure.composition.reduced_formula, number)
            twin = next((o for o in seen.get(key, []) if matcher.fit(o.structure, structure)), None)
            if twin is not None:
                twin.duplicates.append(new_id)
                result.rejected.append((new_id, f"duplicate: of {twin.id}"))
                continue
            seen.setdefault(key, []).append(new)
            result.structures.append(new)
    return result


def write_ter(result: TERResult, out_dir: str | Path) -> Path:
    """Write ``out_dir/cif/<id>.cif`` per structure and ``out_dir/manifest.jsonl``; atomic."""
    rows = ((s.id, s.structure, s.manifest_row()) for s in result.structures)
    return write_structures(rows, out_dir)
