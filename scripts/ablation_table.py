"""Ablation table: checkpoints on the same real test patterns and films, against a reference.

Each row is compared with the reference row by a paired bootstrap over test structures.
Reads from ``--eval DIR`` what ``scripts/evaluate_test_split.py --save`` and
``scripts/evaluate_measured.py --json`` wrote, named ``ROW_sSEED.stored.npz`` (the stored test
patterns), ``ROW_sSEED.rendered.npz`` (re-rendered with the measurement model) and
``ROW_sSEED.films.json``; a row is every file of one ROW, over its seeds. Prints a Markdown
table: the seeds, accuracy as mean ± SD over seeds, the paired difference from the reference
row (mean over each row's seeds, 95 % bootstrap interval over structures with the trained
networks fixed, :func:`bxrd.evaluation.stats.paired_difference`: read it beside the seed
SDs), the abstained share, and the films: Pm-3m
and I4/mcm films right per seed, in-class abstention, out-of-class films declined (abstained
or answered ``other``; nan in files written before that count), in-class films
flagged far from training, and (means over seeds) selective accuracy of the 60 % most
confident in-class films, their ECE, and the share of uniform noise flagged far::

    python scripts/ablation_table.py --eval runs/gpu_s29/eval --reference honest
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError
from bxrd.evaluation.stats import one_hot, paired_difference, seed_spread

KINDS = ("stored", "rendered")


def load_rows(folder: Path) -> dict[str, dict[str, dict[int, object]]]:
    """ROW → kind → seed → saved answers (npz) or film rows (JSON); other files are named."""
    rows: dict[str, dict[str, dict[int, object]]] = {}
    for path in sorted(folder.iterdir()):
        m = re.fullmatch(r"(.+)_s(\d+)\.(stored|rendered)\.npz|(.+)_s(\d+)\.films\.json", path.name)
        if not m:
            if path.suffix in (".npz", ".json"):
                print(
                    f"{path}: not ROW_sSEED.(stored|rendered).npz or .films.json, left out",
                    file=sys.stderr,
                )
            continue
        row, seed, kind = (m[1], m[2], m[3]) if m[1] else (m[4], m[5], "films")
        value = json.loads(path.read_text()) if kind == "films" else dict(np.load(path))
        rows.setdefault(row, {}).setdefault(kind, {})[int(seed)] = value
    return rows


def by_seed(saved: dict[int, object]) -> list:
    """Return the values of ``saved`` in ascending seed order."""
    return [saved[s] for s in sorted(saved)]


def film_cells(films: list[dict]) -> list[str]:
    """Pm-3m and I4/mcm films right (top answer) per seed, abstention in, declined out, far."""
    cells = []
    for sg in ("Pm-3m", "I4/mcm"):
        folders = [[f for f in s["folders"] if f["truth"].startswith(f"{sg} ")] for s in films]
        right = ", ".join(str(sum(f["correct"] for f in fs)) for fs in folders)
        cells.append(f"{right} / {sum(f['n'] for f in folders[0])}")
    n_in = sum(f["n"] for f in films[0]["folders"] if f["in_classes"])
    far = [sum(f["far"] for f in s["folders"] if f["in_classes"]) for s in films]
    mean = lambda key: f"{np.mean([s['summary'].get(key, np.nan) for s in films]):.2f}"  # noqa: E731
    return cells + [
        seed_spread([s["summary"]["abstain_in_class"] for s in films], count=False),
        seed_spread(
            [s["summary"].get("rejected_out_of_class", np.nan) for s in films], count=False
        ),
        f"{np.mean(far):.1f} / {n_in}",
        mean("selective_accuracy"),
        mean("ece_in_class"),
        mean("noise_far"),
    ]


def stacked(runs: list[dict], n_classes: int) -> np.ndarray:
    """Stack the seeds' answers as one-hot probabilities, shape (S, N, n_classes)."""
    return np.stack([one_hot(s["answer"], n_classes) for s in runs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", required=True, help="folder of the saved answers")
    parser.add_argument("--reference", required=True, help="the row every other is compared to")
    args = parser.parse_args()
    rows = load_rows(Path(args.eval))
    if args.reference not in rows:
        raise BxrdInputError(f"{args.eval}: no files of the reference row {args.reference!r}")
    ref = rows[args.reference]
    head = ["row", "seeds"]
    for kind in KINDS:
        head += [f"{kind}: accuracy", f"Δ vs {args.reference} [95 % over structures]"]
        head += ["abstained"]
    head += ["Pm-3m films right", "I4/mcm films right", "in-class abstained"]
    head += ["outside declined (abstained or `other`)"]
    head += ["in-class far", "selective accuracy (60 %)", "ECE in-class", "noise far"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in [args.reference] + sorted(r for r in rows if r != args.reference):
        row = rows[name]
        cells = [name, ", ".join(str(s) for s in sorted(row.get("films", row.get("stored", {}))))]
        for kind in KINDS:
            saved, base = by_seed(row.get(kind, {})), by_seed(ref.get(kind, {}))
            if not saved:
                cells += ["—"] * 3
                continue
            for s in saved + base:
                same = np.array_equal(s["structure_id"], saved[0]["structure_id"])
                if not same or not np.array_equal(s["truth"], saved[0]["truth"]):
                    raise BxrdInputError(f"{args.eval}: {name} {kind}: other test patterns")
            y = saved[0]["truth"]
            n_classes = int(max(max(s["answer"].max() for s in saved + base), y.max())) + 1
            acc = [float((s["answer"] == y).mean()) for s in saved]
            cells.append(seed_spread(acc, count=False))  # seeds: own column
            if name == args.reference or not base:
                cells.append("—")
            else:
                diff = paired_difference(
                    stacked(saved, n_classes),
                    stacked(base, n_classes),
                    y,
                    saved[0]["structure_id"],
                    metric="accuracy",
                )
                cells.append(f"{diff.value:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]")
            cells.append(f"{np.mean([s['abstain'].mean() for s in saved]):.2f}")
        cells += film_cells(by_seed(row["films"])) if row.get("films") else ["—"] * 8
        print("| " + " | ".join(cells) + " |")
    first = by_seed(ref.get("stored", ref.get("rendered", {})))
    if first:
        print(
            f"\n{len(np.unique(first[0]['structure_id']))} real test structures; Δ: mean over "
            "the row's seeds minus the reference's, paired bootstrap over structures (1,000 "
            "draws, seeds fixed: seed-to-seed spread is in the accuracy columns, not in Δ)."
        )


if __name__ == "__main__":
    main()
