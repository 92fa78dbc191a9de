"""Run a checkpoint on measured thin-film patterns whose folders name the space group.

Reads ``../shared/data/patterns/thinfilm_perovskites/<label>/`` (Oviedo et al. 2019, Cu Kα)
and prints per folder: patterns, predictions, mean top probability, abstentions; then
accuracy on folders whose space group is one of the model's classes (overall and among
answered patterns) and the abstention inside and outside the classes. Last line:
``in_class_acc=<a> answered_acc=<a> abstain_in=<f> abstain_out=<f> reject_out=<f>
selective_acc=<a> ece=<e> far_in=<f> noise_far=<f> set_coverage_in=<f> set_size_in=<n>
other_in_set_out=<f> declined_mixtures=<f> [<lo>, <hi>]`` (films outside the classes abstained
or answered ``other``, selective accuracy of the 60 % most confident in-class
films, their ECE, the in-class share flagged far from training, and the share of 100
uniform-noise patterns flagged: issue 19's film aims; then, for a model with conformal
sets, the in-class films whose set (as ``bxrd predict`` gives it, widened for one reflection
family) holds the truth, their mean set size and the films outside
the classes whose set holds ``other``; last, the share of the measured precursor mixtures of
``--mixtures`` (no perovskite in them) declined, with its 95 % interval over samples, NaN when
the folder is absent). ``--search-match DATASET.h5`` adds plain search-match on the same
films: the class of the closest clean pattern among the structures of the dataset's
``--search-splits`` (the model's training data: ``train`` for an honest run, every split for
a final refit), its in-class accuracy and the network's paired gain over it with a 95 %
interval over films. ``--json FILE`` keeps the per-folder rows and the summary
(``scripts/ablation_table.py`` reads them)::

    python scripts/evaluate_measured.py [--checkpoint checkpoints/default.ckpt] [--json FILE]
        [--perovskites shipped|none|LIBRARY.npz]
        [--search-match data/shipped/dataset.h5 [--search-splits train val test refit]]
"""

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bxrd.data.search_match import SearchLibrary
from bxrd.data.store import load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.evaluation.measured_patterns import (
    film_summary,
    noise_far_fraction,
    score_films,
    score_mixtures,
    search_match_gain,
)
from bxrd.fileio import atomic_write_text
from bxrd.inference.loading import load_predictor
from bxrd.inference.pipeline import default_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument(
        "--patterns", default=str(ROOT.parent / "shared/data/patterns/thinfilm_perovskites")
    )
    parser.add_argument("--mixtures", default=str(ROOT.parent / "shared/data/patterns/xrdml_dara"))
    parser.add_argument(
        "--perovskites",
        default="shipped",
        help="library of training perovskites a named class needs a pattern like (bxrd "
        "predict --perovskites); 'none': no such check",
    )
    parser.add_argument("--search-match", metavar="DATASET.h5", help="also score search-match")
    parser.add_argument("--search-splits", nargs="+", default=["train"], metavar="SPLIT")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()
    model = load_predictor(args.checkpoint)
    perovskites = None if args.perovskites == "none" else args.perovskites
    search = None
    if args.search_match:
        try:
            data = load_pattern_set(args.search_match, verify=False)
        except BxrdInputError as exc:
            parser.error(str(exc))
        if list(data.classes["space_group"]) != list(model.class_names):
            parser.error(f"{args.search_match}: its space-group classes are not the model's")
        search = SearchLibrary.from_pattern_set(data, tuple(args.search_splits))
        if not len(search):
            parser.error(f"{args.search_match}: no structure in the splits {args.search_splits}")
        print(f"search-match library: {len(search)} structures of {args.search_splits}")
    rows = score_films(model, args.patterns, perovskites, search)
    mixtures = score_mixtures(model, args.mixtures, perovskites)
    for r in rows + ([mixtures[0]] if mixtures else []):
        print(
            f"{r.folder:8s} truth {r.truth:16s} {'in ' if r.in_classes else 'out'} n={r.n:2d} "
            f"right={r.correct:2d} skipped={r.skipped} abstain={r.abstained:2d} "
            f"rejected={r.rejected:2d} "
            f"one_family={r.one_family} far={r.far:2d} in_set={r.in_set:2d} "
            f"mean top p={r.mean_top_p:.2f} predicted {r.predicted}"
            + (f" search-match right={sum(r.search_right)}" if r.search_right else "")
        )
    s = film_summary(rows)
    s["noise_far"] = noise_far_fraction(model)
    nan = float("nan")
    share = mixtures[1] if mixtures else None
    s["declined_mixtures"] = [share.value, share.low, share.high] if share else [nan] * 3
    gain = search_match_gain(rows)
    s["network_minus_search_match"] = [gain.value, gain.low, gain.high] if gain else [nan] * 3
    if args.json:
        atomic_write_text(
            args.json,
            json.dumps(
                {
                    "folders": [asdict(r) for r in rows],
                    "mixtures": asdict(mixtures[0]) if mixtures else None,
                    "summary": s,
                },
                indent=1,
            ),
        )
    print(
        f"in_class_acc={s['in_class_accuracy']:.3f} answered_acc={s['answered_accuracy']:.3f} "
        f"abstain_in={s['abstain_in_class']:.3f} abstain_out={s['abstain_out_of_class']:.3f} "
        f"reject_out={s['rejected_out_of_class']:.3f} "
        f"selective_acc={s['selective_accuracy']:.3f} ece={s['ece_in_class']:.3f} "
        f"far_in={s['far_in_class']:.3f} noise_far={s['noise_far']:.3f} "
        f"set_coverage_in={s['set_coverage_in_class']:.3f} "
        f"set_size_in={s['mean_set_size_in_class']:.2f} "
        f"other_in_set_out={s['other_in_set_out_of_class']:.3f} "
        "declined_mixtures={:.3f} [{:.3f}, {:.3f}]".format(*s["declined_mixtures"])
    )
    if search is not None:
        print(
            f"search_match_in_class_acc={s['search_match_in_class_accuracy']:.3f} "
            "network_minus_search_match={:.3f} [{:.3f}, {:.3f}]".format(
                *s["network_minus_search_match"]
            )
        )


if __name__ == "__main__":
    main()
