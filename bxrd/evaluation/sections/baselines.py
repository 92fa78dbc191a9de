"""Baselines on equal data, per class: B-VGGNet, the best classical model and search-match.

For the first headline row (else the first row): how many training patterns the network
and every classical model saw (the network's recorded stream, so the count is the same by
construction), the search-match library size, and accuracy per true space group.
"""

from __future__ import annotations

from bxrd.evaluation.stats import metrics, per_class_accuracy
from bxrd.evaluation.suite import B_VGGNET, SEARCH_MATCH, Suite


def run(suite: Suite) -> None:
    """Write ``baselines_per_class``."""
    cfg = suite.config
    if not cfg.rows:
        return
    row = next((r for r in cfg.rows if r in cfg.headline), next(iter(cfg.rows)))
    seed = cfg.seeds[0]
    yaml, *extra = cfg.rows[row]
    fitted = suite.fit(yaml, seed, tuple(extra))
    test, preds = suite.predictors(fitted, seed)
    classical = {n: p for n, (p, _) in preds.items() if n not in (B_VGGNET, SEARCH_MATCH)}
    best = max(classical, key=lambda n: metrics(classical[n], test.y)["balanced_accuracy"])
    shown = {
        B_VGGNET: preds[B_VGGNET][0],
        best: classical[best],
        SEARCH_MATCH: preds[SEARCH_MATCH][0],
    }
    per = {n: per_class_accuracy(p, test.y) for n, p in shown.items()}
    rows = [
        [test.class_names[c], n, *(per[m][c][1] for m in shown)]
        for c, (n, _) in per[B_VGGNET].items()
    ]
    suite.tables.write(
        "baselines_per_class",
        f"Accuracy per true space group, row {row}: every model trained on the same "
        f"{fitted.n_stream} patterns; search-match library {len(suite.library_for(fitted))} "
        "clean training structures",
        ["space group", "test patterns", *shown],
        rows,
    )
