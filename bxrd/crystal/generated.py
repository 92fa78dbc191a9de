"""Generated templates: one ABX3 structure for each tilt system and polar family.

They fill the symmetries that have no real structure at hand (P4/mbm, Imma, I4/mmm, Im-3,
Immm, P4_2/nmc, P2_1/m, Cmcm, C2/m, C2/c, P-1, R3m, P6_3/mmc) and add halide variants of
common film phases. Compositions are those of known members of each family where one exists
(e.g. SrZrO3 P4/mbm and Imma, β- and γ-CsPbI3, BaTiO3 R3m); otherwise a plausible oxide is
used and the template is a *hypothetical* structure of that symmetry. Each is one draw of
:func:`bxrd.crystal.generator.generate_one` (tilt near the structure model's optimum within
the measured range, A-site displacement, octahedral distortion), seeded by its id, and
records its origin (``generated``), tilt system and the draw's metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pymatgen.core import Structure

from bxrd.crystal.generator import generate_one
from bxrd.crystal.structure_model import PerovskiteIons
from bxrd.crystal.template import Template


@dataclass(frozen=True)
class GeneratedSpec:
    """Recipe of one generated template.

    Attributes:
        id: template id.
        elements: (A, B, X).
        notation: Glazer tilt system, or ``"2H"`` for the hexagonal polytype.
        polar: direction of the polar B shift ([001], [011], [111]) or None.
        note: what the structure stands for.
    """

    id: str
    elements: tuple[str, str, str]
    notation: str
    polar: tuple[int, int, int] | None = None
    note: str = "hypothetical member of this tilt system"

    def draw(self) -> tuple[Structure, dict]:
        """Draw the structure and its metadata (:func:`~bxrd.crystal.generator.generate_one`).

        Seeded by the id, so a template is the same in every run.
        """
        seed = int.from_bytes(hashlib.sha256(self.id.encode()).digest()[:4], "little")
        ions = PerovskiteIons.of(*self.elements)
        return generate_one(ions, self.notation, self.polar, np.random.default_rng(seed))

    @property
    def tilt_system(self) -> str:
        """Glazer tilt system, with the polar shift direction when there is one."""
        if self.notation == "2H":
            return "2H (hexagonal, face-sharing)"
        return self.notation + (f" [{''.join(map(str, self.polar))}]" if self.polar else "")


GENERATED: tuple[GeneratedSpec, ...] = (
    GeneratedSpec("SrZrO3_P4mbm", ("Sr", "Zr", "O"), "a0a0c+", note="SrZrO3 above 1100 K"),
    GeneratedSpec("SrZrO3_Imma", ("Sr", "Zr", "O"), "a0b-b-", note="SrZrO3 1040-1100 K"),
    GeneratedSpec("CsPbI3_P4mbm", ("Cs", "Pb", "I"), "a0a0c+", note="beta-CsPbI3"),
    GeneratedSpec("CsPbI3_I4mcm", ("Cs", "Pb", "I"), "a0a0c-", note="MAPbI3-like film phase"),
    GeneratedSpec("CsPbI3_Pnma", ("Cs", "Pb", "I"), "a+b-b-", note="gamma-CsPbI3"),
    GeneratedSpec("SrTiO3_I4mmm", ("Sr", "Ti", "O"), "a0b+b+"),
    GeneratedSpec("CaTiO3_Im-3", ("Ca", "Ti", "O"), "a+a+a+"),
    GeneratedSpec("CaTiO3_Immm", ("Ca", "Ti", "O"), "a+b+c+"),
    GeneratedSpec("CaTiO3_P42nmc", ("Ca", "Ti", "O"), "a+a+c-"),
    GeneratedSpec("CaZrO3_P21m", ("Ca", "Zr", "O"), "a+b-c-"),
    GeneratedSpec("SrZrO3_Cmcm", ("Sr", "Zr", "O"), "a0b+c-"),
    GeneratedSpec("SrZrO3_C2m", ("Sr", "Zr", "O"), "a0b-c-"),
    GeneratedSpec("CaTiO3_C2c", ("Ca", "Ti", "O"), "a-b-b-"),
    GeneratedSpec("CaTiO3_P-1", ("Ca", "Ti", "O"), "a-b-c-"),
    GeneratedSpec("BaTiO3_R3m", ("Ba", "Ti", "O"), "a0a0a0", (1, 1, 1), "BaTiO3 below 183 K"),
    GeneratedSpec("BaMnO3_2H", ("Ba", "Mn", "O"), "2H", note="2H-BaMnO3, BaNiO3 type"),
)


@lru_cache(maxsize=1)
def generated_templates() -> dict[str, Template]:
    """All generated templates by id (cached; copy structures before mutating).

    The space group of each is spglib's (``Template.from_structure``), whatever the id says.
    """
    templates = {}
    for g in GENERATED:
        structure, meta = g.draw()
        source = f"generated: {g.tilt_system}, {meta}; {g.note}"
        templates[g.id] = Template.from_structure(
            g.id, structure, origin="generated", source=source, tilt_system=g.tilt_system
        )
    return templates
