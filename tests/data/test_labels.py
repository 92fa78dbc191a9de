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
