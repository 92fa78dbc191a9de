"""Generated templates: one ABX3 structure for each tilt system and polar family.

They fill the symmetries that have no real structure at hand (P4/mbm, Imma, I4/mmm, Im-3,
Immm, P4_2/nmc, P2_1/m, Cmcm, C2/m, C2/c, P-1, R3m, P6_3/mmc) and add halide variants of
common film phases. Compositions are those of known members of each family where one exists
(e.g. SrZrO3 P4/mbm and Imma, β- and γ-CsPbI3, BaTiO3 R3m); otherwise a plausible oxide is
used and the template is a *hypothetical* structure of that symmetry. Every template records
its origin (``generated``), tilt system, angles and B–X bond (bond valence).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pymatgen.core import Structure

from bxrd.crystal.template import Template
from bxrd.crystal.tilts import hexagonal_2h, tilted_perovskite


@dataclass(frozen=True)
class GeneratedSpec:
    """Recipe of one generated template.

    Attributes:
        id: template id.
        elements: (A, B, X).
        notation: Glazer tilt system, or ``"2H"`` for the hexagonal polytype.
        angles: tilt angles, degrees (one per distinct letter).
        b_shift: polar B displacement, Cartesian Å.
        note: what the structure stands for.
    """

    id: str
    elements: tuple[str, str, str]
    notation: str
    angles: tuple[float, ...] = ()
    b_shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    note: str = "hypothetical member of this tilt system"

    def structure(self) -> Structure:
        """Build the structure (see :mod:`bxrd.crystal.tilts`)."""
        a, b, x = self.elements
        if self.notation == "2H":
            return hexagonal_2h(a, b, x)
        return tilted_perovskite(a, b, x, self.notation, self.angles or None, b_shift=self.b_shift)

    @property
    def tilt_system(self) -> str:
        """Glazer tilt system, with the polar shift direction when there is one."""
        if self.notation == "2H":
            return "2H (hexagonal, face-sharing)"
        shift = f" [{' '.join(f'{v:g}' for v in self.b_shift)}] Å" if any(self.b_shift) else ""
        return self.notation + shift

    @property
    def source(self) -> str:
        """Provenance text stored with the template."""
        shift = f", B shift {self.b_shift} Å" if any(self.b_shift) else ""
        return f"generated: {self.notation} tilts {self.angles or 'default'}°{shift}; {self.note}"


GENERATED: tuple[GeneratedSpec, ...] = (
    GeneratedSpec("SrZrO3_P4mbm", ("Sr", "Zr", "O"), "a0a0c+", (6.0,), note="SrZrO3 above 1100 K"),
    GeneratedSpec("SrZrO3_Imma", ("Sr", "Zr", "O"), "a0b-b-", (6.0,), note="SrZrO3 1040-1100 K"),
    GeneratedSpec("CsPbI3_P4mbm", ("Cs", "Pb", "I"), "a0a0c+", (8.0,), note="beta-CsPbI3"),
    GeneratedSpec(
        "CsPbI3_I4mcm", ("Cs", "Pb", "I"), "a0a0c-", (8.0,), note="MAPbI3-like film phase"
    ),
    GeneratedSpec("CsPbI3_Pnma", ("Cs", "Pb", "I"), "a+b-b-", (9.0, 10.0), note="gamma-CsPbI3"),
    GeneratedSpec("SrTiO3_I4mmm", ("Sr", "Ti", "O"), "a0b+b+", (5.0,)),
    GeneratedSpec("CaTiO3_Im-3", ("Ca", "Ti", "O"), "a+a+a+", (8.0,)),
    GeneratedSpec("CaTiO3_Immm", ("Ca", "Ti", "O"), "a+b+c+", (8.0, 6.0, 4.0)),
    GeneratedSpec("CaTiO3_P42nmc", ("Ca", "Ti", "O"), "a+a+c-", (7.0, 5.0)),
    GeneratedSpec("CaZrO3_P21m", ("Ca", "Zr", "O"), "a+b-c-", (8.0, 6.0, 4.0)),
    GeneratedSpec("SrZrO3_Cmcm", ("Sr", "Zr", "O"), "a0b+c-", (6.0, 4.0)),
    GeneratedSpec("SrZrO3_C2m", ("Sr", "Zr", "O"), "a0b-c-", (6.0, 4.0)),
    GeneratedSpec("CaTiO3_C2c", ("Ca", "Ti", "O"), "a-b-b-", (7.0, 5.0)),
    GeneratedSpec("CaTiO3_P-1", ("Ca", "Ti", "O"), "a-b-c-", (8.0, 6.0, 4.0)),
    GeneratedSpec(
        "BaTiO3_R3m",
        ("Ba", "Ti", "O"),
        "a0a0a0",
        b_shift=(0.1, 0.1, 0.1),
        note="BaTiO3 below 183 K",
    ),
    GeneratedSpec("BaMnO3_2H", ("Ba", "Mn", "O"), "2H", note="2H-BaMnO3, BaNiO3 type"),
)


@lru_cache(maxsize=1)
def generated_templates() -> dict[str, Template]:
    """All generated templates by id (cached; copy structures before mutating)."""
    return {
        g.id: Template.from_structure(
            g.id, g.structure(), origin="generated", source=g.source, tilt_system=g.tilt_system
        )
        for g in GENERATED
    }
