"""Training-set rows (VSS, SYN, SYN + RSS, VSS + RSS, no TER): space group on real test.

Per row and seed: B-VGGNet, the classical models on its training stream (rows in
``classical_rows``) and search-match, each with 95 % intervals over test structures; then
B-VGGNet's balanced accuracy minus the best classical model's and minus search-match's
(paired bootstrap), and, for rows trained with several seeds, mean ± SD over seeds.
"""

from __future__ import annotations

from bxrd.evaluation.stats import metrics, seed_spread
from bxrd.evaluation.suite import B_VGGNET, METRIC_HEADER, SEARCH_MATCH, Suite


def run(suite: Suite) -> None:
    """Write ``rows``, ``rows_vs_baselines`` and ``rows_seeds``."""
    cfg = suite.config
    table, versus, spread = [], [], []
    for row, (yaml, *extra) in cfg.rows.items():
        seeds = list(cfg.seeds) + (list(cfg.headline_seeds) if row in cfg.headline else [])
        per_seed: dict[str, list[float]] = {"accuracy": [], "balanced_accuracy": [], "ece": []}
        for i, seed in enumerate(seeds):
            fitted = suite.fit(yaml, seed, tuple(extra))
            with_classical = i == 0 and (cfg.classical_rows is None or row in cfg.classical_rows)
            test, preds = suite.predictors(fitted, seed, with_classical)
            point = metrics(preds[B_VGGNET][0], test.y)
            for k in per_seed:
                per_seed[k].append(point[k])
            if i > 0:
                continue
            for name, (probs, hard) in preds.items():
                table.append([row, *suite.metric_row(name, probs, test, hard)])
            net = preds[B_VGGNET][0]
            classical = {n: p for n, (p, _) in preds.items() if n not in (B_VGGNET, SEARCH_MATCH)}
            if classical:
                best = max(
                    classical, key=lambda n: metrics(classical[n], test.y)["balanced_accuracy"]
                )
                vs_best = suite.paired(net, classical[best], test)
            else:
                best, vs_best = None, None
            versus.append(
                [
                    row,
                    fitted.n_stream,
                    best,
                    vs_best,
                    suite.paired(net, preds[SEARCH_MATCH][0], test),
                ]
            )
        spread.append([row, seeds, *(seed_spread(v) for v in per_seed.values())])
    suite.tables.write(
        "rows",
        "Space group on real test structures, by training set (95 % interval over structures)",
        ["training set", *METRIC_HEADER],
        table,
    )
    suite.tables.write(
        "rows_vs_baselines",
        "B-VGGNet balanced accuracy minus the best classical model and minus search-match "
        "(paired bootstrap over test structures); classical models saw the network's "
        "training patterns",
        [
            "training set",
            "training patterns",
            "best classical",
            "B-VGGNet − best classical",
            "B-VGGNet − search-match",
        ],
        versus,
    )
    suite.tables.write(
        "rows_seeds",
        "B-VGGNet over seeds (mean ± SD)",
        ["training set", "seeds", "accuracy", "balanced accuracy", "ECE"],
        spread,
    )
