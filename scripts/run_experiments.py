"""The paper's space-group experiments on one dataset: training-set rows and the RSS sweep.

* Table 1 (paper Fig. 3a and 3c): rows = training sets (VSS, SYN, SYN + RSS, VSS + RSS,
  no TER), columns = the seven classical models and B-VGGNet (MC dropout), accuracy on the
  stored real-structure test split.
* Table 2 (paper Fig. 3b): B-VGGNet accuracy against the share of RSS used in synthesis.

Every model of a row sees patterns drawn from the same on-the-fly stream (same sources,
augmentation, class balance, seed). Writes CSV, Markdown and PNG files and ``run.json``
(seed, dataset hash, versions, wall time) to ``--output``::

    python scripts/run_experiments.py --size small     # data/paper, minutes on 2 cores
"""

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402

import bxrd  # noqa: E402
from bxrd.data.datamodule import XRDDataModule  # noqa: E402
from bxrd.models.classical import BASELINES, features, make_baseline  # noqa: E402
from bxrd.models.vgg1d import VGG1DConfig  # noqa: E402
from bxrd.uq.mc_dropout import MCDropoutClassifier  # noqa: E402

ROWS = {
    "VSS": {"train_sources": ["vss"]},
    "SYN": {"train_sources": ["syn"]},
    "SYN + RSS": {"train_sources": ["syn", "rss"]},
    "VSS + RSS": {"train_sources": ["vss", "rss"]},
    "no TER (templates only)": {"train_sources": ["vss", "rss"], "with_ter": False},
}
SIZES = {
    "tiny": {"samples": 256, "epochs": 1, "n_train": 512, "sweep": (0.3, 0.7)},
    "small": {"samples": 2048, "epochs": 4, "n_train": 2048, "sweep": (0.1, 0.3, 0.5, 0.7, 0.9)},
    "full": {"samples": 8192, "epochs": 15, "n_train": 8192, "sweep": (0.1, 0.3, 0.5, 0.7, 0.9)},
}


def module(dataset: str, seed: int, samples: int, **kwargs: object) -> XRDDataModule:
    """Make a data module on ``dataset`` (never builds) with one row's training sources."""
    dm = XRDDataModule(dataset, build_config=None, samples_per_epoch=samples, seed=seed, **kwargs)  # type: ignore[arg-type]
    dm.setup("fit")
    return dm


def bvggnet_accuracy(dm: XRDDataModule, epochs: int, seed: int) -> float:
    """Train MC-dropout B-VGGNet on the module's stream; accuracy on its test split."""
    pl.seed_everything(seed, workers=True, verbose=False)
    model = MCDropoutClassifier(
        dm.n_classes,
        dm.in_length,
        backbone=VGG1DConfig(),
        class_names=dm.class_names,
        grid=dm.grid,
        num_samples=20,
    )
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(model, dm.train_dataloader())
    pred = model.predict_proba(dm.test_set.patterns)
    return float((pred.prediction == dm.test_set.labels).float().mean())


def classical_accuracies(dm: XRDDataModule, n_train: int, seed: int) -> dict[str, float]:
    """Score the seven baselines trained on ``n_train`` patterns of the same stream."""
    torch.manual_seed(seed)
    batches, total = [], 0
    while total < n_train:
        for b in dm.train_dataloader():
            batches.append(b)
            total += len(b["label"])
            if total >= n_train:
                break
    x = features(torch.cat([b["pattern"] for b in batches]).numpy())
    y = torch.cat([b["label"] for b in batches]).numpy()
    xt, yt = features(dm.test_set.patterns.numpy()), dm.test_set.labels.numpy()
    return {
        n: float((make_baseline(n, seed).fit(x, y).predict(xt) == yt).mean()) for n in BASELINES
    }


def write_table(out: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    """CSV and Markdown of one table."""
    with open(out / f"{name}.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    fmt = [f"{v:.3f}" if isinstance(v, float) else str(v) for row in rows for v in row]
    width = len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(fmt[i : i + width]) + " |" for i in range(0, len(fmt), width)]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="data/paper/dataset.h5")
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    p.add_argument("--output", default="runs/experiments")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    size, out = SIZES[args.size], Path(args.output) / args.size
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, bvgg = [], {}
    for row, kwargs in ROWS.items():
        dm = module(args.dataset, args.seed, size["samples"], **kwargs)
        acc = classical_accuracies(dm, size["n_train"], args.seed)
        bvgg[row] = bvggnet_accuracy(dm, size["epochs"], args.seed)
        best = max(acc.values())
        rows.append([row, *acc.values(), bvgg[row], bvgg[row] - best])
        print(f"{row}: {time.perf_counter() - t0:.0f} s", flush=True)
    write_table(
        out,
        "space_group_rows",
        ["training set", *BASELINES, "B-VGGNet", "B-VGGNet - best classical"],
        rows,
    )
    sweep = []
    for frac in size["sweep"]:
        dm = module(
            args.dataset,
            args.seed,
            size["samples"],
            train_sources=["syn", "rss"],
            rss_synthesis_fraction=frac,
        )
        sweep.append([frac, bvggnet_accuracy(dm, size["epochs"], args.seed)])
    write_table(
        out, "rss_fraction_sweep", ["RSS fraction in synthesis", "B-VGGNet accuracy"], sweep
    )
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = [r[0] for r in rows]
    ax1.barh(names, [r[-2] for r in rows], label="B-VGGNet")
    ax1.barh(names, [max(r[1:-2]) for r in rows], alpha=0.5, label="best classical")
    ax1.set(xlabel="accuracy on RSS test", xlim=(0, 1))
    ax1.legend()
    ax2.plot([s[0] for s in sweep], [s[1] for s in sweep], "o-")
    ax2.set(xlabel="RSS fraction used in synthesis", ylabel="accuracy on RSS test", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out / "space_group.png", dpi=110)
    record = {
        "seed": args.seed,
        "size": args.size,
        "dataset": args.dataset,
        "dataset_sha256": dm.data.content_hash(),
        "n_test": len(dm.test_set),
        "classes": dm.class_names,
        "wall_time_s": time.perf_counter() - t0,
        "versions": {
            "bxrd": bxrd.__version__,
            "torch": torch.__version__,
            "pytorch_lightning": pl.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    (out / "run.json").write_text(json.dumps(record, indent=1))
    print(f"wall_time_s={record['wall_time_s']:.0f} output={out}")


if __name__ == "__main__":
    main()
