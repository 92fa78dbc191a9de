import pytest
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.crystal.isotypes import IsotypeConfig, make_isotypes, oxidation_states, substitutes


def rock_salt(cation: str, a: float) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [cation, "O"], [[0] * 3, [0.5] * 3])


def spinel() -> Structure:
    """MgAl2O4, Fd-3m (origin choice 1), a = 8.08 Å, O at u = 0.387."""
    return Structure.from_spacegroup(
        "Fd-3m", Lattice.cubic(8.08), ["Mg", "Al", "O"], [[0] * 3, [0.625] * 3, [0.387] * 3]
    )


def test_substitutes_keep_charge_and_radius():
    subs = substitutes("Mg", 2, 0.15)
    assert "Fe" in subs and "Ni" in subs and "Mg" not in subs
    assert "Ba" not in subs  # Ba2+ is 1.35 Å against 0.72 Å
    assert all(2 in Element(e).common_oxidation_states for e in subs)
    # non-metal centres of polyanions are never replaced, nor proposed
    assert substitutes("C", 4, 0.5) == [] and substitutes("P", 5, 0.5) == []
    assert not {"S", "P", "Br", "N"} & set(substitutes("Al", 3, 0.3))


def test_isotypes_are_charge_neutral_same_group_and_rescaled():
    parent = spinel()
    number = SpacegroupAnalyzer(parent, symprec=0.01).get_space_group_number()
    charges = oxidation_states(parent)
    assert charges == {"Mg": 2, "Al": 3, "O": -2}
    made = make_isotypes("spinel", parent, IsotypeConfig(max_per_structure=6))
    assert 3 <= len(made) <= 6
    for iso in made:
        comp = iso.structure.composition
        charge_of = {iso.substitutions.get(el, el): q for el, q in charges.items()}
        assert sum(charge_of[el.symbol] * n for el, n in comp.items()) == pytest.approx(0.0)
        assert all(
            charges[old] in Element(new).common_oxidation_states
            for old, new in iso.substitutions.items()
        )
        sga = SpacegroupAnalyzer(iso.structure, symprec=0.01)
        assert sga.get_space_group_number() == number
        assert iso.structure.volume / parent.volume == pytest.approx(iso.volume_scale)
        # fractional coordinates are kept: only the cell and the species change
        assert iso.structure.frac_coords == pytest.approx(parent.frac_coords)
        assert iso.manifest_row()["parent_id"] == "spinel"


def test_lattice_follows_ionic_radii():
    """MgO (a = 4.21 Å) → CaO: the RLS rescaling lands near CaO's measured a = 4.81 Å."""
    config = IsotypeConfig(max_per_structure=40, radius_tolerance=0.35)  # Ca2+ is 33 % larger
    made = make_isotypes("MgO", rock_salt("Mg", 4.21), config)
    by_formula = {i.structure.composition.reduced_formula: i for i in made}
    assert by_formula["CaO"].structure.lattice.a == pytest.approx(4.81, rel=0.03)
    assert by_formula["NiO"].structure.lattice.a == pytest.approx(4.18, rel=0.03)
    # a smaller cation shrinks the cell, a larger one grows it
    for iso in made:
        ((old, new),) = iso.substitutions.items()
        r_old = Element(old).ionic_radii[2]
        r_new = Element(new).ionic_radii.get(2)
        if r_new is not None and abs(r_new - r_old) > 0.02:
            assert (iso.volume_scale > 1) == (r_new > r_old)


def test_isotypes_are_reproducible_and_refusals_say_why():
    a = make_isotypes("sp", spinel(), IsotypeConfig(seed=3))
    b = make_isotypes("sp", spinel(), IsotypeConfig(seed=3))
    assert [i.id for i in a] == [i.id for i in b]
    stishovite = Structure.from_spacegroup(  # SiO2: Si4+ has no metal of similar radius
        "P4_2/mnm", Lattice.tetragonal(4.18, 2.67), ["Si", "O"], [[0] * 3, [0.306, 0.306, 0]]
    )
    with pytest.raises(ValueError, match="substitute"):
        make_isotypes("SiO2", stishovite, IsotypeConfig())
    with pytest.raises(ValueError, match="max_per_structure"):
        IsotypeConfig(max_per_structure=0)
