"""Classical baselines of the paper (scikit-learn), trained and scored on bxrd's splits.

Patterns are max-normalised and down-sampled by ``pool`` (max-pooling in 2θ, so narrow
peaks survive) before fitting; the same features serve every model. Hyperparameters are
plain keyword dictionaries so that YAML can set them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
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

#: Baseline name → (estimator class, default hyperparameters).
BASELINES: dict[str, tuple[type, dict[str, Any]]] = {
    "naive_bayes": (GaussianNB, {}),
    "random_forest": (RandomForestClassifier, {"n_estimators": 200, "n_jobs": -1}),
    "logistic_regression": (LogisticRegression, {"max_iter": 500, "C": 1.0}),
    "svm": (SVC, {"C": 10.0, "kernel": "rbf", "probability": True}),
    "knn": (KNeighborsClassifier, {"n_neighbors": 5}),
    "decision_tree": (DecisionTreeClassifier, {}),
    "mlp": (MLPClassifier, {"hidden_layer_sizes": (256,), "max_iter": 300}),
}


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
    cls, defaults = BASELINES[name]
    kwargs = {**defaults, **(params or {})}
    if "random_state" in cls().get_params():
        kwargs.setdefault("random_state", seed)
    model = cls(**kwargs)
    if name in ("logistic_regression", "svm", "mlp"):
        return make_pipeline(StandardScaler(), model)
    return model
