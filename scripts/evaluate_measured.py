"""Run a checkpoint on measured thin-film patterns whose folders name the space group.

Reads ``../shared/data/patterns/thinfilm_perovskites/<label>/`` (Oviedo et al. 2019, Cu Kα),
maps folder names to space groups, and prints per folder: patterns, predictions, mean top
probability, abstentions; then accuracy on folders whose space group is one of the model's
classes (answered and overall) and the fraction of out-of-class patterns the model abstains
on. Last line: ``in_class_acc=<a> answered_acc=<a> abstain_in=<f> abstain_out=<f>``::

    python scripts/evaluate_measured.py [--checkpoint checkpoints/default.ckpt]
"""

import argparse
import collections
from pathlib import Path

from bxrd.report.answer import default_checkpoint, predict_files, read_inputs
from bxrd.uq.checkpoint import load_classifier

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "pm-3m": "Pm-3m (221)",
    "I4Imcm": "I4/mcm (140)",
    "P3m1": "P-3m1 (164)",
    "P61mmc": "P6_3/mmc (194)",
    "Fm-3m": "Fm-3m (225)",
    "Pc": "Pc (7)",
    "P21a": "P2_1/c (14)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument(
        "--patterns", default=str(ROOT.parent / "shared/data/patterns/thinfilm_perovskites")
    )
    args = parser.parse_args()
    model = load_classifier(args.checkpoint)
    rows = []
    for folder, truth in FOLDERS.items():
        path = Path(args.patterns) / folder
        if not path.is_dir():
            continue
        patterns, failed = read_inputs([str(path)], model, "CuKa", background=True)
        answers = predict_files(model, patterns, explain=False) if patterns else []
        counts = collections.Counter(a.label for a in answers)
        n_abstain = sum(a.abstain for a in answers)
        top = sum(max(a.probabilities.values()) for a in answers) / max(len(answers), 1)
        known = truth in model.class_names
        print(
            f"{folder:8s} truth {truth:16s} {'in ' if known else 'out'} n={len(answers):2d} "
            f"skipped={len(failed)} abstain={n_abstain:2d} mean top p={top:.2f} "
            f"predicted {dict(counts.most_common(3))}"
        )
        rows += [(known, a.label == truth, a.abstain) for a in answers]
    inside = [r for r in rows if r[0]]
    outside = [r for r in rows if not r[0]]
    answered = [r for r in inside if not r[2]]
    acc = sum(r[1] for r in inside) / max(len(inside), 1)
    acc_answered = sum(r[1] for r in answered) / max(len(answered), 1)
    ab_in = sum(r[2] for r in inside) / max(len(inside), 1)
    ab_out = sum(r[2] for r in outside) / max(len(outside), 1)
    print(
        f"in_class_acc={acc:.3f} answered_acc={acc_answered:.3f} "
        f"abstain_in={ab_in:.3f} abstain_out={ab_out:.3f}"
    )


if __name__ == "__main__":
    main()
