"""The experiment suite end to end at its tiny size: every table, figure and record, twice."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.splits import SplitConfig
from bxrd.data.store import load_pattern_set
from bxrd.models.classical import BASELINES

ROOT = Path(__file__).resolve().parents[1]
TABLES = [
    "space_group_rows",
    "rss_fraction_sweep",
    "methods",
    "structure_type",
    "structure_type_per_class",
    "yes_no",
    "measured_films",
    "measured_rruff",
    "measured_outside",
    "measured_distances",
]
FIGURES = [
    "space_group_rows",
    "rss_fraction_sweep",
    "structure_type_confusion",
    "yes_no",
    "measured_distances",
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

    Pm-3m patterns as two-column ``.xy`` films; the other space groups as RRUFF-style ``.npy``
    dicts on 2θ = 5° + 0.01° i.
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
    for i in np.nonzero(real & (sg != "Pm-3m (221)"))[0][:6]:
        y = np.interp(fine, data.two_theta, data.patterns[i], left=0.0, right=0.0)
        number = int(sg[i].split("(")[-1].rstrip(")")) if sg[i] != "other" else 1
        np.save(rruff / f"R{i:06d}.npy", {"features": 1000 * y[None], "labels230": number - 1})
    return root


def _run(dataset: Path, out: Path, patterns: Path, *sections: str) -> Path:
    cmd = [sys.executable, str(ROOT / "scripts" / "run_experiments.py"), "--size", "tiny"]
    cmd += ["--dataset", str(dataset), "--output", str(out), "--patterns", str(patterns)]
    cmd += ["--sections", *sections] if sections else []
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "tiny"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.slow
def test_suite_writes_every_table_and_reruns_identically(dataset, measured, tmp_path):
    first = _run(dataset, tmp_path / "a", measured)
    for name in TABLES:
        rows = _rows(first / f"{name}.csv")
        assert len(rows) >= 2 and (first / f"{name}.md").read_text().startswith("## ")
    for name in FIGURES:
        assert (first / f"{name}.png").stat().st_size > 10_000
    assert (first / "report" / "index.html").is_file()
    # accuracies are fractions; the last column is B-VGGNet minus the best classical model
    for row in _rows(first / "space_group_rows.csv")[1:]:
        values = [float(v) for v in row[1:]]
        assert all(0.0 <= v <= 1.0 for v in values[:-1])
        assert values[-1] == pytest.approx(values[-2] - max(values[:-2]), abs=1e-9)
    record = json.loads((first / "run.json").read_text())
    assert list(record["section_s"]) == [
        "space_group_rows",
        "rss_fraction_sweep",
        "methods",
        "structure_type",
        "yes_no",
        "measured",
    ]
    assert record["measured"] == "4 ABX3 films, 6 RRUFF minerals"
    assert len(record["dataset_sha256"]) == 64
    assert {"torch", "pytorch_lightning", "sklearn", "bxrd"} <= set(record["versions"])
    summary = (first / "summary.md").read_text()
    assert all(f"## {t}" in summary for t in ["Space group", "Yes/no", "Structure type"])
    # the yes/no table scores B-VGGNet and every classical model
    assert [r[0] for r in _rows(first / "yes_no.csv")[1:]] == ["B-VGGNet", *BASELINES]
    assert _rows(first / "measured_rruff.csv")[1][:2] == ["6", "6"]  # all named classes
    films = _rows(first / "measured_films.csv")
    assert [r[:4] for r in films[1:]] == [["pm-3m", "Pm-3m (221)", "True", "4"]]
    # seeded end to end: a second run writes the same numbers
    second = _run(dataset, tmp_path / "b", measured)
    for name in TABLES:
        assert _rows(second / f"{name}.csv") == _rows(first / f"{name}.csv"), name
    # a partial rerun replaces its tables, keeps the others and reloads earlier models
    kept = (first / "space_group_rows.csv").stat().st_mtime_ns
    _run(dataset, tmp_path / "a", tmp_path / "none", "measured")
    assert (first / "space_group_rows.csv").stat().st_mtime_ns == kept
    record = json.loads((first / "run.json").read_text())
    assert record["sections_run"] == ["measured"] and record["measured"].startswith("skipped")
    assert len(record["section_s"]) == 6 and summary == (first / "summary.md").read_text()
