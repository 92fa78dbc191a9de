r"""Evaluate a yes/no checkpoint ("is this one of the known structure types?", paper Fig. 4a, b).

On the stored test split: confusion matrix, ROC AUC and average precision of p(yes), and a
figure; then on measured patterns: RRUFF minerals (outside the perovskite library) against
the ABX3 perovskite films (Pm-3m and I4/mcm folders): the fraction of each flagged "no" and
the AUROC of p(no). Last line: ``test_acc=<a> auc=<a> ap=<a> rruff_no=<f>
measured_auroc=<a>``::

    python scripts/evaluate_in_library.py \
        --checkpoint runs/in_library/version_0/checkpoints/final.ckpt
"""

import argparse
from pathlib import Path

import numpy as np

from bxrd.data.datamodule import XRDDataModule
from bxrd.evaluation.measured_patterns import (
    ABX3_FILM_FOLDERS,
    flag_summary,
    outside_scores,
    read_folder,
)
from bxrd.evaluation.yes_no_metrics import yes_no_figure, yes_no_metrics
from bxrd.inference.loading import load_predictor

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ROOT.parent / "shared" / "data" / "patterns"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="data/paper/dataset.h5")
    p.add_argument("--output", default="runs/in_library_eval")
    args = p.parse_args()
    model = load_predictor(args.checkpoint)
    dm = XRDDataModule(args.dataset, build_config=None, task="in_library")
    dm.setup("test")
    y = dm.test_set.labels.numpy()
    p_yes = 1.0 - outside_scores(model, dm.test_set.patterns.numpy())
    m = yes_no_metrics(y, p_yes)
    print("confusion (rows true no/yes, columns predicted no/yes):", m["confusion"])
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    yes_no_figure(y, p_yes, Path(args.checkpoint).stem).savefig(out / "yes_no.png", dpi=110)
    flags = {"flagged_outside": float("nan"), "auroc": float("nan")}
    if PATTERNS.is_dir():
        films = PATTERNS / "thinfilm_perovskites"
        abx3 = [g for f in ABX3_FILM_FOLDERS for g in read_folder(model, films / f, "CuKa")[0]]
        minerals, _ = read_folder(model, PATTERNS / "rruff_minerals", allow_pickle=True)
        flags = flag_summary(
            outside_scores(model, np.stack([g.intensity for g in abx3])),
            outside_scores(model, np.stack([g.intensity for g in minerals])),
        )
        print(f"ABX3 films called 'no': {flags['flagged_inside']:.2f}")
    print(
        f"test_acc={m['accuracy']:.3f} auc={m['auc']:.3f} ap={m['ap']:.3f} "
        f"rruff_no={flags['flagged_outside']:.3f} measured_auroc={flags['auroc']:.3f}"
    )


if __name__ == "__main__":
    main()
