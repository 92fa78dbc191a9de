"""Built-in ABX3 templates written from published lattice parameters and Wyckoff positions.

Each entry gives the space group (standard setting), lattice parameters (Å, degrees), one
representative position per Wyckoff site (fractional), and the literature source. Values are
rounded to the precision needed for powder simulation (3–4 decimals); where the original work
used a non-standard setting the transformation is stated. These are facts from the cited
papers, typed in for bxrd, so that the default job runs without any download.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pymatgen.core import Lattice, Structure

from bxrd.crystal.template import Template


@dataclass(frozen=True)
class PublishedStructure:
    """A crystal structure as published: space group, cell and asymmetric unit."""

    id: str
    space_group: str
    abc: tuple[float, float, float]
    angles: tuple[float, float, float]
    sites: tuple[tuple[str, tuple[float, float, float]], ...]
    reference: str

    @property
    def tilt_system(self) -> str:
        """Glazer tilt system (plus polar shift direction) of this structure type."""
        return TILT_SYSTEMS[self.id]

    def structure(self) -> Structure:
        """Expand the asymmetric unit with the space-group operations (pymatgen)."""
        lattice = Lattice.from_parameters(*self.abc, *self.angles)
        species = [el for el, _ in self.sites]
        coords = [xyz for _, xyz in self.sites]
        return Structure.from_spacegroup(self.space_group, lattice, species, coords)


#: Glazer tilt system of each published structure (polar shift of B in brackets).
TILT_SYSTEMS: dict[str, str] = {
    "SrTiO3_Pm-3m": "a0a0a0",
    "CsPbBr3_Pm-3m": "a0a0a0",
    "CsPbI3_Pm-3m": "a0a0a0",
    "BaTiO3_P4mm": "a0a0a0 [001]",
    "BaTiO3_Amm2": "a0a0a0 [011]",
    "CaTiO3_Pnma": "a+b-b-",
    "LaAlO3_R-3c": "a-a-a-",
    "SrTiO3_I4mcm": "a0a0c-",
    "BiFeO3_R3c": "a-a-a- [111]",
}

PUBLISHED: tuple[PublishedStructure, ...] = (
    PublishedStructure(
        "SrTiO3_Pm-3m",
        "Pm-3m",
        (3.905, 3.905, 3.905),
        (90, 90, 90),
        (("Sr", (0, 0, 0)), ("Ti", (0.5, 0.5, 0.5)), ("O", (0.5, 0.5, 0))),
        "Abramov et al., Acta Cryst. B51, 942 (1995); room temperature",
    ),
    PublishedStructure(
        "CsPbBr3_Pm-3m",
        "Pm-3m",
        (5.874, 5.874, 5.874),
        (90, 90, 90),
        (("Cs", (0.5, 0.5, 0.5)), ("Pb", (0, 0, 0)), ("Br", (0.5, 0, 0))),
        "Rodová et al., J. Therm. Anal. Calorim. 71, 667 (2003); cubic phase above 403 K",
    ),
    PublishedStructure(
        "CsPbI3_Pm-3m",
        "Pm-3m",
        (6.289, 6.289, 6.289),
        (90, 90, 90),
        (("Cs", (0.5, 0.5, 0.5)), ("Pb", (0, 0, 0)), ("I", (0.5, 0, 0))),
        "Trots & Myagkota, J. Phys. Chem. Solids 69, 2520 (2008); cubic phase at 634 K",
    ),
    PublishedStructure(
        "BaTiO3_P4mm",
        "P4mm",
        (3.9909, 3.9909, 4.0352),
        (90, 90, 90),
        (
            ("Ba", (0, 0, 0)),
            ("Ti", (0.5, 0.5, 0.5224)),
            ("O", (0.5, 0.5, 0.9756)),
            ("O", (0.5, 0, 0.4895)),
        ),
        "Kwei et al., J. Phys. Chem. 97, 2368 (1993); tetragonal, room temperature",
    ),
    PublishedStructure(
        "BaTiO3_Amm2",
        "Amm2",
        (3.9828, 5.6745, 5.6916),
        (90, 90, 90),
        (
            ("Ba", (0, 0, 0)),
            ("Ti", (0.5, 0, 0.5170)),
            ("O", (0, 0, 0.4890)),
            ("O", (0.5, 0.2561, 0.2341)),
        ),
        "Kwei et al., J. Phys. Chem. 97, 2368 (1993); orthorhombic, 190 K",
    ),
    PublishedStructure(
        # Published in Pbnm (a=5.3796, b=5.4423, c=7.6401); here in Pnma: (a, b, c)_Pnma =
        # (b, c, a)_Pbnm and (x, y, z)_Pnma = (y, z, x)_Pbnm.
        "CaTiO3_Pnma",
        "Pnma",
        (5.4423, 7.6401, 5.3796),
        (90, 90, 90),
        (
            ("Ca", (0.0360, 0.25, -0.0068)),
            ("Ti", (0, 0, 0.5)),
            ("O", (0.4839, 0.25, 0.0713)),
            ("O", (0.2892, 0.0373, 0.7109)),
        ),
        "Sasaki, Prewitt, Bass & Schulze, Acta Cryst. C43, 1668 (1987)",
    ),
    PublishedStructure(
        "LaAlO3_R-3c",
        "R-3c",
        (5.3647, 5.3647, 13.1114),
        (90, 90, 120),
        (("La", (0, 0, 0.25)), ("Al", (0, 0, 0)), ("O", (0.5255, 0, 0.25))),
        "Howard, Kennedy & Chakoumakos, J. Phys.: Condens. Matter 12, 349 (2000); hexagonal "
        "axes, room temperature",
    ),
    PublishedStructure(
        "SrTiO3_I4mcm",
        "I4/mcm",
        (5.5066, 5.5066, 7.7946),
        (90, 90, 90),
        (
            ("Sr", (0, 0.5, 0.25)),
            ("Ti", (0, 0, 0)),
            ("O", (0, 0, 0.25)),
            ("O", (0.2412, 0.7412, 0)),
        ),
        "Jauch & Palmer, Phys. Rev. B 60, 2961 (1999); antiferrodistortive phase below 105 K",
    ),
    PublishedStructure(
        "BiFeO3_R3c",
        "R3c",
        (5.5876, 5.5876, 13.867),
        (90, 90, 120),
        (("Bi", (0, 0, 0)), ("Fe", (0, 0, 0.2212)), ("O", (0.443, 0.012, 0.9543))),
        "Kubel & Schmid, Acta Cryst. B46, 698 (1990); hexagonal axes, room temperature",
    ),
)


@lru_cache(maxsize=1)
def builtin_templates() -> dict[str, Template]:
    """All built-in templates by id (cached; structures are shared, copy before mutating)."""
    return {
        p.id: Template.from_structure(
            p.id, p.structure(), origin="builtin", source=p.reference, tilt_system=p.tilt_system
        )
        for p in PUBLISHED
    }
