"""A TER template: a real or literature ABX3 structure with its site roles and space group."""

from __future__ import annotations

from dataclasses import dataclass

from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.crystal.sites import ABX3Sites, identify_abx3_sites

#: Symmetry tolerance (Å) used for every space-group assignment in bxrd (spglib ``symprec``).
SYMPREC = 0.01


def space_group_of(structure: Structure, symprec: float = SYMPREC) -> tuple[int, str]:
    """Space-group number and Hermann–Mauguin symbol found by spglib at ``symprec`` (Å)."""
    analyzer = SpacegroupAnalyzer(structure, symprec=symprec)
    return analyzer.get_space_group_number(), analyzer.get_space_group_symbol()


@dataclass(frozen=True)
class Template:
    """An ABX3 structure ready for template element replacement.

    Attributes:
        id: unique, file-name-safe identifier (e.g. ``"CaTiO3_Pnma"``).
        structure: the structure (plain elements, lattice in Å).
        sites: its A/B/X site roles and oxidation states.
        space_group_number, space_group_symbol: spglib result at :data:`SYMPREC`.
        origin: ``"builtin"`` (literature table in bxrd), ``"generated"`` (tilt-system
            generator) or ``"file"``.
        source: literature reference, generation parameters, or file path.
        tilt_system: Glazer tilt system (``""`` when not known, e.g. for files).
    """

    id: str
    structure: Structure
    sites: ABX3Sites
    space_group_number: int
    space_group_symbol: str
    origin: str
    source: str
    tilt_system: str = ""

    @classmethod
    def from_structure(
        cls,
        template_id: str,
        structure: Structure,
        origin: str,
        source: str,
        tilt_system: str = "",
    ) -> Template:
        """Identify sites and space group of ``structure`` and wrap it as a template.

        Raises:
            NotPerovskiteError, OxidationStateError: see :func:`identify_abx3_sites`.
        """
        sites = identify_abx3_sites(structure, name=source)
        plain = structure.copy()
        plain.remove_oxidation_states()
        number, symbol = space_group_of(plain)
        return cls(template_id, plain, sites, number, symbol, origin, source, tilt_system)
