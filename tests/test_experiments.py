"""``bxrd experiments`` end to end on a tiny suite: every table, intervals, seeds, reruns."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from pymatgen.core import Lattice, Structure

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.splits import SplitConfig
from bxrd.data.store import load_pattern_set

ROOT = Path(__file__).resolve().parents[1]
TABLES = [
    "rows",
    "rows_vs_baselines",
    "rows_seeds",
    "baselines_per_class",
    "methods",
    "methods_seeds",
    "structure_type",
    "structure_type_per_class",
    "yes_no",
    "measured_films",
    "measured_mixtures",
    "measured_rruff",
]


def _real_folder(root: Path) -> Path:
    """Cubic perovskites, rock salts and fluorites: kept and non-kept structure types."""
    real = root / "real"
    real.mkdir()
    perovskite = [[0, 0, 0], [0.5] * 3, [0.5, 0.5, 0]]
    for a, b, lat in [
        ("K", "Nb", 4.02),
        ("Sr", "Zr", 4.15),
        ("Ba", "Zr", 4.19),
        ("Sr", "Hf", 4.07),
    ]:
        s = Structure.from_spacegroup("Pm-3m", Lattice.cubic(lat), [a, b, "O"], perovskite)
        s.to(filename=str(real / f"{a}{b}O3.cif"))
    for a, b, lat in [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Mg", "O", 4.21), ("Ca", "O", 4.81)]:
        s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(lat), [a, b], [[0] * 3, [0.5] * 3])
        s.to(filename=str(real / f"{a}{b}.cif"))
    for a, lat in [("Ca", 5.46), ("Sr", 5.80), ("Ba", 6.20)]:
        s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(lat), [a, "F"], [[0] * 3, [0.25] * 3])
        s.to(filename=str(real / f"{a}F2.cif"))
    return real


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("suite")
    cfg = BuildConfig(
        output=str(root / "data"),
        real=str(_real_folder(root)),
        templates=["builtin"],
        ter=TERConfig(max_per_template=3),
        split=SplitConfig(test_fraction=0.3, val_fraction=0.0, vss_val_fraction=0.2),
        n_structure_types=6,
        n_augmented=1,
        n_jobs=1,
    )
    return build_dataset(cfg, progress=False)


@pytest.fixture(scope="module")
def measured(dataset, tmp_path_factory) -> Path:
    """Stand-ins for the shared measured data, from the dataset's own real patterns.

    Pm-3m patterns as two-column ``.xy`` films; non-perovskites as precursor-mixture scans;
    the other space groups as RRUFF-style ``.npy`` dicts on 2θ = 5° + 0.01° i.
    """
    root = tmp_path_factory.mktemp("patterns")
    data = load_pattern_set(dataset)
    sg = np.array(data.classes["space_group"])[data.labels["space_group"]]
    real = np.array(data.provenance["source"]) == "rss"
    films = root / "thinfilm_perovskites" / "pm-3m"
    films.mkdir(parents=True)
    rruff = root / "rruff_minerals"
    rruff.mkdir()
    fine = 5.0 + 0.01 * np.arange(8500)
    for i in np.nonzero(real & (sg == "Pm-3m (221)"))[0][:4]:
        np.savetxt(films / f"film{i}.xy", np.c_[data.two_theta, data.patterns[i]])
    mixtures = root / "xrdml_dara"
    mixtures.mkdir()
    other = np.asarray(data.provenance["perovskite"]).astype(int) == 0
    for i in np.nonzero(real & other)[0][:2]:  # two "samples" of no perovskite, two scans each
        for scan in ("2min", "8min"):
            xy = np.c_[data.two_theta, data.patterns[i]]
            np.savetxt(mixtures / f"precursor_mixture__s{i}--{scan}.xy", xy)
    for i in np.nonzero(real & (sg != "Pm-3m (221)"))[0][:6]:
        y = np.interp(fine, data.two_theta, data.patterns[i], left=0.0, right=0.0)
        number = int(sg[i].split("(")[-1].rstrip(")")) if sg[i] != "other" else 1
        np.save(rruff / f"R{i:06d}.npy", {"features": 1000 * y[None], "labels230": number - 1})
    return root


def _suite(dataset: Path, out: Path, patterns: Path, sections: list[str]) -> Path:
    """A tiny suite YAML over the shipped experiment YAMLs (1 epoch of 128 patterns)."""
    exp = ROOT / "configs" / "experiments"
    suite = {
        "dataset": str(dataset),
        "output": str(out),
        "seeds": [0],
        "headline_seeds": [1],
        "headline": ["SYN + RSS"],
        "bootstrap_draws": 200,
        "fit_overrides": ["--trainer.max_epochs=1", "--data.samples_per_epoch=128"],
        "baselines": str(ROOT / "configs" / "baselines.yaml"),
        "classical": ["naive_bayes", "knn", "decision_tree"],
        "rows": {"SYN + RSS": str(exp / "sg_syn_rss_mc_dropout.yaml")},
        "methods": {"mc_dropout": str(exp / "sg_syn_rss_mc_dropout.yaml")},
        "structure_type": str(exp / "structure_type_mc_dropout.yaml"),
        "yes_no": str(exp / "in_library_laplace.yaml"),
        "patterns": str(patterns),
        "sections": sections,
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def _run(config: Path) -> None:
    cmd = [sys.executable, "-m", "bxrd.evaluation.command", "--config", str(config)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.slow
def test_suite_writes_every_table_with_intervals_and_reruns_identically(
    dataset, measured, tmp_path
):
    sections = ["rows", "methods", "structure_type", "yes_no", "measured"]
    _run(_suite(dataset, tmp_path / "a", measured, sections))
    first = tmp_path / "a"
    for name in TABLES:
        assert len(_rows(first / f"{name}.csv")) >= 2, name
    rows = _rows(first / "rows.csv")
    header = rows[0]
    models = [r[header.index("model")] for r in rows[1:]]
    assert models == ["B-VGGNet", "naive_bayes", "knn", "decision_tree", "search-match"]
    i = header.index("balanced accuracy")
    for r in rows[1:]:
        low, value, high = float(r[i + 1]), float(r[i]), float(r[i + 2])
        assert 0.0 <= low <= value <= high <= 1.0
    # the classical models saw the network's own training stream: 1 epoch x 128 patterns
    assert _rows(first / "rows_vs_baselines.csv")[1][1] == "128"
    assert "(2 seeds)" in _rows(first / "rows_seeds.csv")[1][2]
    mix = _rows(first / "measured_mixtures.csv")
    declined = [float(v) for v in mix[1][2:5]]  # value, low, high over the two samples
    assert mix[1][0] == "4" and 0.0 <= declined[1] <= declined[0] <= declined[2] <= 1.0
    assert mix[1][-1] == "0.5"  # the floor was on, with the suite model's own perovskites
    films = _rows(first / "measured_films.csv")
    n, found = films[0].index("n"), films[0].index("search-match correct")
    assert films[1][0] == "pm-3m" and 0 <= int(films[1][found]) <= int(films[1][n]) == 4
    record = json.loads((first / "run.json").read_text())
    assert list(record["section_s"]) == sections
    assert len(record["dataset_sha256"]) == 64
    assert [r[0] for r in _rows(first / "yes_no.csv")[1:]] == [
        "B-VGGNet",
        "naive_bayes",
        "knn",
        "decision_tree",
        "search-match",
    ]
    # every model came from `bxrd fit`: a final.ckpt per (experiment, seed)
    assert len(list((first / "models").glob("*/checkpoints/final.ckpt"))) == 4
    # seeded end to end: a second run writes the same numbers
    _run(_suite(dataset, tmp_path / "b", measured, sections))
    for name in TABLES:
        assert _rows(tmp_path / "b" / f"{name}.csv") == _rows(first / f"{name}.csv"), name


def test_suite_config_errors_name_the_file(tmp_path):
    from bxrd.errors import BxrdInputError
    from bxrd.evaluation.suite import SuiteConfig

    bad = tmp_path / "suite.yaml"
    bad.write_text("dataset: x.h5\nrowz: {}\n")
    with pytest.raises(BxrdInputError, match=r"suite.yaml: unknown keys \['rowz'\]"):
        SuiteConfig.load(bad)
    bad.write_text("dataset: x.h5\nrows: {VSS: nope.yaml}\n")
    with pytest.raises(BxrdInputError, match="nope.yaml not found"):
        SuiteConfig.load(bad)


def test_test_where_scores_only_matching_test_structures(dataset, tmp_path):
    from types import SimpleNamespace

    from bxrd.errors import BxrdInputError
    from bxrd.evaluation.suite import Suite, SuiteConfig

    fitted = SimpleNamespace(final_refit=False, eval_clean_only=False, task="space_group")
    config = SuiteConfig(dataset=str(dataset), output=str(tmp_path / "out"))
    everything = Suite(config).test_data(fitted)
    config.test_where = {"perovskite": "1"}
    perovskites = Suite(config).test_data(fitted)
    prov = load_pattern_set(dataset).provenance
    flag = dict(zip(prov["structure_id"], prov["perovskite"], strict=True))
    assert 0 < perovskites.n_structures < everything.n_structures
    assert {flag[s] for s in perovskites.groups} == {"1"}
    assert {flag[s] for s in everything.groups} == {"0", "1"}
    config.test_where = {"nonsense": "1"}
    with pytest.raises(BxrdInputError, match="nonsense"):
        Suite(config).test_data(fitted)
    config.test_where = {"perovskite": True}  # YAML true is not the stored "1"
    with pytest.raises(BxrdInputError, match="matches no test pattern"):
        Suite(config).test_data(fitted)
    refit = SimpleNamespace(final_refit=True, eval_clean_only=False, task="space_group")
    with pytest.raises(BxrdInputError, match="final_refit"):
        Suite(config).test_data(refit)


def test_search_match_library_holds_what_the_model_could_train_on(dataset, tmp_path):
    from types import SimpleNamespace

    from bxrd.data.datamodule import XRDDataModule
    from bxrd.evaluation.suite import Suite, SuiteConfig
    from bxrd.evaluation.training import library_structures

    suite = Suite(SuiteConfig(dataset=str(dataset), output=str(tmp_path / "out")))
    prov = load_pattern_set(dataset).provenance
    kind = {
        s: (src, origin, split)
        for s, src, origin, split in zip(
            prov["structure_id"], prov["source"], prov["origin"], prov["split"], strict=True
        )
    }

    def library(**kwargs):
        dm = XRDDataModule(str(dataset), build_config=None, **kwargs)
        fitted = SimpleNamespace(library=library_structures(dm))
        return {kind[s] for s in suite.library_for(fitted).structure_id}

    every = library(train_sources=["rss", "vss"])
    assert {k[0] for k in every} == {"rss", "vss"} and {k[2] for k in every} == {"train"}
    assert {k[0] for k in library(train_sources=["vss"])} == {"vss"}  # virtual only
    assert {k[0] for k in library(train_sources=["rss"])} == {"rss"}
    no_ter = library(train_sources=["rss", "vss"], exclude_origins=["ter"])
    assert "ter" in {k[1] for k in every} and "ter" not in {k[1] for k in no_ter}


def test_fit_folders_keep_overrides_apart():
    from bxrd.evaluation.suite import _tag

    tags = {_tag((o,)) for o in ("--model.init_args.lr=0.1", "--model.init_args.lr=0,1", "--lr=01")}
    assert len(tags) == 3 and _tag(()) == ""


def test_rows_take_per_row_overrides(tmp_path):
    from bxrd.evaluation.suite import SuiteConfig

    exp = ROOT / "configs" / "experiments"
    path = tmp_path / "suite.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "dataset": "x.h5",
                "rows": {
                    "VSS": str(exp / "sg_vss_mc_dropout.yaml"),
                    "VSS, no generator": [
                        str(exp / "sg_vss_mc_dropout.yaml"),
                        "--data.exclude_origins=[generator]",
                    ],
                },
            }
        )
    )
    rows = SuiteConfig.load(path).rows
    assert rows["VSS"] == [str(exp / "sg_vss_mc_dropout.yaml")]
    assert rows["VSS, no generator"][1:] == ["--data.exclude_origins=[generator]"]


def test_config_digest_follows_composed_parts(tmp_path):
    from bxrd.evaluation.training import config_digest

    (tmp_path / "model").mkdir()
    part = tmp_path / "model" / "net.yaml"
    part.write_text("init_args: {lr: 0.001}\n")
    top = tmp_path / "exp.yaml"
    top.write_text("model: model/net.yaml\ndata: {dataset: data/x.h5}\n")
    before = config_digest(top)
    assert config_digest(top) == before
    part.write_text("init_args: {lr: 0.01}\n")  # only the composed part changes
    assert config_digest(top) != before


@pytest.mark.slow
def test_a_rerun_reuses_finished_fits_and_a_changed_fit_retrains(dataset, measured, tmp_path):
    out = tmp_path / "resume"
    config = _suite(dataset, out, measured, ["rows"])
    raw = yaml.safe_load(config.read_text())
    raw.update(headline_seeds=[], classical=["naive_bayes"])
    config.write_text(yaml.safe_dump(raw))
    cmd = [sys.executable, "-m", "bxrd.evaluation.command", "--config", str(config)]

    def run(*extra: str) -> tuple[str, dict, list[list[str]]]:
        done = subprocess.run([*cmd, *extra], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout, json.loads((out / "run.json").read_text()), _rows(out / "rows.csv")

    _, first, rows = run()
    (name,) = first["fit_s"]
    assert isinstance(first["fit_s"][name], float)
    model = out / "models" / name
    assert {"fit.json", "stream.npz"} <= {p.name for p in model.iterdir()}
    stdout, second, again = run()
    assert second["fit_s"][name] == "reused" and "reusing the finished fit" in stdout
    assert again == rows  # the stored fit scores as the fresh one did
    _, forced, _ = run("--retrain")
    assert isinstance(forced["fit_s"][name], float)
    (model / "fit.json").unlink()  # an unfinished fit is trained again
    _, unfinished, _ = run()
    assert isinstance(unfinished["fit_s"][name], float)
    raw["fit_overrides"] = ["--trainer.max_epochs=1", "--data.samples_per_epoch=64"]
    config.write_text(yaml.safe_dump(raw))
    _, changed, _ = run()
    assert isinstance(changed["fit_s"][name], float)
    assert _rows(out / "rows_vs_baselines.csv")[1][1] == "64"


def test_contrasts_compare_rows_per_seed_and_over_seeds(tmp_path):
    from types import SimpleNamespace

    from bxrd.errors import BxrdInputError
    from bxrd.evaluation.sections.rows import _contrast
    from bxrd.evaluation.suite import SuiteConfig, TestData

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    groups = np.repeat(np.arange(30), 2)
    right, wrong = np.eye(3)[y], np.eye(3)[(y + 1) % 3]
    test = TestData(np.zeros((60, 4)), y, groups, ["a", "b", "c"])
    suite = SimpleNamespace(config=SimpleNamespace(bootstrap_draws=100))
    nets = {"with": {0: right, 1: wrong, 2: right}, "without": {0: wrong, 1: wrong}}
    lines = _contrast(suite, "with", "without", nets, {"with": test, "without": test})
    assert [ln[2] for ln in lines] == ["0", "1", "seeds [0, 1]"]  # seed 2: only one row ran it
    assert [ln[3].value for ln in lines] == [1.0, 0.0, 0.5]
    assert [ln[5] for ln in lines][-1] == "1 of 2 (accuracy)"
    other = TestData(test.x, y, groups[::-1], test.class_names)
    with pytest.raises(BxrdInputError, match="other test sets"):
        _contrast(suite, "with", "without", nets, {"with": test, "without": other})
    relabelled = TestData(test.x, (y + 1) % 3, groups, test.class_names)
    with pytest.raises(BxrdInputError, match="other test sets"):
        _contrast(suite, "with", "without", nets, {"with": test, "without": relabelled})
    apart = {"with": {2: right}, "without": {0: wrong}}
    with pytest.raises(BxrdInputError, match="share no trained seed"):
        _contrast(suite, "with", "without", apart, {"with": test, "without": test})
    (single,) = _contrast(suite, "with", "without", {"with": {0: right}, "without": {0: wrong}},
                          {"with": test, "without": test})  # fmt: skip
    assert single[2] == "0"  # one common seed: no repeated "over seeds" line
    bad = tmp_path / "suite.yaml"
    row = str(ROOT / "configs" / "experiments" / "sg_vss_mc_dropout.yaml")
    bad.write_text(yaml.safe_dump({"dataset": "x", "rows": {"A": row}, "contrasts": {"A": "B"}}))
    with pytest.raises(BxrdInputError, match=r"not in rows: \['B'\]"):
        SuiteConfig.load(bad)


def test_a_finished_fit_is_reused_only_when_everything_matches(tmp_path):
    from bxrd.evaluation.training import RECORD, STREAM, _key, finished_fit, fit_argv

    exp = tmp_path / "exp.yaml"
    exp.write_text("model: {init_args: {lr: 0.001}}\n")
    folder = tmp_path / "fit"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "final.ckpt").write_bytes(b"")
    (folder / STREAM).write_bytes(b"")
    key = _key(exp, fit_argv(exp, folder, 0, ["--x=1"]), {"dataset_sha256": "aa"})
    record = {"key": key, "task": "space_group", "final_refit": False,
              "eval_clean_only": False, "n_stream": 4, "library": ["s1", "s2"]}  # fmt: skip
    (folder / RECORD).write_text(json.dumps(record))
    found = finished_fit(exp, folder, 0, ["--x=1"], {"dataset_sha256": "aa"})
    assert found is not None and found.library == ("s1", "s2") and found.n_stream == 4
    assert finished_fit(exp, folder, 1, ["--x=1"], {"dataset_sha256": "aa"}) is None  # seed
    assert finished_fit(exp, folder, 0, ["--x=2"], {"dataset_sha256": "aa"}) is None  # override
    assert finished_fit(exp, folder, 0, ["--x=1"], {"dataset_sha256": "bb"}) is None  # dataset
    exp.write_text("model: {init_args: {lr: 0.01}}\n")
    assert finished_fit(exp, folder, 0, ["--x=1"], {"dataset_sha256": "aa"}) is None  # YAML


def test_two_experiment_yamls_of_one_name_are_refused(dataset, tmp_path):
    from bxrd.errors import BxrdInputError
    from bxrd.evaluation.suite import Suite, SuiteConfig

    suite = Suite(SuiteConfig(dataset=str(dataset), output=str(tmp_path / "out")))
    suite._folder_owner["exp_seed0"] = str((tmp_path / "a" / "exp.yaml").resolve())
    with pytest.raises(BxrdInputError, match="would share the fit folder exp_seed0"):
        suite.fit(str(tmp_path / "b" / "exp.yaml"), 0)
