from pathlib import Path

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from bxrd.crystal.isotypes import IsotypeConfig
from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.class_names import NO_STRUCTURE
from bxrd.data.datamodule import XRDDataModule
from bxrd.data.splits import SplitConfig, check_no_leak
from bxrd.data.store import load_pattern_set
from bxrd.errors import BxrdInputError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built-in templates → TER → VSS; a real folder (two cubic perovskites, rock salt) → RSS."""
    root = tmp_path_factory.mktemp("ds")
    real = root / "real"
    real.mkdir()
    for name, (a, b, lat) in {"KNbO3c": ("K", "Nb", 4.02), "SrZrO3c": ("Sr", "Zr", 4.15)}.items():
        Structure.from_spacegroup(
            "Pm-3m", Lattice.cubic(lat), [a, b, "O"], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
        ).to(filename=str(real / f"{name}.cif"))
    Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    ).to(filename=str(real / "NaCl.cif"))
    cfg = BuildConfig(
        output=str(root / "out"),
        real=str(real),
        templates=["builtin"],
        ter=TERConfig(max_per_template=3),
        split=SplitConfig(test_fraction=0.3, val_fraction=0.0, vss_val_fraction=0.2),
        n_structure_types=7,
        n_augmented=2,
        n_jobs=1,
    )
    path = build_dataset(cfg, progress=False)
    return cfg, path


def test_dataset_is_labelled_split_and_leak_free(built, capsys):
    cfg, path = built
    data = load_pattern_set(path)
    prov = data.provenance
    n_structures = len(set(prov["structure_id"]))
    assert len(data) == 3 * n_structures == 3 * len(data.sticks)
    assert np.allclose(data.patterns.max(axis=1), 1.0)
    # three tasks; rock salt is outside the library, perovskites inside
    assert set(data.labels) == {"space_group", "structure_type", "in_library"}
    sid = np.array(prov["structure_id"])
    lib = data.labels["in_library"]
    assert set(lib[sid == "NaCl"]) == {0} and set(lib[sid == "SrTiO3_Pm-3m"]) == {1}
    # rock salt is no perovskite: space group `other`, never a perovskite class
    sg_of = np.array(data.classes["space_group"])[data.labels["space_group"]]
    assert set(sg_of[sid == "NaCl"]) == {"other"}
    assert "Fm-3m (225)" not in data.classes["space_group"]
    # each TER pattern carries its template's space group; test is real-side only
    sg = np.array(data.classes["space_group"])[data.labels["space_group"]]
    for t, name in zip(prov["template_id"], sg, strict=True):
        if t == "CaTiO3_Pnma":
            assert name == "Pnma (62)"
    split, source = np.array(prov["split"]), np.array(prov["source"])
    assert (split == "test").any() and set(source[split == "test"]) == {"rss"}
    # the Pm-3m test structures have no TER children and no twins in training
    test_ids = set(sid[split == "test"])
    assert not test_ids & set(np.array(prov["template_id"])[split != "test"])
    clean = np.array([a == "none" for a in prov["augmentation"]])
    assert (
        check_no_leak(
            prov["split"], prov["structure_id"], prov["template_id"], clean, data.patterns
        )
        == []
    )


def test_reload_equals_and_resumes(built, capsys):
    cfg, path = built
    a = load_pattern_set(path)
    b = load_pattern_set(path)
    assert a.content_hash() == b.content_hash()
    s = next(iter(a.sticks))
    assert np.array_equal(a.sticks[s].hkl, b.sticks[s].hkl) and a.sticks[s].hkl.shape[1] == 3
    build_dataset(cfg, progress=False)
    out = capsys.readouterr().out
    assert "simulated 0, already done" in out and "leak check: no test structure" in out
    assert load_pattern_set(path).content_hash() == a.content_hash()


def test_corrupt_dataset_is_named(built, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    from bxrd.errors import BxrdInputError

    with pytest.raises(BxrdInputError, match="bad.h5"):
        load_pattern_set(bad)


@pytest.mark.parametrize("sources", [["vss"], ["syn"], ["syn", "rss"], ["vss", "rss"]])
def test_datamodule_serves_each_training_set(built, sources):
    _, path = built
    dm = XRDDataModule(
        str(path), build_config=None, train_sources=sources, samples_per_epoch=96, batch_size=32
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["pattern"].shape == (32, dm.in_length)
    assert torch.allclose(batch["pattern"].amax(dim=1), torch.ones(32))
    assert int(batch["label"].max()) < dm.n_classes
    assert len(dm.test_set) > 0 and dm.class_counts("test")


def test_training_pools_never_touch_test_structures(built):
    _, path = built
    dm = XRDDataModule(str(path), build_config=None, train_sources=["syn", "rss", "vss"])
    ids, _, pools, partners = dm.training_pools()
    split = dict(zip(dm.provenance("structure_id"), dm.provenance("split"), strict=True))
    used = {ids[i] for rows in pools.values() for i in rows} | {ids[i] for i in partners}
    assert used and all(split[s] == "train" for s in used)


def test_exclude_origins_drops_only_those_training_structures(built):
    _, path = built
    full = XRDDataModule(str(path), build_config=None, train_sources=["rss", "vss"])
    cut = XRDDataModule(
        str(path), build_config=None, train_sources=["rss", "vss"], exclude_origins=["ter"]
    )
    ids, _, pools, _ = full.training_pools()
    _, _, cut_pools, _ = cut.training_pools()
    origin = dict(zip(full.provenance("structure_id"), full.provenance("origin"), strict=True))
    assert any(origin[ids[i]] == "ter" for i in pools["vss"])
    assert not any(origin[ids[i]] == "ter" for rows in cut_pools.values() for i in rows)
    assert np.array_equal(pools["rss"], cut_pools["rss"])
    with pytest.raises(BxrdInputError, match="exclude_origins"):
        XRDDataModule(str(path), build_config=None, exclude_origins=["nowhere"]).training_pools()


def test_stream_is_deterministic_under_seed(built):
    _, path = built
    dm = XRDDataModule(str(path), build_config=None, samples_per_epoch=16, batch_size=16)
    dm.setup("fit")
    torch.manual_seed(3)
    a = next(iter(dm.train_dataloader()))
    torch.manual_seed(3)
    b = next(iter(dm.train_dataloader()))
    assert torch.equal(a["pattern"], b["pattern"]) and torch.equal(a["label"], b["label"])


def test_class_reflections_come_from_a_real_training_structure(built):
    _, path = built
    dm = XRDDataModule(str(path), build_config=None)
    refs = dm.class_reflections(n=5)
    prov = {k: dm.provenance(k) for k in ("structure_id", "source", "split")}
    kind = {
        s: (src, sp)
        for s, src, sp in zip(prov["structure_id"], prov["source"], prov["split"], strict=True)
    }
    assert set(refs) == set(dm.class_names) - NO_STRUCTURE  # `other` has no one structure
    pnma = refs["Pnma (62)"]
    assert {r["structure"] for r in pnma} == {"CaTiO3_Pnma"} and kind["CaTiO3_Pnma"] == (
        "rss",
        "train",
    )
    tt = [r["two_theta"] for r in pnma]
    assert tt == sorted(tt) and 0 < len(tt) <= 5 and all(10 <= t <= 80 for t in tt)


@pytest.mark.parametrize("fraction", [0.5, 1.0])
def test_synthesis_reserves_a_share_of_every_class(built, fraction):
    _, path = built
    dm = XRDDataModule(
        str(path),
        build_config=None,
        train_sources=["syn", "rss"],
        rss_synthesis_fraction=fraction,
    )
    ids, y, pools, partners = dm.training_pools()
    pairs = zip(dm.provenance("source"), dm.provenance("split"), strict=True)
    kind = dict(zip(dm.provenance("structure_id"), pairs, strict=True))
    real = np.array([i for i, s in enumerate(ids) if kind[s] == ("rss", "train")])
    assert not set(pools["rss"]) & set(pools["syn"])
    assert set(pools["rss"]) | set(pools["syn"]) <= set(real)
    for c in np.unique(y[real]):
        n = int((y[real] == c).sum())
        kept = int((y[pools["rss"]] == c).sum())
        assert kept == n - round(fraction * n)
        assert int((y[pools["syn"]] == c).sum()) == n - kept
    # reserved structures are only used where a VSS partner exists
    dm.setup("fit")
    no_vss = set(np.unique(y[real]).tolist()) - set(y[partners].tolist())
    if fraction == 1.0:
        assert no_vss and not no_vss & set(dm.train_set.classes)


def test_isotypes_add_virtual_structures_without_changing_classes(built, tmp_path):
    cfg, _ = built
    # one-structure space groups are "other"; NaCl's isotypes must not lift Fm-3m into a class
    base = {**cfg.__dict__, "min_class_structures": 2, "n_structure_types": 4}
    plain = load_pattern_set(
        build_dataset(BuildConfig(**{**base, "output": str(tmp_path / "plain")}), progress=False)
    )
    iso_cfg = BuildConfig(**{**base, "output": str(tmp_path), "isotypes": IsotypeConfig()})
    data = load_pattern_set(build_dataset(iso_cfg, progress=False))
    assert "Fm-3m (225)" not in data.classes["space_group"]
    prov = data.provenance
    origin, split = np.array(prov["origin"]), np.array(prov["split"])
    kind = dict(zip(prov["structure_id"], zip(origin, split, strict=True), strict=True))
    iso = origin == "isotype"
    assert iso.any() and set(np.array(prov["source"])[iso]) == {"vss"}
    assert "test" not in set(split[iso])
    # every isotype descends from a real training structure that is not a TER template
    for parent in set(np.array(prov["template_id"])[iso]):
        assert kind[parent] == ("file", "train")
    # classes are defined without isotypes: same class lists, same labels for the rest
    assert data.classes == plain.classes
    ids = np.array(prov["structure_id"])
    for task in data.labels:
        a = dict(zip(ids[~iso], data.labels[task][~iso], strict=True))
        b = dict(zip(plain.provenance["structure_id"], plain.labels[task], strict=True))
        assert a == b, task
    assert (tmp_path / "isotypes" / "manifest.jsonl").read_text().count("\n") == len(set(ids[iso]))


def _perovskite(a: str, b: str, x: str, lat: float, c_over_a: float = 1.0) -> Structure:
    lattice = Lattice.tetragonal(lat, lat * c_over_a) if c_over_a != 1.0 else Lattice.cubic(lat)
    group = "P4/mmm" if c_over_a != 1.0 else "Pm-3m"
    return Structure.from_spacegroup(
        group, lattice, [a, b, x, x], [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0], [0.5, 0, 0.5]]
    )


@pytest.fixture(scope="module")
def benchmark_like(tmp_path_factory):
    """Polymorphs of one formula, many cubic perovskites, non-perovskites; formula grouping."""
    return _benchmark_like(tmp_path_factory.mktemp("bench"))


def _benchmark_like(root, refit_pool=False):
    real = root / "real"
    real.mkdir()
    pairs = [
        ("K", "Nb", 4.02),
        ("Sr", "Zr", 4.15),
        ("Ba", "Zr", 4.19),
        ("Sr", "Hf", 4.07),
        ("Ba", "Hf", 4.17),
        ("Ca", "Zr", 4.02),
        ("Ba", "Sn", 4.12),
        ("Sr", "Sn", 4.03),
    ]
    for a, b, lat in pairs:
        _perovskite(a, b, "O", lat).to(filename=str(real / f"{a}{b}O3.cif"))
        _perovskite(a, b, "O", lat, 1.04).to(filename=str(real / f"{a}{b}O3_tet.cif"))
    Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    ).to(filename=str(real / "NaCl.cif"))
    cfg = BuildConfig(
        output=str(root / "out"),
        real=str(real),
        templates=["builtin"],
        ter=TERConfig(max_per_template=4),
        split=SplitConfig(
            test_fraction=0.3, val_fraction=0.2, vss_val_fraction=0.0, group_by="formula"
        ),
        n_augmented=1,
        refit_pool=refit_pool,
        n_jobs=1,
    )
    return load_pattern_set(build_dataset(cfg, progress=False))


def test_refit_pool_keeps_held_out_twins_apart_and_the_honest_split_unchanged(
    benchmark_like, tmp_path
):
    honest = {k: np.asarray(v) for k, v in benchmark_like.provenance.items()}
    data = _benchmark_like(tmp_path, refit_pool=True)
    prov = {k: np.asarray(v) for k, v in data.provenance.items()}
    for split in ("train", "val", "test"):
        assert set(prov["structure_id"][prov["split"] == split]) == set(
            honest["structure_id"][honest["split"] == split]
        ), split
    refit = prov["split"] == "refit"
    assert refit.any() and not set(prov["structure_id"][refit]) & set(honest["structure_id"])
    # what the honest build dropped: virtual structures of a held-out formula, or structures
    # whose clean pattern twins a held-out one
    held = np.isin(prov["split"], ("test", "val"))
    clean = prov["augmentation"] == "none"
    unit = data.patterns / np.linalg.norm(data.patterns, axis=1, keepdims=True)
    for sid in set(prov["structure_id"][refit]):
        mine = (prov["structure_id"] == sid) & clean
        twin = (unit[mine] @ unit[held & clean].T).max() > 0.995
        assert twin or prov["formula"][mine][0] in set(prov["formula"][held]), sid


def test_no_formula_ter_child_or_twin_of_a_held_out_structure_in_training(benchmark_like):
    data = benchmark_like
    prov = {k: np.asarray(v) for k, v in data.provenance.items()}
    held = np.isin(prov["split"], ("test", "val"))
    train = np.isin(prov["split"], ("train", "pretrain"))
    assert held.any() and train.any()
    # formula grouping: all polymorphs of a formula in one split
    real = prov["source"] == "rss"
    for formula in set(prov["formula"][real]):
        assert len(set(prov["split"][real & (prov["formula"] == formula)])) == 1, formula
    assert not set(prov["formula"][held]) & set(prov["formula"][train])
    assert not set(prov["structure_id"][held]) & set(prov["template_id"][train])
    clean = prov["augmentation"] == "none"
    unit = data.patterns / np.linalg.norm(data.patterns, axis=1, keepdims=True)
    cos = unit[held & clean] @ unit[train & clean].T
    assert cos.max() <= 0.995
    test, val = prov["split"] == "test", prov["split"] == "val"
    assert (unit[test & clean] @ unit[val & clean].T).max() <= 0.995
    # provenance records whether each structure is a perovskite
    assert set(prov["perovskite"][prov["structure_id"] == "NaCl"]) == {"0"}
    assert set(prov["perovskite"][prov["structure_id"] == "SrTiO3_Pm-3m"]) == {"1"}


def test_a_mineral_is_reported_and_routed_to_other(shared_structures, tmp_path, capsys):
    cfg = BuildConfig(
        output=str(tmp_path / "out"),
        real=[str(shared_structures / "amcsd" / "Diopside.cif")],
        templates=["builtin"],
        ter=TERConfig(max_per_template=1),
        split=SplitConfig(test_fraction=0.2, val_fraction=0.0, vss_val_fraction=0.0),
        n_augmented=0,
        n_jobs=1,
    )
    data = load_pattern_set(build_dataset(cfg, progress=False))
    out = capsys.readouterr().out
    assert "Diopside.cif (CaMg(SiO3)2)" in out and "not ABX3 perovskites" in out
    rows = np.array(data.provenance["structure_id"]) == "Diopside"
    assert rows.any()
    assert set(np.array(data.classes["space_group"])[data.labels["space_group"][rows]]) == {"other"}
    assert set(data.labels["in_library"][rows]) == {0}
    assert "C2/c (15)" not in data.classes["space_group"] or any(
        np.array(data.provenance["origin"])[
            data.labels["space_group"] == data.classes["space_group"].index("C2/c (15)")
        ]
        != "file"
    )


def test_generator_structures_are_training_only_and_labelled_by_spglib(built, tmp_path):
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from bxrd.crystal.generator import GeneratorConfig, run_generator

    cfg, _ = built
    gen = GeneratorConfig(compositions=["Cs-Pb-I"], systems=["a0a0c-", "a0a0a0 [001]", "2H"])
    build = BuildConfig(**{**cfg.__dict__, "output": str(tmp_path), "generator": gen})
    data = load_pattern_set(build_dataset(build, progress=False))
    prov = {k: np.array(v) for k, v in data.provenance.items()}
    mine = prov["origin"] == "generator"
    assert set(prov["structure_id"][mine]) == {sid for sid, _, _ in run_generator(gen)}
    assert set(prov["source"][mine]) == {"vss"} and set(prov["split"][mine]) <= {"train", "val"}
    names = data.classes["space_group"]
    for sid, structure, meta in run_generator(gen):
        number = SpacegroupAnalyzer(structure, symprec=build.symprec).get_space_group_number()
        label = names[data.labels["space_group"][prov["structure_id"] == sid][0]]
        # 2H too: hexagonal polytypes are a perovskite-family class (P6_3/mmc)
        assert label.endswith(f"({number})"), (meta["system"], label, number)
        assert set(prov["perovskite"][prov["structure_id"] == sid]) == {"1"}
    assert (tmp_path / "generator" / "manifest.jsonl").read_text().count("\n") == 3


def test_generator_blocks_draw_each_block_and_refuse_repeated_ids(tmp_path):
    from bxrd.crystal.generator import GeneratorConfig, run_generator
    from bxrd.data.build import generated_entries
    from bxrd.errors import BxrdInputError

    halides = GeneratorConfig(compositions=["Cs-Pb-Br"], systems=["a0a0c-"])
    oxides = GeneratorConfig(compositions=["Ba-Ti-O"], systems=["a0a0a0 [001]"])
    made = generated_entries([halides, oxides], 0.01, tmp_path / "a", [])
    expected = [sid for block in (halides, oxides) for sid, _, _ in run_generator(block)]
    assert [e.id for e in made] == expected and len(expected) == 2
    assert {e.symmetry.space_group for e in made} == {"I4/mcm (140)", "P4mm (99)"}
    with pytest.raises(BxrdInputError, match="same structure ids"):
        generated_entries([halides, halides], 0.01, tmp_path / "b", [])


def test_shipped_recipe_reads_three_generator_blocks():
    from bxrd.crystal.generator import GeneratorConfig
    from bxrd.crystal.molecules import MOLECULES
    from bxrd.data.build import load_build_config

    root = Path(__file__).resolve().parents[2]
    blocks = load_build_config(root / "configs" / "build" / "shipped.yaml").generator
    assert isinstance(blocks, list) and all(isinstance(b, GeneratorConfig) for b in blocks)
    halides, oxides, hybrids = blocks
    assert all(c.split("-")[2] in ("I", "Br", "Cl") for c in halides.compositions)
    assert "a0a0a0 [001]" not in halides.systems and "a0a0a0 [001]" in oxides.systems
    assert all(c.split("-")[0] in MOLECULES for c in hybrids.compositions)
    assert [m for _, m in hybrids.ions()] == [c.split("-")[0] for c in hybrids.compositions]
    assert set(hybrids.systems) == set(halides.systems)


@pytest.mark.parametrize("hexagonal", [True, False])
def test_ter_child_and_generated_2h_cell_of_one_composition_get_one_label(
    tmp_path, hexagonal, capsys
):
    from bxrd.crystal.generator import GeneratorConfig
    from bxrd.crystal.template import Template
    from bxrd.crystal.ter import run_ter
    from bxrd.crystal.tilts import hexagonal_2h
    from bxrd.data.build import _space_group_classes, assemble

    folder = tmp_path / "templates"
    folder.mkdir()
    template = hexagonal_2h("Ba", "Mn", "O")
    template.to(filename=str(folder / "BaMnO3_2H.cif"))
    ter = TERConfig(max_per_template=2, seed=0)
    child = run_ter({"t": Template.from_structure("t", template, "file", "")}, ter).structures[0]
    sub = child.substitution
    a, b, x = sub.a.element, sub.b.element, sub.x.element
    formula = child.structure.composition.reduced_formula
    cfg = BuildConfig(
        output=str(tmp_path / "out"),
        templates=[str(folder)],
        ter=ter,
        generator=GeneratorConfig(compositions=[f"{a}-{b}-{x}"], systems=["2H"]),
        split=SplitConfig(test_fraction=0.0, val_fraction=0.0, vss_val_fraction=0.0),
        hexagonal_perovskites=hexagonal,
        n_jobs=1,
    )
    entries, _ = assemble(cfg, progress=True)
    steps = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("build: ")]
    # each step says when it ends, with its time: TER, then the generator's one 2H cell
    assert any(ln.startswith("build: TER: ") for ln in steps)
    assert any(ln.startswith("build: generator: 1 structures (") for ln in steps)
    _, label = _space_group_classes(list(entries.values()), cfg, [])
    generated = [k for k, e in entries.items() if e.origin == "generator"]
    ter_child = [k for k, e in entries.items() if e.origin == "ter" and e.formula == formula]
    assert generated and ter_child
    expected = "P6_3/mmc (194)" if hexagonal else "other"
    assert {label[k] for k in generated + ter_child + ["BaMnO3_2H"]} == {expected}
