from pathlib import Path

import numpy as np
import pytest

from bxrd.models.classical import BASELINES, features, load_baseline_params, make_baseline


def test_features_keep_narrow_peaks():
    x = np.zeros((2, 100))
    x[0, 42] = 5.0
    x[1, 7] = 1.0
    f = features(x, pool=5)
    assert f.shape == (2, 20) and f[0, 8] == 1.0 and f[1, 1] == 1.0


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_learns_separable_peaks(name):
    rng = np.random.default_rng(0)
    x = rng.random((300, 40)) * 0.1
    y = np.repeat([0, 1, 2], 100)
    x[np.arange(300), 5 + 10 * y] += 1.0
    params = {"n_estimators": 20} if name == "random_forest" else {}
    model = make_baseline(name, params=params).fit(x[::2], y[::2])
    assert (model.predict(x[1::2]) == y[1::2]).mean() > 0.9


def test_unknown_baseline():
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("xgboost")


def test_baseline_params_come_from_yaml(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("knn: {n_neighbors: 3}\nsvm: {C: 2.0}\n")
    params = load_baseline_params(path)
    assert make_baseline("knn", params=params["knn"]).get_params()["n_neighbors"] == 3
    assert make_baseline("svm", params=params["svm"]).get_params()["svc__C"] == 2.0
    path.write_text("xgboost: {}\n")
    with pytest.raises(ValueError, match="unknown baselines"):
        load_baseline_params(path)


def test_shipped_baseline_config_names_all_seven():
    root = Path(__file__).resolve().parents[1]
    assert set(load_baseline_params(root / "configs" / "baselines.yaml")) == set(BASELINES)
