"""Template element replacement (TER): new ABX3 structures from templates by substitution.

For a template with ions (A, B, X) of charges (q_A, q_B, q_X), candidates (A', B', X') come
from :func:`bxrd.crystal.ions.candidate_ions` (pymatgen oxidation states and Shannon radii)
and always satisfy q_A' + q_B' + 3 q_X' = 0:

* ``charge_mode="same"`` (the paper's rule): q_A' = q_A, q_B' = q_B, q_X' = q_X.
* ``charge_mode="neutral"``: any q_A' ∈ {1, 2, 3} with q_B' = -3 q_X - q_A' > 0.

Candidates are filtered on the Goldschmidt tolerance factor and the octahedral factor. The
substituted cell keeps the template's fractional coordinates and is scaled isotropically by
s = a_pc(A', B', X') / a_pc(A, B, X) (see :func:`~bxrd.crystal.ions.pseudocubic_parameter`),
so peak positions follow the new ionic radii while the template's tilts and distortions (and
hence its space group, which is checked with spglib) are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Literal

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

import bxrd
from bxrd.crystal.io import write_structures
from bxrd.crystal.ions import (
    Ion,
    candidate_ions,
    ion_for,
    octahedral_factor,
    pseudocubic_parameter,
    tolerance_factor,
)
from bxrd.crystal.template import Template, space_group_of


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
        rescale_lattice: scale the cell by the pseudo-cubic ratio (see module doc).
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


def substitute(
    template: Template, sub: Substitution, rescale: bool = True
) -> tuple[Structure, float]:
    """Replace the template's A, B, X by ``sub`` and rescale; returns (structure, scale)."""
    structure = template.structure.copy()
    mapping = {template.sites.a: sub.a.element, template.sites.b: sub.b.element}
    if sub.x.element != template.sites.x:
        mapping[template.sites.x] = sub.x.element
    structure.replace_species(mapping)
    scale = 1.0
    if rescale:
        scale = pseudocubic_parameter(sub.a, sub.b, sub.x) / pseudocubic_parameter(
            *template_ions(template)
        )
        structure.scale_lattice(structure.volume * scale**3)
    return structure, scale


def run_ter(templates: dict[str, Template], config: TERConfig) -> TERResult:
    """Run TER on every template; deduplicate identical results (StructureMatcher)."""
    result = TERResult()
    rng = np.random.default_rng(config.seed)
    matcher = StructureMatcher()
    seen: dict[tuple[str, int], list[TERStructure]] = {}
    for template in templates.values():
        cands = candidates(template, config)
        if config.max_per_template is not None and len(cands) > config.max_per_template:
            keep = rng.choice(len(cands), size=config.max_per_template, replace=False)
            cands = [cands[i] for i in sorted(keep)]
        for sub in cands:
            new_id = f"{template.id}__{sub.formula}"
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
