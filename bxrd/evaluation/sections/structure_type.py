"""Structure type: B-VGGNet, the classical models on its stream, search-match; per class."""

from __future__ import annotations

from bxrd.evaluation.stats import per_class_accuracy
from bxrd.evaluation.suite import B_VGGNET, METRIC_HEADER, SEARCH_MATCH, Suite


def run(suite: Suite) -> None:
    """Write ``structure_type`` and ``structure_type_per_class``."""
    cfg = suite.config
    if cfg.structure_type is None:
        return
    seed = cfg.seeds[0]
    fitted = suite.fit(cfg.structure_type, seed)
    test, preds = suite.predictors(fitted, seed)
    suite.tables.write(
        "structure_type",
        f"Structure type ({len(test.class_names)} classes incl. other), real test structures",
        METRIC_HEADER,
        [suite.metric_row(n, p, test, hard) for n, (p, hard) in preds.items()],
    )
    net = per_class_accuracy(preds[B_VGGNET][0], test.y)
    sm = per_class_accuracy(preds[SEARCH_MATCH][0], test.y)
    suite.tables.write(
        "structure_type_per_class",
        "Structure type, accuracy per true class (test patterns)",
        ["structure type", "test patterns", B_VGGNET, SEARCH_MATCH],
        [[test.class_names[c], n, acc, sm[c][1]] for c, (n, acc) in net.items()],
    )
