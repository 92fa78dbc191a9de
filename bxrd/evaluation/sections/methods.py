"""The Bayesian methods (MC dropout, VI, Laplace; deterministic + temperature as reference).

Each trained from its experiment YAML on the same training set; accuracy and calibration
on the real test structures with 95 % intervals; mean ± SD over seeds for headline methods.
"""

from __future__ import annotations

from bxrd.evaluation.stats import metrics, seed_spread
from bxrd.evaluation.suite import B_VGGNET, METRIC_HEADER, Suite


def run(suite: Suite) -> None:
    """Write ``methods`` and ``methods_seeds``."""
    cfg = suite.config
    table, spread = [], []
    for method, (yaml, *extra) in cfg.methods.items():
        seeds = list(cfg.seeds) + (list(cfg.headline_seeds) if method in cfg.headline else [])
        values: dict[str, list[float]] = {
            "accuracy": [],
            "balanced_accuracy": [],
            "ece": [],
            "nll": [],
        }
        for i, seed in enumerate(seeds):
            fitted = suite.fit(yaml, seed, tuple(extra))
            test = suite.test_data(fitted)
            probs = suite.network_probs(fitted, test)
            point = metrics(probs, test.y)
            for k in values:
                values[k].append(point[k])
            if i == 0:
                table.append(suite.metric_row(method, probs, test))
        spread.append([method, seeds, *(seed_spread(v) for v in values.values())])
    suite.tables.write(
        "methods",
        f"{B_VGGNET} methods, space group on real test structures (95 % interval over structures)",
        METRIC_HEADER,
        table,
    )
    suite.tables.write(
        "methods_seeds",
        "Methods over seeds (mean ± SD)",
        ["method", "seeds", "accuracy", "balanced accuracy", "ECE", "NLL"],
        spread,
    )
