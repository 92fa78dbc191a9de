"""Yes/no: is the pattern a perovskite of a kept structure type? AUC with intervals.

Negatives are non-perovskite ABX3 structures, minerals and binary compounds of the real
side. Scores: p(yes) of B-VGGNet and of each classical model; search-match answers with the
label of its nearest library structure (its AUC uses the similarity, signed by that label).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from bxrd.evaluation.stats import bootstrap
from bxrd.evaluation.suite import B_VGGNET, SEARCH_MATCH, Suite
from bxrd.evaluation.yes_no_metrics import yes_no_figure, yes_no_metrics


def run(suite: Suite) -> None:
    """Write ``yes_no`` and ``yes_no.png``."""
    cfg = suite.config
    if cfg.yes_no is None:
        return
    seed = cfg.seeds[0]
    fitted = suite.fit(cfg.yes_no, seed)
    test, preds = suite.predictors(fitted, seed)
    yes = test.class_names.index("yes")
    y = (test.y == yes).astype(int)
    library = suite.library_for(fitted)
    idx, sim = library.search(test.x, 1)
    library_yes = library.labels["in_library"][idx[:, 0]] == yes
    scores = {n: p[:, yes] for n, (p, _) in preds.items()}
    scores[SEARCH_MATCH] = np.where(library_yes, sim[:, 0], -sim[:, 0])
    thresholds = {n: 0.5 for n in scores} | {SEARCH_MATCH: 0.0}
    rows = []
    for name, score in scores.items():

        def numbers(r: np.ndarray, score: np.ndarray = score, name: str = name) -> dict:
            pred = (score[r] >= thresholds[name]).astype(int)
            two = len(np.unique(y[r])) == 2
            auc = roc_auc_score(y[r], score[r]) if two else np.nan
            return {"accuracy": float((pred == y[r]).mean()), "auc": float(auc)}

        iv = bootstrap(numbers, test.groups, cfg.bootstrap_draws)
        m = yes_no_metrics(y, score, thresholds[name])
        (tn, fp), (fn, tp) = m["confusion"]
        rows.append([name, test.n_structures, iv["accuracy"], iv["auc"], m["ap"], tn, fp, fn, tp])
    suite.tables.write(
        "yes_no",
        f"Yes/no (perovskite of a kept type?), real test: {int(y.sum())} yes / "
        f"{int((y == 0).sum())} no patterns",
        ["model", "test structures", "accuracy", "AUC", "AP", "TN", "FP", "FN", "TP"],
        rows,
    )
    fig = yes_no_figure(y, scores[B_VGGNET], B_VGGNET)
    fig.savefig(suite.out / "yes_no.png", dpi=110)
