"""Classical baselines of the paper (scikit-learn), trained and scored on bxrd's splits.

Patterns are max-normalised and down-sampled by ``pool`` (max-pooling in 2θ, so narrow
peaks survive) before fitting; the same features serve every model. Hyperparameters come
from a YAML file (``configs/baselines.yaml``: baseline name → keyword arguments); a baseline
missing from it runs with scikit-learn's defaults.

Equal data: ``bxrd experiments`` (:mod:`bxrd.evaluation.suite`) fits every baseline on the
patterns B-VGGNet saw in its own training run, recorded batch by batch by
:class:`bxrd.evaluation.training.StreamRecorder` (same stream, same count).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

#: Baseline name → estimator class.
BASELINES: dict[str, type] = {
    "naive_bayes": GaussianNB,
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
    "svm": SVC,
    "knn": KNeighborsClassifier,
    "decision_tree": DecisionTreeClassifier,
    "mlp": MLPClassifier,
}
#: Baselines fitted on standardised features.
SCALED = ("logistic_regression", "svm", "mlp")


def load_baseline_params(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read baseline hyperparameters (name → keyword arguments) from a YAML file.

    Raises:
        ValueError: the file names a baseline that does not exist, or is not a mapping.
    """
    params = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a mapping of baseline name to keyword arguments")
    unknown = sorted(set(params) - set(BASELINES))
    if unknown:
        raise ValueError(f"{path}: unknown baselines {unknown}; choose from {sorted(BASELINES)}")
    return {name: dict(kwargs or {}) for name, kwargs in params.items()}


def features(patterns: np.ndarray, pool: int = 5) -> np.ndarray:
    """Max-normalise and max-pool patterns (N, L) by ``pool`` points → (N, L // pool)."""
    x = patterns / np.clip(patterns.max(axis=1, keepdims=True), 1e-12, None)
    n = x.shape[1] // pool * pool
    return x[:, :n].reshape(len(x), -1, pool).max(axis=2)


def make_baseline(
    name: str, seed: int = 0, params: Mapping[str, Any] | None = None
) -> ClassifierMixin:
    """Make a fresh estimator (scaled input for the models that need it).

    Raises:
        ValueError: unknown baseline name.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {sorted(BASELINES)}")
    cls = BASELINES[name]
    kwargs = dict(params or {})
    if "random_state" in cls().get_params():
        kwargs.setdefault("random_state", seed)
    model = cls(**kwargs)
    if name in SCALED:
        return make_pipeline(StandardScaler(), model)
    return model
