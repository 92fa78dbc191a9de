"""Measured patterns: the headline space-group model on films, mixtures and minerals.

Films (Oviedo et al. 2019) are scored per folder (space group known from the folder);
precursor mixtures (``xrdml_dara``, no perovskite in any) by the share declined; RRUFF
minerals by their ``labels230`` space group (a group outside the classes counts as
``other``); search-match answers the same patterns from the training library. Films and
mixtures are answered as ``bxrd predict`` answers, with the perovskites the model could
train on as its perovskite library (a named class needs one like the pattern).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bxrd.data.search_match import perovskite_library
from bxrd.errors import BxrdInputError
from bxrd.evaluation.measured_patterns import (
    class_of_number,
    labelled_accuracy,
    read_folder,
    rruff_space_group,
    score_films,
    score_mixtures,
)
from bxrd.evaluation.suite import SEARCH_MATCH, Suite
from bxrd.inference.pipeline import PredictOptions


def run(suite: Suite) -> None:
    """Write ``measured_films``, ``measured_mixtures``, ``measured_rruff`` (if found).

    Each is skipped without its folder under ``patterns``.
    """
    cfg = suite.config
    root = Path(cfg.patterns) if cfg.patterns else None
    yaml, *extra = next(iter(cfg.methods.values()), None) or next(iter(cfg.rows.values()), [None])
    if root is None or not root.is_dir() or yaml is None:
        suite.record["measured"] = f"skipped: no patterns folder {root}"
        return
    fitted = suite.fit(yaml, cfg.seeds[0], tuple(extra))
    model = fitted.model()
    try:
        perovskites = perovskite_library(suite.data, ("train", "pretrain"), fitted.library)
    except BxrdInputError:  # a dataset without the provenance: no such check
        perovskites = None
    library = suite.library_for(fitted)
    films = score_films(model, root / "thinfilm_perovskites", perovskites, library)
    suite.tables.write(
        "measured_films",
        f"Measured thin films, {Path(yaml).stem} (seed {cfg.seeds[0]}); {SEARCH_MATCH} on the "
        "same patterns",
        ["folder", "truth", "in classes", "n", "correct", f"{SEARCH_MATCH} correct",
         "abstained", "mean top p", "predicted"],
        [[r.folder, r.truth, r.in_classes, r.n, r.correct, sum(r.search_right), r.abstained,
          r.mean_top_p, r.predicted] for r in films],
    )  # fmt: skip
    mixtures = score_mixtures(model, root / "xrdml_dara", perovskites)
    if mixtures is not None:
        row, share = mixtures
        suite.tables.write(
            "measured_mixtures",
            "Measured precursor mixtures (no perovskite in any): declined = abstained or "
            "answered other, 95 % interval over samples",
            ["scans", "skipped", "declined", "abstained", "far from training", "predicted",
             "perovskite floor"],
            [[row.n, row.skipped, share, row.abstained, row.far, row.predicted,
              "off" if perovskites is None else PredictOptions.min_perovskite_similarity]],
        )  # fmt: skip
    minerals, skipped = read_folder(model, root / "rruff_minerals", allow_pickle=True)
    if not minerals:
        return
    x = np.stack([p.intensity for p in minerals])
    numbers = [rruff_space_group(p) for p in minerals]
    acc = labelled_accuracy(model, x, numbers)
    truth = [None if n is None else class_of_number(n, model.class_names) for n in numbers]
    keep = np.array([t is not None for t in truth])
    pred, _ = library.predict(x[keep], "space_group")
    names = np.array(suite.data.classes["space_group"])[pred]
    sm = float(np.mean(names == np.array([t for t in truth if t is not None])))
    suite.tables.write(
        "measured_rruff",
        f"RRUFF minerals ({len(skipped)} files skipped): space group, groups outside the "
        "classes count as other",
        [
            "scored",
            "named class",
            "B-VGGNet accuracy",
            "abstained",
            "answered accuracy",
            f"{SEARCH_MATCH} accuracy",
        ],
        [
            [
                acc["scored"],
                acc.get("named", 0),
                acc.get("accuracy"),
                acc.get("abstained"),
                acc.get("answered_accuracy"),
                sm,
            ]
        ],
    )
