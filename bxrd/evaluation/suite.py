"""The suite: its YAML, the models it trains (through ``bxrd fit``) and how it scores them.

A suite YAML (``configs/experiments/benchmark.yaml``) names the dataset, the seeds, the
overrides applied to every fit (epochs, epoch length: the suite's size) and, per section, the
experiment YAMLs to train; :class:`Suite` trains each (YAML, seed) once, keeps it on disk
(a rerun reuses finished fits, :func:`~bxrd.evaluation.training.finished_fit`), and scores
every predictor on the same stored test patterns:

* B-VGGNet: the mean predictive of the trained model (seeded MC samples);
* the seven classical models of :mod:`bxrd.models.classical`, fitted on exactly the patterns
  the network saw in training (its recorded stream: same sources, augmentation, class
  balance and count, ``max_epochs × samples_per_epoch``);
* search-match: the class of the nearest clean simulation of a structure the model could
  train on (its data module's training pools; :class:`bxrd.data.search_match.SearchLibrary`).

Scores come with 95 % bootstrap intervals over test structures (:mod:`.stats`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import yaml

from bxrd.data.search_match import SearchLibrary
from bxrd.data.store import load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.evaluation.stats import (
    METRICS,
    PROBABILISTIC,
    Interval,
    one_hot,
    paired_difference,
    score_intervals,
)
from bxrd.evaluation.tables import TableWriter
from bxrd.evaluation.training import Fitted, finished_fit, fit_experiment
from bxrd.models.classical import BASELINES, features, load_baseline_params, make_baseline

#: Sections in run order.
SECTIONS: tuple[str, ...] = ("rows", "methods", "structure_type", "yes_no", "measured")
SEARCH_MATCH = "search-match"
B_VGGNET = "B-VGGNet"


@dataclass
class SuiteConfig:
    """A suite YAML.

    Attributes:
        dataset: built dataset (``bxrd data build``); never built by the suite.
        output: folder of tables, models and ``run.json``.
        seeds: seeds every model is trained with.
        headline_seeds: extra seeds for the headline rows (``headline``), for mean ± SD.
        headline: names of training-set rows (and ``methods`` entries) that are headline.
        bootstrap_draws: bootstrap draws over test structures.
        fit_overrides: ``--key=value`` arguments added to every ``bxrd fit``.
        baselines: hyperparameters of the classical models.
        classical: classical models run (names of :data:`BASELINES`).
        classical_rows: training-set rows that get the classical models (None: all).
        rows: training-set row name → experiment YAML (space group), or a list: the YAML then
            ``--key=value`` overrides of that row only (``--data.exclude_origins=[generator]``).
        methods: method name → experiment YAML (space group), or a list as for ``rows``
            (e.g. ``--model.init_args.num_data=N``).
        contrasts: row name → row it is compared with (``"VSS + RSS": "VSS + RSS, no
            generator"``): the first's accuracy and balanced accuracy minus the second's,
            paired over test structures, per seed and over the seeds both rows ran.
        test_where: score only the test patterns whose provenance matches every
            ``key: value`` (e.g. ``{perovskite: "1"}``: the real perovskite test structures).
        structure_type: experiment YAML of the structure-type task.
        yes_no: experiment YAML of the yes/no task.
        patterns: measured patterns folder (``thinfilm_perovskites/``, ``rruff_minerals/``).
        sections: sections to run.
    """

    dataset: str
    output: str = "runs/experiments/benchmark"
    seeds: list[int] = field(default_factory=lambda: [0])
    headline_seeds: list[int] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)
    bootstrap_draws: int = 1000
    fit_overrides: list[str] = field(default_factory=list)
    baselines: str = "configs/baselines.yaml"
    classical: list[str] = field(default_factory=lambda: list(BASELINES))
    classical_rows: list[str] | None = None
    rows: dict[str, str | list[str]] = field(default_factory=dict)
    methods: dict[str, str | list[str]] = field(default_factory=dict)
    contrasts: dict[str, str] = field(default_factory=dict)
    test_where: dict[str, str] = field(default_factory=dict)
    structure_type: str | None = None
    yes_no: str | None = None
    patterns: str | None = None
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))

    @classmethod
    def load(cls, path: str | Path) -> SuiteConfig:
        """Read a suite YAML; experiment paths are relative to the YAML's folder.

        Raises:
            BxrdInputError: missing file, unknown keys or sections (the message names the file).
        """
        path = Path(path)
        if not path.is_file():
            raise BxrdInputError(f"{path}: no such suite config")
        raw = yaml.safe_load(path.read_text()) or {}
        unknown = sorted(set(raw) - {f.name for f in fields(cls)})
        if unknown:
            raise BxrdInputError(f"{path}: unknown keys {unknown}")
        if "dataset" not in raw:
            raise BxrdInputError(f"{path}: needs 'dataset'")
        config = cls(**raw)
        bad = sorted(set(config.sections) - set(SECTIONS))
        if bad:
            raise BxrdInputError(f"{path}: unknown sections {bad}; choose from {SECTIONS}")
        bad = sorted(set(config.classical) - set(BASELINES))
        if bad:
            raise BxrdInputError(f"{path}: unknown classical models {bad}")

        def here(p: str) -> str:
            q = Path(p)
            return str(q if q.is_absolute() or q.is_file() else path.parent / q)

        def entry(v: str | list[str]) -> list[str]:
            return [here(v)] if isinstance(v, str) else [here(v[0]), *v[1:]]

        bad = sorted({*config.contrasts, *config.contrasts.values()} - set(config.rows))
        if bad:
            raise BxrdInputError(f"{path}: contrasts name rows that are not in rows: {bad}")
        config.rows = {k: entry(v) for k, v in config.rows.items()}
        config.methods = {k: entry(v) for k, v in config.methods.items()}
        config.structure_type = config.structure_type and here(config.structure_type)
        config.yes_no = config.yes_no and here(config.yes_no)
        for p in [v[0] for v in (*config.rows.values(), *config.methods.values())]:
            if not Path(p).is_file():
                raise BxrdInputError(f"{path}: experiment config {p} not found")
        return config


@dataclass
class TestData:
    """Stored test patterns of one task: x (N, L), y (N,), structure id per pattern (N,)."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    class_names: list[str]

    @property
    def n_structures(self) -> int:
        """Distinct test structures."""
        return len(np.unique(self.groups))


class Suite:
    """Runs sections: trains (fits on disk, reused), scores, writes tables and ``run.json``."""

    def __init__(self, config: SuiteConfig, reuse: bool = True) -> None:
        self.config = config
        self.reuse = reuse
        self.out = Path(config.output)
        self.tables = TableWriter(self.out)
        self.params = load_baseline_params(config.baselines)
        self.data = load_pattern_set(config.dataset)
        self._libraries: dict[tuple[str, ...], SearchLibrary] = {}
        self._folder_owner: dict[str, str] = {}  # fit folder name → experiment YAML
        self.record: dict = {
            "config": {f.name: getattr(config, f.name) for f in fields(config)},
            "dataset_sha256": self.data.content_hash(),
            "section_s": {},
            "fit_s": {},
        }

    # -- training --------------------------------------------------------------------------
    def fit(self, config: str, seed: int, extra: tuple[str, ...] = ()) -> Fitted:
        """Train ``config`` with ``seed`` through ``bxrd fit`` (once per suite output folder).

        ``extra``: overrides of this fit only, after the suite's ``fit_overrides``. A fit
        already finished in the output folder with the same arguments, experiment YAMLs and
        dataset is reused (said on stdout) unless the suite was made with ``reuse=False``.
        """
        name = f"{Path(config).stem}{_tag(extra)}_seed{seed}"
        path = str(Path(config).resolve())
        owner = self._folder_owner.setdefault(name, path)
        if owner != path:
            raise BxrdInputError(
                f"experiment YAMLs {owner} and {config} would share the fit folder {name}: "
                "rename one"
            )
        folder = self.out / "models" / name
        overrides = [
            f"--data.dataset={self.config.dataset}",
            "--data.build_config=null",
            *self.config.fit_overrides,
            *extra,
        ]
        fingerprint = {"dataset_sha256": self.record["dataset_sha256"]}
        done = finished_fit(config, folder, seed, overrides, fingerprint)
        if done is not None and (self.reuse or name in self.record["fit_s"]):
            if name not in self.record["fit_s"]:
                print(f"reusing the finished fit {folder} (delete it, or --retrain)", flush=True)
                self.record["fit_s"][name] = "reused"
            return done
        t0 = time.perf_counter()
        fitted = fit_experiment(config, folder, seed, overrides, fingerprint)
        gc.collect()  # the trainer, data module and stream of the fit: one fit in memory
        self.record["fit_s"][name] = round(time.perf_counter() - t0, 1)
        return fitted

    # -- scoring ---------------------------------------------------------------------------
    def test_data(self, fitted: Fitted) -> TestData:
        """The stored test split of the fitted model's task."""
        if fitted.final_refit:
            raise BxrdInputError(
                "a final_refit model trained on the test split; score it with "
                "--data.final_refit=false (the benchmark protocol)"
            )
        prov = self.data.provenance
        rows = np.asarray(prov["split"]) == "test"
        if fitted.eval_clean_only:
            rows &= np.asarray(prov["augmentation"]) == "none"
        for key, value in self.config.test_where.items():
            if key not in prov:
                raise BxrdInputError(f"test_where: no provenance {key!r} in {self.config.dataset}")
            rows &= np.asarray(prov[key]) == str(value)
        if self.config.test_where and not rows.any():
            raise BxrdInputError(
                f"test_where {self.config.test_where} matches no test pattern of "
                f'{self.config.dataset} (provenance values are strings, e.g. perovskite: "1")'
            )
        rows = np.nonzero(rows)[0]
        return TestData(
            self.data.patterns[rows],
            np.asarray(self.data.labels[fitted.task])[rows],
            np.asarray(prov["structure_id"])[rows],
            list(self.data.classes[fitted.task]),
        )

    def network_probs(self, fitted: Fitted, test: TestData) -> np.ndarray:
        """Mean predictive probabilities (N, C) of the trained network (seeded samples)."""
        loader = [torch.as_tensor(test.x[i : i + 256]) for i in range(0, len(test.x), 256)]
        return fitted.model().predict_proba(loader, seed=0).probs.numpy().astype(np.float64)

    def classical_probs(self, fitted: Fitted, test: TestData, seed: int) -> dict[str, np.ndarray]:
        """Each classical model fitted on the network's training stream; probabilities (N, C)."""
        stream_x, stream_y = fitted.stream()
        f_train, f_test = features(stream_x), features(test.x)
        del stream_x
        n_classes = len(test.class_names)
        out = {}
        for name in self.config.classical:
            model = make_baseline(name, seed, self.params.get(name)).fit(f_train, stream_y)
            if hasattr(model, "predict_proba"):
                probs = np.zeros((len(test.x), n_classes))
                probs[:, model.classes_] = model.predict_proba(f_test)
            else:
                probs = one_hot(model.predict(f_test), n_classes)
            out[name] = probs
        return out

    def predictors(
        self, fitted: Fitted, seed: int, classical: bool = True
    ) -> tuple[TestData, dict[str, tuple[np.ndarray, bool]]]:
        """Test data and name → (probabilities, hard) of B-VGGNet, classical, search-match."""
        test = self.test_data(fitted)
        out = {B_VGGNET: (self.network_probs(fitted, test), False)}
        if classical:
            for name, probs in self.classical_probs(fitted, test, seed).items():
                out[name] = (probs, bool(np.all((probs == 0) | (probs == 1))))
        out[SEARCH_MATCH] = (self.search_probs(test, fitted), True)
        return test, out

    def library_for(self, fitted: Fitted) -> SearchLibrary:
        """Return search-match's library: clean patterns of what ``fitted`` could train on."""
        key = fitted.library
        if key not in self._libraries:
            self._libraries[key] = SearchLibrary.from_pattern_set(self.data, structures=key)
        return self._libraries[key]

    def search_probs(self, test: TestData, fitted: Fitted) -> np.ndarray:
        """Search-match as one-hot probabilities (N, C)."""
        pred, _ = self.library_for(fitted).predict(test.x, fitted.task)
        return one_hot(pred, len(test.class_names))

    def intervals(self, probs: np.ndarray, test: TestData) -> dict[str, Interval]:
        """Every metric with its 95 % interval over test structures."""
        return score_intervals(probs, test.y, test.groups, self.config.bootstrap_draws)

    def metric_row(
        self, name: str, probs: np.ndarray, test: TestData, hard: bool = False
    ) -> list[object]:
        """Table cells: name, structures, patterns, then :data:`METRICS` (None where hard)."""
        scores = self.intervals(probs, test)
        cells: list[object] = [name, test.n_structures, len(test.y)]
        cells += [None if hard and m in PROBABILISTIC else scores[m] for m in METRICS]
        return cells

    def paired(self, a: np.ndarray, b: np.ndarray, test: TestData) -> Interval:
        """Balanced accuracy of ``a`` minus ``b`` with a paired bootstrap interval."""
        return paired_difference(
            a, b, test.y, test.groups, "balanced_accuracy", self.config.bootstrap_draws
        )

    def timed(self, section: str, t0: float) -> None:
        """Record a section's wall time."""
        self.record["section_s"][section] = round(time.perf_counter() - t0, 1)

    def write_record(self, wall_s: float) -> None:
        """Write ``run.json`` (config, dataset hash, times, versions)."""
        import platform

        import pytorch_lightning as pl
        import sklearn

        import bxrd

        self.record.update(
            wall_time_s=round(wall_s, 1),
            versions={
                "bxrd": bxrd.__version__,
                "torch": torch.__version__,
                "pytorch_lightning": pl.__version__,
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
        )
        (self.out / "run.json").write_text(json.dumps(self.record, indent=1, default=str))


#: Columns of a metric table (see :meth:`Suite.metric_row`).
METRIC_HEADER: list[str] = [
    "model",
    "test structures",
    "test patterns",
    "accuracy",
    "balanced accuracy",
    "ECE",
    "NLL",
    "Brier",
    "AURC",
]


def _tag(extra: tuple[str, ...]) -> str:
    """Folder-name tag of a fit's own overrides: readable key=value and a short hash.

    The hash keeps two overrides whose readable forms agree (``lr=0.1`` / ``lr=0,1``) apart.
    """
    if not extra:
        return ""
    parts = [e.lstrip("-").partition("=") for e in extra]
    readable = "_".join(f"{k.split('.')[-1]}={v}" for k, _, v in parts)
    readable = re.sub(r"[^A-Za-z0-9_=]+", "", readable)
    digest = hashlib.sha256("\0".join(extra).encode()).hexdigest()[:8]
    return f"_{readable}_{digest}"
