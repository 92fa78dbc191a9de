"""Search-match: nearest library patterns by cosine, chunked."""

import numpy as np
import pytest

from bxrd.data.search_match import SearchLibrary


@pytest.fixture
def library():
    rng = np.random.default_rng(1)
    x = rng.random((50, 40)).astype(np.float32)
    return SearchLibrary(
        x,
        [f"s{i}" for i in range(50)],
        [f"F{i}" for i in range(50)],
        ["Pnma (62)" if i % 2 else "Pm-3m (221)" for i in range(50)],
        {"space_group": np.arange(50) % 2},
        chunk=7,
    )


def test_a_library_pattern_finds_itself_first_with_similarity_one(library):
    query = 3.0 * library.patterns[[4, 11]]  # scale does not matter to cosine
    idx, sim = library.search(query, k=3)
    assert idx[:, 0].tolist() == [4, 11] and np.allclose(sim[:, 0], 1.0, atol=1e-6)
    assert np.all(np.diff(sim, axis=1) <= 0)
    m = library.matches(query[0], k=2)
    assert (m[0].structure_id, m[0].formula, m[0].space_group) == ("s4", "F4", "Pm-3m (221)")
    pred, _ = library.predict(query, "space_group")
    assert pred.tolist() == [0, 1]


def test_chunked_search_equals_brute_force(library):
    rng = np.random.default_rng(2)
    q = rng.random((9, 40))
    idx, sim = library.search(q, k=5)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    full = qn @ library.patterns.T
    assert np.array_equal(idx, np.argsort(-full, axis=1, kind="stable")[:, :5])
    assert np.allclose(sim, np.sort(full, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_wrong_grid_is_refused(library):
    with pytest.raises(ValueError, match="queries have 39 points, the library 40"):
        library.search(np.ones((1, 39)))


def test_saved_library_answers_like_the_original(library, tmp_path):
    from bxrd.data.search_match import SearchLibrary
    from bxrd.errors import BxrdInputError

    back = SearchLibrary.load(library.save(tmp_path / "library.npz"))
    q = np.random.default_rng(3).random((4, 40))
    assert np.array_equal(back.search(q, 3)[0], library.search(q, 3)[0])
    assert back.formula == library.formula and back.labels["space_group"].tolist() == (
        library.labels["space_group"].tolist()
    )
    with pytest.raises(BxrdInputError, match="nope.npz: not a search-match library"):
        SearchLibrary.load(tmp_path / "nope.npz")


def test_library_from_structure_files_finds_the_structure_itself(tmp_path, srtio3):
    from pymatgen.core import Lattice, Structure

    from bxrd.xrd.augment import render_clean
    from bxrd.xrd.grid import TwoThetaGrid
    from bxrd.xrd.render import Renderer
    from bxrd.xrd.simulate import simulate_sticks
    from bxrd.xrd.stick_batch import StickBatch

    srtio3.to(filename=str(tmp_path / "SrTiO3.cif"))
    rocksalt = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"],
                                         [[0, 0, 0], [0.5, 0.5, 0.5]])  # fmt: skip
    rocksalt.to(filename=str(tmp_path / "NaCl.cif"))
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3\n")
    grid = TwoThetaGrid(10.0, 80.0, 0.02)
    library, failures = SearchLibrary.from_structures([tmp_path], grid, 1.5406)
    assert sorted(library.formula) == ["NaCl", "SrTiO3"] and len(failures) == 1
    assert "Pm-3m (221)" in library.space_group and "broken.cif" in failures[0]
    # a strained SrTiO3 (a + 0.5 %) still finds SrTiO3 first, above the rock salt
    strained = srtio3.copy()
    strained.scale_lattice(srtio3.volume * 1.005**3)
    sticks = StickBatch.from_patterns([simulate_sticks(strained, 1.5406, (10.0, 80.0))])
    query = render_clean(Renderer(grid, 1.5406), sticks, 40.0)[0].numpy()
    best = library.matches(query, k=2)
    assert best[0].formula == "SrTiO3" and best[0].similarity > best[1].similarity
    assert 0.0 <= best[1].similarity < best[0].similarity <= 1.0 + 1e-6


def test_library_keeps_its_axis_through_a_file_and_refuses_mixed_axes(library, tmp_path):
    from bxrd.xrd.axis import Axis
    from bxrd.xrd.grid import TwoThetaGrid

    n = library.patterns.shape[1]
    cu = Axis(TwoThetaGrid(10.0, 10.0 + 0.1 * (n - 1), 0.1), 1.54184)
    mo = Axis(cu.grid, 0.7093)
    a = SearchLibrary(library.patterns, library.structure_id, library.formula,
                      library.space_group, axis=cu)  # fmt: skip
    b = SearchLibrary(library.patterns, library.structure_id, library.formula,
                      library.space_group, axis=mo)  # fmt: skip
    assert SearchLibrary.load(a.save(tmp_path / "a.npz")).axis == cu
    with pytest.raises(ValueError, match="different axes"):
        SearchLibrary.concat([a, b])


def test_perovskite_library_holds_the_clean_perovskites_of_the_splits_asked():
    from bxrd.data.search_match import perovskite_library
    from bxrd.data.store import PatternSet
    from bxrd.errors import BxrdInputError

    rng = np.random.default_rng(4)
    split = ["train", "train", "train", "val", "test", "train"]
    data = PatternSet(
        patterns=rng.random((6, 30)).astype(np.float32),
        two_theta=np.linspace(10, 80, 30),
        wavelength=1.54184,
        labels={"space_group": np.array([0, 1, 1, 0, 1, 0])},
        classes={"space_group": ["Pnma (62)", "other"]},
        provenance={
            "structure_id": ["a", "a", "b", "c", "d", "e"],
            "augmentation": ["none", "impurity", "none", "none", "none", "none"],
            "perovskite": ["1", "1", "0", "1", "1", "1"],
            "split": split,
            "formula": list("AABCDE"),
        },
        config={},
    )
    train = perovskite_library(data, ["train"])
    # clean rows only (a's augmented copy is not), perovskites only (b is not one)
    assert train.structure_id == ["a", "e"]
    assert np.allclose(train.patterns[0] * np.linalg.norm(data.patterns[0]), data.patterns[0])
    assert perovskite_library(data, ["train", "val", "test"]).structure_id == ["a", "c", "d", "e"]
    with pytest.raises(BxrdInputError, match="no perovskite in the splits"):
        perovskite_library(data, ["refit"])


def test_a_cell_with_an_ordered_molecule_is_noted_through_file_and_concat(tmp_path, srtio3):
    """A DFT hybrid cell's spglib group is one molecule orientation's: the library says so,
    keeps saying so through a file and a join, and an older file without notes reads as
    notes-free."""
    from pymatgen.core import Lattice, Structure

    from bxrd.crystal.molecules import has_molecular_cation, orientation_averaged
    from bxrd.data.search_match import ORDERED_MOLECULE
    from bxrd.xrd.grid import TwoThetaGrid

    a = 6.3  # cubic MAPbI3 framework, MA along c: C–N 1.47 Å, one H 1.02 Å beyond N
    mapi = Structure(
        Lattice.cubic(a),
        ["Pb", "I", "I", "I", "C", "N", "H"],
        [[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5],
         [0.5, 0.5, 0.5 - 0.735 / a], [0.5, 0.5, 0.5 + 0.735 / a],
         [0.5, 0.5, 0.5 + (0.735 + 1.02) / a]],
    )  # fmt: skip
    mapi.to(filename=str(tmp_path / "MAPbI3.cif"))
    srtio3.to(filename=str(tmp_path / "SrTiO3.cif"))
    grid = TwoThetaGrid(10.0, 80.0, 0.02)
    library, _ = SearchLibrary.from_structures([tmp_path], grid, 1.5406)
    notes = dict(zip(library.formula, library.note, strict=True))
    assert notes == {"HPbCI3N": ORDERED_MOLECULE, "SrTiO3": ""}
    # the orientation-averaged molecule (partly occupied shells about the A site) has H
    # within a bond of C too, but its group is the disordered average's: no note
    sites = [[0.5] * 3, [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]
    framework = Structure(Lattice.cubic(a), ["Cs", "Pb", "I", "I", "I"], sites)
    averaged = orientation_averaged(framework, "Cs", "MA")
    assert has_molecular_cation(averaged) and not averaged.is_ordered
    avg_dir = tmp_path / "averaged"
    avg_dir.mkdir()
    averaged.to(filename=str(avg_dir / "MAPbI3_avg.cif"))
    avg_lib, _ = SearchLibrary.from_structures([avg_dir], grid, 1.5406)
    assert avg_lib.note == [""] and avg_lib.space_group == ["Pm-3m (221)"]
    back = SearchLibrary.load(library.save(tmp_path / "lib.npz"))
    assert back.note == library.note
    joined = SearchLibrary.concat([back, library])
    assert joined.note == library.note * 2
    best = joined.matches(joined.patterns[library.formula.index("HPbCI3N")], k=1)[0]
    assert best.note == ORDERED_MOLECULE
    old = tmp_path / "old.npz"  # written before notes existed
    with np.load(tmp_path / "lib.npz") as f:
        np.savez(old, **{k: f[k] for k in f.files if k != "note"})
    assert SearchLibrary.load(old).note == ["", ""]


def test_library_script_refuses_a_dataset_with_structure_sources(tmp_path):
    """make_search_library.py: --dataset makes a dataset's perovskite library; sources
    beside it would be silently ignored, so they are refused and nothing is written."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "lib.npz"
    for extra in (["cifs/"], ["--reported", "cifs/"]):
        run = subprocess.run(
            [sys.executable, str(root / "scripts" / "make_search_library.py"),
             "--checkpoint", "none.ckpt", "--dataset", "d.h5", "--output", str(out), *extra],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 2 and "give no sources" in run.stderr
    assert not out.exists()
