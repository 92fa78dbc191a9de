"""Training-set rows (VSS, SYN, SYN + RSS, VSS + RSS, no TER): space group on real test.

Per row and seed: B-VGGNet, the classical models on its training stream (rows in
``classical_rows``) and search-match, each with 95 % intervals over test structures; then
B-VGGNet's balanced accuracy minus the best classical model's and minus search-match's
(paired bootstrap), and, for rows trained with several seeds, mean ± SD over seeds. The
suite's ``contrasts`` compare two rows' B-VGGNets on the same test structures, per seed and
over their common seeds (:func:`~bxrd.evaluation.stats.paired_difference` on a seed stack).
"""

from __future__ import annotations

import numpy as np

from bxrd.errors import BxrdInputError
from bxrd.evaluation.stats import metrics, paired_difference, seed_spread
from bxrd.evaluation.suite import B_VGGNET, METRIC_HEADER, SEARCH_MATCH, Suite, TestData


def run(suite: Suite) -> None:
    """Write ``rows``, ``rows_vs_baselines``, ``rows_seeds`` and ``rows_contrasts``."""
    cfg = suite.config
    table, versus, spread = [], [], []
    nets: dict[str, dict[int, np.ndarray]] = {}  # row → seed → B-VGGNet probabilities
    tests: dict[str, TestData] = {}
    for row, (yaml, *extra) in cfg.rows.items():
        seeds = list(cfg.seeds) + (list(cfg.headline_seeds) if row in cfg.headline else [])
        per_seed: dict[str, list[float]] = {"accuracy": [], "balanced_accuracy": [], "ece": []}
        for i, seed in enumerate(seeds):
            fitted = suite.fit(yaml, seed, tuple(extra))
            with_classical = i == 0 and (cfg.classical_rows is None or row in cfg.classical_rows)
            test, preds = suite.predictors(fitted, seed, with_classical)
            nets.setdefault(row, {})[seed] = preds[B_VGGNET][0]
            tests[row] = test
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
    if cfg.contrasts:
        lines = [ln for a, b in cfg.contrasts.items() for ln in _contrast(suite, a, b, nets, tests)]
        suite.tables.write(
            "rows_contrasts",
            "B-VGGNet of one row minus another's, paired over the same test structures (95 % "
            "bootstrap interval over structures); 'seeds ...' averages the difference over "
            "the seeds both rows ran",
            ["row", "minus row", "seeds", "Δ accuracy", "Δ balanced accuracy", "row better"],
            lines,
        )


def _contrast(
    suite: Suite,
    a: str,
    b: str,
    nets: dict[str, dict[int, np.ndarray]],
    tests: dict[str, TestData],
) -> list[list[object]]:
    """Table lines of row ``a`` minus row ``b``: one per common seed, then all of them.

    Raises:
        BxrdInputError: the rows share no seed, or were scored on other test patterns.
    """
    seeds = sorted(set(nets.get(a, {})) & set(nets.get(b, {})))
    if not seeds:
        raise BxrdInputError(f"contrast {a!r} − {b!r}: the rows share no trained seed")
    test, other = tests[a], tests[b]
    same = np.array_equal(test.groups, other.groups) and np.array_equal(test.y, other.y)
    if not same or test.class_names != other.class_names:
        raise BxrdInputError(f"contrast {a!r} − {b!r}: the rows were scored on other test sets")
    draws = suite.config.bootstrap_draws
    lines = []
    pooled = [(f"seeds {seeds}", seeds)] if len(seeds) > 1 else []
    for label, chosen in [*((str(s), [s]) for s in seeds), *pooled]:
        pa = np.stack([nets[a][s] for s in chosen])
        pb = np.stack([nets[b][s] for s in chosen])
        acc = paired_difference(pa, pb, test.y, test.groups, "accuracy", draws)
        bal = paired_difference(pa, pb, test.y, test.groups, "balanced_accuracy", draws)
        better = sum(
            metrics(nets[a][s], test.y)["accuracy"] > metrics(nets[b][s], test.y)["accuracy"]
            for s in chosen
        )
        lines.append([a, b, label, acc, bal, f"{better} of {len(chosen)} (accuracy)"])
    return lines
