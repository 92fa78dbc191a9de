"""Classical baselines vs B-VGGNet on the same splits: a table of test (or val) accuracy.

Training patterns are drawn from the data module's own on-the-fly stream (same sources,
augmentation and class balance as B-VGGNet's training), so every model sees the same
training distribution; evaluation uses the stored split. Prints a Markdown table and
writes it with a CSV to ``--output``::

    python scripts/run_baselines.py --dataset data/default_model/dataset.h5 \
        --checkpoint checkpoints/default.ckpt --split val --n_train 4096
"""

import argparse
import csv
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from bxrd.data.datamodule import XRDDataModule
from bxrd.inference.loading import load_predictor
from bxrd.models.classical import BASELINES, features, load_baseline_params, make_baseline


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="data/default_model/dataset.h5")
    p.add_argument("--checkpoint", default=None, help="B-VGGNet checkpoint for the last row")
    p.add_argument("--task", default="space_group")
    p.add_argument("--sources", default="syn,rss,vss")
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--n_train", type=int, default=4096)
    p.add_argument("--models", default=",".join(BASELINES))
    p.add_argument("--baselines", default="configs/baselines.yaml", help="hyperparameters")
    p.add_argument("--output", default="runs/baselines")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    pl.seed_everything(args.seed, verbose=False)
    dm = XRDDataModule(
        args.dataset,
        build_config=None,
        task=args.task,
        train_sources=args.sources.split(","),
        samples_per_epoch=args.n_train,
        batch_size=256,
    )
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    x_train = torch.cat([b["pattern"] for b in batches]).numpy()
    y_train = torch.cat([b["label"] for b in batches]).numpy()
    data = dm.val_set if args.split == "val" else dm.test_set
    x_eval, y_eval = data.patterns.numpy(), data.labels.numpy()
    f_train, f_eval = features(x_train), features(x_eval)
    params = load_baseline_params(args.baselines)
    rows = []
    for name in args.models.split(","):
        t0 = time.perf_counter()
        model = make_baseline(name, args.seed, params.get(name)).fit(f_train, y_train)
        acc = float((model.predict(f_eval) == y_eval).mean())
        rows.append((name, acc, time.perf_counter() - t0))
        print(f"{name:20s} acc={acc:.3f} ({rows[-1][2]:.1f} s)", flush=True)
    if args.checkpoint:
        t0 = time.perf_counter()
        pred = load_predictor(args.checkpoint).predict_proba(data.patterns)
        acc = float((pred.prediction.numpy() == y_eval).mean())
        rows.append((f"B-VGGNet ({Path(args.checkpoint).name})", acc, time.perf_counter() - t0))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"baselines_{args.split}.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("model", "accuracy", "seconds"), *rows])
    table = [f"| model | {args.split} accuracy | seconds |", "|---|---|---|"]
    table += [f"| {n} | {a:.3f} | {s:.1f} |" for n, a, s in rows]
    (out / f"baselines_{args.split}.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    best = max((r for r in rows if not r[0].startswith("B-VGGNet")), key=lambda r: r[1])
    print(
        f"n_train={len(y_train)} n_eval={len(y_eval)} best_classical={best[0]}:{best[1]:.3f}"
        + (f" bvggnet={rows[-1][1]:.3f}" if args.checkpoint else "")
    )


if __name__ == "__main__":
    main()
