"""Isotypes: virtual structures of *any* real structure by same-charge cation substitution.

TER (:mod:`bxrd.crystal.ter`) only knows ABX3 perovskites, so a dataset with minerals has
classes seen through one or two real structures and no virtual ones. Isotypes extend TER's
rule to every ordered or disordered structure:

* oxidation states come from pymatgen's composition guess
  (:meth:`~pymatgen.core.Composition.oxi_state_guesses`; structures with more than
  ``max_elements`` elements, or without a charge-balanced guess, are skipped with a reason);
* each cation element may be replaced, on all its sites, by an element that has the same
  common oxidation state and a Shannon radius within ``radius_tolerance`` (relative) of it,
  so every substitution keeps the formula charge-neutral; anions are kept;
* the cell is rescaled isotropically by pymatgen's
  :class:`~pymatgen.analysis.structure_prediction.volume_predictor.RLSVolumePredictor`
  (reference lattice scaling by ionic radii), fractional coordinates are kept;
* a candidate whose space group differs from the parent's (spglib) is dropped.

The result is a structure of the parent's structure type with new lattice parameters (Å)
and new scattering factors: peaks move as the radii say and intensities change with Z.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.structure_prediction.volume_predictor import RLSVolumePredictor
from pymatgen.core import Element, Species, Structure
from tqdm.auto import tqdm

import bxrd
from bxrd.crystal.ions import EXCLUDED_ELEMENTS
from bxrd.crystal.template import space_group_of


@dataclass
class IsotypeConfig:
    """Options of isotype generation.

    Attributes:
        max_per_structure: isotypes made per real structure (at most).
        radius_tolerance: |r' − r| / r allowed for a substituting cation (Shannon radii).
        max_elements: skip structures with more elements (the oxidation guess grows
            combinatorially).
        max_z: heaviest substituting element (83 = Bi, the last with a stable isotope).
        seed: seed of the sampling.
    """

    max_per_structure: int = 5
    radius_tolerance: float = 0.15
    max_elements: int = 6
    max_z: int = 83
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_per_structure < 1:
            raise ValueError(f"max_per_structure must be >= 1, got {self.max_per_structure}")
        if not 0 < self.radius_tolerance < 1:
            raise ValueError(f"radius_tolerance must be in (0, 1), got {self.radius_tolerance}")


@dataclass
class Isotype:
    """One virtual structure and where it came from.

    Attributes:
        id: ``<parent id>_iso_<formula>``.
        structure: the substituted, rescaled structure.
        parent_id: id of the real structure it was made from.
        substitutions: replaced element → substituting element, e.g. ``{"Mg": "Fe"}``.
        charges: oxidation state of every element of the parent.
        volume_scale: new / parent cell volume.
    """

    id: str
    structure: Structure
    parent_id: str
    substitutions: dict[str, str]
    charges: dict[str, int]
    volume_scale: float

    def manifest_row(self) -> dict:
        """JSON-serialisable provenance record."""
        return {
            "id": self.id,
            "formula": self.structure.composition.reduced_formula,
            "parent_id": self.parent_id,
            "substitutions": self.substitutions,
            "oxidation_states": self.charges,
            "volume_scale": round(self.volume_scale, 4),
            "bxrd_version": bxrd.__version__,
        }


def oxidation_states(structure: Structure, max_elements: int = 6) -> dict[str, int]:
    """Most likely charge-balanced oxidation state of each element (pymatgen's guess).

    Raises:
        ValueError: too many elements, or no charge-balanced guess.
    """
    comp = structure.composition
    if len(comp.elements) > max_elements:
        raise ValueError(f"{len(comp.elements)} elements (> {max_elements})")
    guesses = comp.oxi_state_guesses(max_sites=-20)
    if not guesses:
        raise ValueError(f"no charge-balanced oxidation states for {comp.reduced_formula}")
    return {el: int(round(q)) for el, q in guesses[0].items()}


def _radius(element: str, charge: int) -> float | None:
    """Shannon radius of an ion (Å), or the atomic radius of a neutral element; None if unknown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pymatgen: "no default radius, using ls data"
            r = Species(element, charge).ionic_radius if charge else Element(element).atomic_radius
    except ValueError:
        return None
    return None if r is None else float(r)


def _cationic(el: Element) -> bool:
    """Tell whether ``el`` is a metal or metalloid (what isotypes replace and propose)."""
    return bool(el.is_metal or el.is_metalloid)


def substitutes(element: str, charge: int, tolerance: float, max_z: int = 83) -> list[str]:
    """Elements that can replace ``element`` in oxidation state ``charge`` (sorted by Z).

    Only metal and metalloid cations are replaced, by metals and metalloids: the non-metal
    centres of polyanions (C in CO3, P in PO4, S in SO4) are kept. The substitute has the
    same common oxidation state (for ``charge`` 0: a metal) and a radius within
    ``tolerance`` (relative) of the replaced one; noble gases, H and elements without a
    stable isotope are never proposed.
    """
    r0 = _radius(element, charge)
    if r0 is None or not _cationic(Element(element)):
        return []
    found = []
    for z in range(1, max_z + 1):
        el = Element.from_Z(z)
        if el.symbol == element or el.symbol in EXCLUDED_ELEMENTS or not _cationic(el):
            continue
        if charge and charge not in el.common_oxidation_states:
            continue
        if not charge and not el.is_metal:
            continue
        r = _radius(el.symbol, charge)
        if r is not None and abs(r - r0) <= tolerance * r0:
            found.append(el.symbol)
    return found


def make_isotypes(sid: str, structure: Structure, config: IsotypeConfig) -> list[Isotype]:
    """Up to ``config.max_per_structure`` isotypes of one structure (see module docstring).

    Draws are reproducible: the generator is seeded by ``config.seed`` and the parent id.

    Raises:
        ValueError: the structure cannot be substituted (the message says why).
    """
    charges = oxidation_states(structure, config.max_elements)
    options = {
        el: substitutes(el, q, config.radius_tolerance, config.max_z)
        for el, q in sorted(charges.items())
        if q >= 0
    }
    options = {el: subs for el, subs in options.items() if subs}
    if not options:
        raise ValueError("no cation has a same-charge substitute of similar radius")
    rng = np.random.default_rng([config.seed, *sid.encode()])
    number = space_group_of(structure)[0]
    parent = structure.copy()
    parent.add_oxidation_state_by_element(charges)
    predictor = RLSVolumePredictor(radii_type="ionic", use_bv=False, check_isostructural=False)
    made: dict[str, Isotype] = {}
    for _ in range(20 * config.max_per_structure):
        if len(made) >= config.max_per_structure:
            break
        subs = {el: str(rng.choice(c)) for el, c in options.items() if rng.random() < 0.5}
        if not subs or set(subs.values()) & (set(charges) - set(subs)):
            continue  # identity, or two sites would merge into one element
        child = structure.copy()
        child.replace_species(subs)
        formula = child.composition.reduced_formula
        if formula in made:
            continue
        child.add_oxidation_state_by_element({subs.get(el, el): q for el, q in charges.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                scaled = predictor.get_predicted_structure(child, parent)
            except (ValueError, KeyError, ZeroDivisionError):
                continue  # a radius pymatgen does not tabulate
        scaled.remove_oxidation_states()
        if space_group_of(scaled)[0] != number:
            continue
        made[formula] = Isotype(
            f"{sid}_iso_{formula}",
            scaled,
            sid,
            subs,
            charges,
            scaled.volume / structure.volume,
        )
    return list(made.values())


def run_isotypes(
    structures: dict[str, Structure], config: IsotypeConfig, progress: bool = False
) -> tuple[list[Isotype], list[str]]:
    """Isotypes of every structure (sorted ids), and one message per structure skipped."""
    made: list[Isotype] = []
    skipped: list[str] = []
    for sid in tqdm(sorted(structures), desc="isotypes", disable=not progress):
        try:
            made += make_isotypes(sid, structures[sid], config)
        except ValueError as exc:
            skipped.append(f"{sid}: no isotypes ({exc})")
    return made, skipped
