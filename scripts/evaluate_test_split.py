"""Score any checkpoint on a dataset's real test split, whatever its class list.

``bxrd test`` needs a model built for the dataset's classes; this script compares models
with different class lists on the same test patterns. A predicted class that is not one
of the dataset's classes counts as the dataset's ``other`` (when it has one). Prints the
right answers per true class, the accuracy over all test patterns and structures (majority
of a structure's patterns), over the patterns whose true class is one of the checkpoint's
classes, and the abstention; for a checkpoint of the dataset's own class list, the top-class
ECE, NLL, Brier score and AURC (:mod:`bxrd.evaluation.stats`) with 95 % intervals over
structures; for a checkpoint with conformal sets (:mod:`bxrd.uq.conformal`), their
coverage of the true class with its 95 % interval over structures, their mean size and the
coverage per true class, for the marginal sets and (sets fitted with their classes) the
class-conditional ones.
With ``--realistic DATA_PART.yaml`` the test structures'
sticks are rendered anew, ``--draws`` times each, with that DataModule part's ``augment``
block (e.g. the measurement model of :mod:`bxrd.xrd.realism`) instead of the stored
patterns (clean + the build's augmentation); the draws are seeded per run, not per
structure, so a filtered run renders other draws than the same structures in a full run.
``--where KEY=VALUE`` (repeatable) keeps the test patterns whose provenance matches (e.g.
``perovskite=1``, as a suite's ``test_where``).
Then the balanced accuracy (mean recall over the true classes present) beside the accuracy of
always answering the commonest true class. The last line gives the accuracy with its 95 %
bootstrap interval over test structures;
``--search-match`` adds the same line for search-match on the same test patterns (the class
of the nearest clean pattern of the dataset's ``train`` split: what an honest run of the
recipe trains on). ``--save FILE.npz`` keeps each test pattern's answer and truth (indices
into the dataset's classes), structure id and abstention, for paired comparisons of
checkpoints on the same patterns (``scripts/ablation_table.py``)::

    python scripts/evaluate_test_split.py --checkpoint CKPT [--dataset data/shipped/dataset.h5]
        [--realistic configs/data/default_model_realistic.yaml --draws 3]
        [--where perovskite=1] [--search-match] [--save FILE.npz]
"""

import argparse
from collections import Counter

import numpy as np
import torch

from bxrd.data.search_match import SearchLibrary
from bxrd.data.store import load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.evaluation.realistic import realistic_rows
from bxrd.evaluation.stats import balanced_accuracy, bootstrap, score_intervals
from bxrd.fileio import atomic_path
from bxrd.inference.loading import load_predictor
from bxrd.uq.conformal import class_coverage, truth_in_set


def save_answers(
    path: str, answer: list[int], truth: np.ndarray, sid: np.ndarray, abstain: np.ndarray
) -> None:
    """Write the per-pattern answers, shape (N,) each, to ``path`` (npz, written atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a file object: no ".npz" added
        np.savez(
            f,
            answer=np.asarray(answer),
            truth=np.asarray(truth),
            structure_id=np.asarray(sid).astype(str),
            abstain=np.asarray(abstain, dtype=bool),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--dataset", default="data/shipped/dataset.h5")
    parser.add_argument("--task", default="space_group")
    parser.add_argument("--realistic", default=None)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--search-match", action="store_true")
    parser.add_argument("--save", default=None, metavar="FILE.npz")
    args = parser.parse_args()
    model = load_predictor(args.checkpoint)
    data = load_pattern_set(args.dataset, verify=False)
    if data.patterns.shape[1] != len(model.grid.values):
        raise BxrdInputError(f"{args.dataset}: pattern length differs from {args.checkpoint}'s")
    names = data.classes[args.task]
    keep = np.asarray(data.provenance["split"]) == "test"
    for cond in args.where:
        key, _, value = cond.partition("=")
        if key not in data.provenance:
            raise BxrdInputError(f"--where {cond}: no provenance {key!r} in {args.dataset}")
        keep &= np.asarray(data.provenance[key]).astype(str) == value
    test = np.nonzero(keep)[0]
    if not len(test):
        raise BxrdInputError(f"{args.dataset}: no test pattern matches {args.where}")
    patterns, rows = data.patterns, test
    if args.realistic:
        test, patterns = realistic_rows(data, test, args.realistic, model.grid, args.draws)
        rows = np.arange(len(test))
    sid = np.asarray(data.provenance["structure_id"])[test]
    truth = [names[i] for i in data.labels[args.task][test]]
    model.eval()
    probs, abstain = [], []
    with torch.no_grad():
        for start in range(0, len(test), 256):
            x = torch.from_numpy(patterns[rows[start : start + 256]].astype(np.float32))
            pred = model.predict_proba(x, seed=0)
            probs.append(pred.probs)
            abstain.append(pred.abstain)
    all_probs = torch.cat(probs)
    top = all_probs.argmax(dim=1).tolist()
    answer = [model.class_names[t] if model.class_names[t] in names else "other" for t in top]
    right = np.array([a == t for a, t in zip(answer, truth, strict=True)])
    known = np.array([t in model.class_names for t in truth])
    per = {}
    for s, a in zip(sid, answer, strict=True):
        per.setdefault(s, []).append(a)
    truth_of = dict(zip(sid, truth, strict=True))
    by_structure = [Counter(v).most_common(1)[0][0] == truth_of[s] for s, v in per.items()]
    print(f"classes of the dataset: {names}")
    print(f"classes of the checkpoint: {model.class_names}")
    right_of = Counter(t for t, r in zip(truth, right, strict=True) if r)
    print(
        "right / test patterns per true class: "
        + ", ".join(f"{t} {right_of[t]}/{n}" for t, n in Counter(truth).most_common())
    )
    print(
        f"test patterns={len(test)} structures={len(per)} "
        f"accuracy={right.mean():.3f} structure_accuracy={np.mean(by_structure):.3f} "
        f"accuracy_on_checkpoint_classes={right[known].mean():.3f} (n={known.sum()}) "
        f"abstain={torch.cat(abstain).float().mean():.3f}"
    )
    counts = Counter(truth)
    print(
        f"balanced_accuracy={balanced_accuracy(np.array(answer), np.array(truth)):.3f} "
        f"over {len(counts)} true classes; majority class {counts.most_common(1)[0][0]!r} "
        f"alone: accuracy {counts.most_common(1)[0][1] / len(truth):.3f}"
    )
    if args.save:
        save_answers(
            args.save,
            # an answer outside the dataset's classes (no `other` there) gets len(names): wrong
            [names.index(a) if a in names else len(names) for a in answer],
            data.labels[args.task][test],
            sid,
            torch.cat(abstain).numpy(),
        )
    acc = bootstrap(lambda r: {"accuracy": float(right[r].mean())}, sid)["accuracy"]
    print(f"accuracy={acc.value:.3f} [{acc.low:.3f}, {acc.high:.3f}] over {len(per)} structures")
    same_classes = list(model.class_names) == list(names)  # calibration needs the same list
    if same_classes:
        scores = score_intervals(all_probs.numpy(), data.labels[args.task][test], sid)
        print(
            "calibration over structures: "
            + " ".join(f"{k}={scores[k]}" for k in ("ece", "nll", "brier", "aurc"))
        )
    sets = getattr(model, "conformal", None)
    if same_classes and sets is not None:
        truth_i = torch.as_tensor(data.labels[args.task][test])
        for by_class in (False, True) if sets.labels is not None else (False,):
            member = sets.sets(all_probs, by_class=by_class)
            held_t = truth_in_set(member, truth_i)
            held = held_t.numpy()
            size = member.sum(dim=1).numpy()
            cov = bootstrap(lambda r, h=held: {"c": float(h[r].mean())}, sid)["c"]
            per_class = class_coverage(held_t, truth_i, len(names)).tolist()
            print(
                f"conformal {'per-class' if by_class else 'marginal'} set "
                f"coverage={cov.value:.3f} [{cov.low:.3f}, {cov.high:.3f}] "
                f"(promised {sets.coverage}) mean_set_size={size.mean():.2f} "
                f"single_class={np.mean(size == 1):.3f} over {len(per)} structures; by true "
                "class: "
                + ", ".join(
                    f"{names[c]} {v:.2f}/{int(np.sum(truth_i.numpy() == c))}"
                    for c, v in enumerate(per_class)
                    if v == v  # not nan: the class is in the test split
                )
            )
    if args.search_match:
        library = SearchLibrary.from_pattern_set(data, splits=("train",))
        found, _ = library.predict(patterns[rows], args.task)
        hit = np.asarray(found) == data.labels[args.task][test]
        sm = bootstrap(lambda r: {"accuracy": float(hit[r].mean())}, sid)["accuracy"]
        print(
            f"search-match accuracy={sm.value:.3f} [{sm.low:.3f}, {sm.high:.3f}] "
            f"(library: {len(library.labels[args.task])} clean train-split structures)"
        )


if __name__ == "__main__":
    main()
