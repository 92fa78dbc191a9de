"""What withholding a named class costs and gains: honest checkpoints on the real structures.

``bxrd predict`` withholds a named class (the answer abstains) when the pattern's best cosine
similarity to the clean patterns of the perovskites the model learned from is below a floor
(``--min_perovskite_similarity``). For each checkpoint (honest runs: ``--data.final_refit
false``) and each floor, on the stored patterns of the validation and test structures, this
prints the named answers (not ``other``, not abstained), how many fall below the floor and how
many of those were right, and the accuracy of the named answers before and after and its
gain (95 % intervals over structures, the gain's paired). The library is the dataset's
``train`` perovskites, what such a run learned from. The floor is chosen on validation; test
reports it::

    PYTHONPATH=. python scripts/perovskite_match.py CKPT [CKPT ...]
        [--dataset data/shipped/dataset.h5] [--floors 0.4 0.5 0.6]
        [--realistic configs/data/default_model_realistic.yaml --draws 3]

``--realistic`` scores, instead of the stored patterns, each structure re-rendered ``--draws``
times with that measurement model (texture, secondary phases, counting noise...), as
``scripts/evaluate_test_split.py --realistic`` does.
"""

import argparse

import numpy as np
import torch

from bxrd.data.class_names import CLAIM_NO_PEROVSKITE
from bxrd.data.search_match import perovskite_library
from bxrd.data.store import load_pattern_set
from bxrd.evaluation.realistic import realistic_rows
from bxrd.evaluation.stats import bootstrap
from bxrd.inference.answer import perovskite_match
from bxrd.inference.loading import load_predictor
from bxrd.xrd.grid import TwoThetaGrid


def named_accuracy(
    right: np.ndarray, named: np.ndarray, kept: np.ndarray, groups: np.ndarray
) -> dict:
    """Return the named answers' accuracy before and after the floor, and the gain.

    95 % intervals over ``groups`` (structures); the gain's is paired.
    """

    def score(r: np.ndarray) -> dict[str, float]:
        before, after = float(right[r][named[r]].mean()), float(right[r][kept[r]].mean())
        return {"before": before, "after": after, "gain": after - before}

    return bootstrap(score, groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--dataset", default="data/shipped/dataset.h5")
    parser.add_argument("--floors", nargs="+", type=float, default=[0.4, 0.5, 0.6])
    parser.add_argument("--realistic", default=None, metavar="DATA_YAML")
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args()
    data = load_pattern_set(args.dataset, verify=False)
    library = perovskite_library(data, ["train"])
    split, sid = np.asarray(data.provenance["split"]), np.asarray(data.provenance["structure_id"])
    truth, names = data.labels["space_group"], list(data.classes["space_group"])
    print(f"library: {len(library)} train-split perovskites of {args.dataset}")
    for part in ("val", "test"):
        rows = np.nonzero(split == part)[0]
        x = data.patterns[rows]
        if args.realistic:
            grid = TwoThetaGrid.from_values(data.two_theta)
            rows, x = realistic_rows(data, rows, args.realistic, grid, args.draws)
        best = library.search(x, 1)[1][:, 0]
        for ckpt in args.checkpoints:
            model = load_predictor(ckpt)
            if list(model.class_names) != names:
                raise SystemExit(f"{ckpt}: classes differ from {args.dataset}'s")
            with torch.no_grad():
                pred = model.predict_proba(torch.from_numpy(x.astype(np.float32)), seed=0)
            answer = pred.probs.argmax(dim=1).numpy()
            label = np.array(names)[answer]
            named = ~np.isin(label, list(CLAIM_NO_PEROVSKITE)) & ~pred.abstain.numpy()
            right = answer == truth[rows]
            for floor in args.floors:
                held = [
                    perovskite_match(float(b), floor, t)["withheld"]
                    for b, t in zip(best, label, strict=True)
                ]
                kept = named & ~np.array(held)
                acc = named_accuracy(right, named, kept, sid[rows])
                below = named & ~kept
                print(
                    f"{part} {ckpt} floor={floor}: named={named.sum()} below={int(below.sum())} "
                    f"right_below={int((below & right).sum())} "
                    f"named_accuracy={acc['before']} -> {acc['after']} gain={acc['gain']} "
                    f"({len(set(sid[rows]))} structures)"
                )
            low = best[named & right]
            if len(low):
                print(f"{part} {ckpt}: lowest similarity of a right named answer {low.min():.3f}")


if __name__ == "__main__":
    main()
