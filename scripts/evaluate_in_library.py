"""The yes/no model: "is this one of the known structure types?" (paper Fig. 4a, b).

On the stored test split: confusion matrix, ROC AUC and average precision of p(yes), with a
figure; then on measured RRUFF mineral patterns (nearly all outside the perovskite library):
the fraction called "no", and the AUROC of p(no) for separating them from the measured
ABX3 perovskite films (Pm-3m and I4/mcm folders; the A3B2X9 and double-perovskite films
count as "no"). Last line: ``test_acc=<a> auc=<a> ap=<a> rruff_no=<f>
measured_auroc=<a>``::

    python scripts/evaluate_in_library.py \
        --checkpoint runs/in_library/version_0/checkpoints/final.ckpt
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from bxrd.data.datamodule import XRDDataModule  # noqa: E402
from bxrd.report.answer import read_inputs  # noqa: E402
from bxrd.uq.checkpoint import load_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "patterns"


def p_yes(model, patterns) -> np.ndarray:  # noqa: ANN001
    """Mean predictive probability of "yes" for gridded patterns (N, L)."""
    return model.predict_proba(patterns).probs[:, model.class_names.index("yes")].numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="data/paper/dataset.h5")
    p.add_argument("--output", default="runs/in_library_eval")
    args = p.parse_args()
    model = load_classifier(args.checkpoint)
    dm = XRDDataModule(args.dataset, build_config=None, task="in_library")
    dm.setup("test")
    y = dm.test_set.labels.numpy()
    score = p_yes(model, dm.test_set.patterns)
    pred = (score >= 0.5).astype(int)
    auc, ap = roc_auc_score(y, score), average_precision_score(y, score)
    print("confusion (rows true no/yes, columns predicted no/yes):")
    print(confusion_matrix(y, pred))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    fpr, tpr, _ = roc_curve(y, score)
    a1.plot(fpr, tpr)
    a1.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, AUC {auc:.3f}")
    prec, rec, _ = precision_recall_curve(y, score)
    a2.plot(rec, prec)
    a2.set(xlabel="recall", ylabel="precision", title=f"PR, AP {ap:.3f}")
    fig.tight_layout()
    fig.savefig(out / "in_library_roc_pr.png", dpi=110)
    rruff_no = measured_auroc = float("nan")
    if SHARED.is_dir():
        films = SHARED / "thinfilm_perovskites"
        groups = {
            "rruff": ([SHARED / "rruff_minerals"], None, 0),
            "abx3 films": ([films / "pm-3m", films / "I4Imcm"], "CuKa", 1),
            "other films": (
                [films / d for d in ("P3m1", "P61mmc", "Pc", "P21a", "Fm-3m")],
                "CuKa",
                0,
            ),
        }
        scores, labels = [], []
        for name, (folders, wavelength, truth) in groups.items():
            read, _ = read_inputs([str(f) for f in folders], model, wavelength, True)
            s = p_yes(model, np.stack([g.intensity for g in read]))
            print(f"{name}: {len(s)} patterns, called 'yes': {(s >= 0.5).mean():.2f}")
            if name == "rruff":
                rruff_no = float((s < 0.5).mean())
            scores.append(s)
            labels.append(np.full(len(s), truth))
        measured_auroc = float(roc_auc_score(np.concatenate(labels), np.concatenate(scores)))
    print(
        f"test_acc={(pred == y).mean():.3f} auc={auc:.3f} ap={ap:.3f} "
        f"rruff_no={rruff_no:.3f} measured_auroc={measured_auroc:.3f}"
    )


if __name__ == "__main__":
    main()
