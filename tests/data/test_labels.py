from pymatgen.core import Lattice, Structure

from bxrd.data.labels import OTHER, keep_most_common, structure_types, symmetry_label


def cubic(a, b, x, lat):
    return Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(lat), [a, b, x], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
    )


def test_structure_types_ignore_species_and_split_frameworks():
    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    )
    s = {"sto": cubic("Sr", "Ti", "O", 3.905), "bto": cubic("Ba", "Ti", "O", 4.0), "nacl": rocksalt}
    labels = {k: symmetry_label(v) for k, v in s.items()}
    assert labels["sto"].space_group == "Pm-3m (221)" and labels["nacl"].number == 225
    names = structure_types(s, labels)
    assert names["sto"] == names["bto"] != names["nacl"]
    assert names["sto"].startswith("Pm-3m (221) ")
    kept, relabelled = keep_most_common(names, 1)
    assert kept == [names["sto"]] and relabelled["nacl"] == OTHER


def test_perovskites_pass_and_other_frameworks_are_named():
    from pymatgen.core import Lattice, Structure

    from bxrd.data.labels import not_perovskite_reason

    cubic = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(3.905), ["Sr", "Ti", "O"], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
    )
    assert not_perovskite_reason(cubic) is None
    # ferroelectric off-centring (Ti shifted 0.3 Å along c) still counts as an octahedron
    shifted = cubic.copy()
    shifted.translate_sites([1], [0, 0, 0.3 / 3.905])
    assert not_perovskite_reason(shifted) is None
    rock_salt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    )
    assert "n_B : n_X = 1 : 3" in not_perovskite_reason(rock_salt)
    re_o3 = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(4.01), ["Sc", "F"], [[0] * 3, [0.5, 0, 0]]
    )
    assert "no A cation" in not_perovskite_reason(re_o3)


def test_shared_minerals_and_polytypes(shared_structures):
    from bxrd.crystal.io import read_structure
    from bxrd.data.labels import not_perovskite_reason

    def reason(path: str) -> str | None:
        return not_perovskite_reason(read_structure(shared_structures / path))

    assert reason("amcsd/Perovskite.cif") is None  # CaTiO3, Pnma
    assert reason("amcsd/Mg-Perovskite_Bridgmanite.cif") is None
    assert reason("amcsd/Diopside.cif") is not None
    assert "edges" in reason("amcsd/Ilmenite.cif")
    # hexagonal 2H (face-sharing chains): a perovskite-family class, unless switched off
    assert reason("package_literature/BaNiO3.json") is None
    banio3 = read_structure(shared_structures / "package_literature/BaNiO3.json")
    assert "faces" in not_perovskite_reason(banio3, hexagonal=False)
    assert "A-site" in reason("amcsd/Calcite.cif")
    assert reason("hybrid_perovskites/2015_ch3nh3pbi3_phonons_PBEsol__CH3NH3PbI3_cubic.cif") is None
    assert reason("hybrid_perovskites/2016_doubleperovkites_PBEsol__Cs2AgBiBr6.cif") is None


def test_hexagonal_2h_is_a_perovskite_unless_switched_off():
    from bxrd.crystal.tilts import hexagonal_2h
    from bxrd.data.labels import not_perovskite_reason

    two_h = hexagonal_2h("Ba", "Ni", "O")
    assert not_perovskite_reason(two_h) is None
    assert "faces" in not_perovskite_reason(two_h, hexagonal=False)


def test_smeared_molecule_passes_the_cavity_test_but_a_whole_atom_does_not():
    """A tilted CsPbI3 frame (Pnma cell) whose Cs is MA averaged over orientations: the
    0.74 Å C/N shell reaches closer to I than Pb–I along some directions, yet no atom sits
    there (2/26 of one per site), so it is a perovskite; one whole N atom there is not."""
    import numpy as np

    from bxrd.crystal.generator import generate_perovskites
    from bxrd.crystal.molecules import orientation_averaged
    from bxrd.data.labels import SMEARED, not_perovskite_reason

    ((frame, _),) = generate_perovskites([("Cs", "Pb", "I")], 1, 0, systems=[("a+b-b-", None)])
    hybrid = orientation_averaged(frame, "Cs", "MA")
    assert not_perovskite_reason(hybrid) is None
    iodine = [j for j, site in enumerate(hybrid) if site.species_string == "I"]
    lead = [j for j, site in enumerate(hybrid) if site.species_string == "Pb"]
    pb_i = min(hybrid.get_distance(lead[0], j) for j in iodine)
    shell = [i for i, site in enumerate(hybrid) if "N" in {e.symbol for e in site.species}]
    to_i = np.array([min(hybrid.get_distance(i, j) for j in iodine) for i in shell])
    closest = shell[int(np.argmin(to_i))]
    assert to_i.min() < pb_i and hybrid[closest].species.num_atoms < SMEARED
    hybrid.replace(closest, "N")
    assert "no A-site cavity" in not_perovskite_reason(hybrid)
