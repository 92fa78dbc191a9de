"""Orientation-averaged molecular A cations: symmetry kept, electrons kept, intensities of
a cubic hybrid (light A: (100) up, (110) down against CsPbI3) as structure factors give."""

import numpy as np
import pytest
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.crystal.molecules import MOLECULES, orientation_averaged, orientation_directions
from bxrd.crystal.template import space_group_of
from bxrd.xrd.simulate import simulate_sticks


def _cubic(a: float = 6.31) -> Structure:
    return Structure(
        Lattice.cubic(a),
        ["Cs", "Pb", "I", "I", "I"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]],
    )


def _hexagonal() -> Structure:
    """2H-type cell: its 6-fold axis is no symmetry of the cubic direction set."""
    lattice = Lattice.hexagonal(8.6, 7.4)
    return Structure.from_spacegroup(
        "P6_3/mmc",
        lattice,
        ["Cs", "Ni", "Cl"],
        [[1 / 3, 2 / 3, 0.75], [0, 0, 0], [0.15, 0.3, 0.25]],
    )


@pytest.mark.parametrize("molecule", sorted(MOLECULES))
def test_space_group_and_electron_count_are_kept(molecule):
    for framework in (_cubic(), _hexagonal()):
        averaged = orientation_averaged(framework, "Cs", molecule)
        assert space_group_of(averaged)[0] == space_group_of(framework)[0]
        n_a = framework.composition["Cs"]
        per_molecule = sum(
            Element(e).Z * n for shell in MOLECULES[molecule] for e, n in shell.atoms.items()
        )
        light = sum(el.Z * n for el, n in averaged.composition.items() if el.symbol in "CNH")
        assert light == pytest.approx(per_molecule * n_a)
        for site in averaged:  # no site holds more than one atom
            assert site.species.num_atoms <= 1 + 1e-9


def _closed(directions: np.ndarray, structure: Structure) -> bool:
    """Every rotation of ``structure``'s space group maps the set onto itself (1e-3)."""
    ops = SpacegroupAnalyzer(structure, symprec=0.01).get_symmetry_operations(cartesian=True)
    for op in ops:
        images = directions @ op.rotation_matrix.T
        gaps = np.linalg.norm(images[:, None, :] - directions[None, :, :], axis=2)
        if gaps.min(axis=1).max() > 2e-3:
            return False
    return True


def test_direction_set_is_closed_under_the_point_group_and_has_no_twins():
    near_cubic = _cubic()
    near_cubic.apply_strain([1e-3, 0, -5e-4])  # within symprec 0.01 Å of Pm-3m
    for structure, n in ((_cubic(), 26), (near_cubic, 26), (_hexagonal(), None)):
        directions = orientation_directions(structure)
        assert np.allclose(np.linalg.norm(directions, axis=1), 1, atol=1e-9)
        assert _closed(directions, structure)
        gaps = np.linalg.norm(directions[:, None] - directions[None], axis=2)
        assert gaps[~np.eye(len(directions), dtype=bool)].min() > 1e-3
        assert len(directions) == n if n else len(directions) > 26
    assert space_group_of(orientation_averaged(near_cubic, "Cs", "MA"))[0] == 221


def test_light_a_site_strengthens_100_and_weakens_110():
    """Pm-3m ABX3 with A at ½½½, B at 000, X at ½00: F(100) = f_B + f_X − f_A and
    F(110) = f_A + f_B − f_X, so a light A raises I(100)/I(110). Measured FA/MA lead iodide
    films show (100) about 9× (110); CsPbI3 (Cs, 55 electrons) about 1×."""

    def ratio(structure: Structure) -> float:
        sticks = simulate_sticks(structure, "CuKa", (10, 25))
        tt, intensity = np.asarray(sticks.two_theta), np.asarray(sticks.intensity)
        return intensity[np.argmin(abs(tt - 14.0))] / intensity[np.argmin(abs(tt - 19.9))]

    cs, ma = ratio(_cubic()), ratio(orientation_averaged(_cubic(), "Cs", "MA"))
    assert cs < 1.5 and ma > 5


def test_unknown_molecule_and_missing_site_are_named():
    with pytest.raises(ValueError, match="GA"):
        orientation_averaged(_cubic(), "Cs", "GA")
    with pytest.raises(ValueError, match="no Rb site"):
        orientation_averaged(_cubic(), "Rb", "MA")
