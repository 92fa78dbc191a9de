r"""Store every reflection (≥ 1 % of the strongest) of each class's reference in a checkpoint.

    python scripts/refresh_reference_reflections.py --checkpoint checkpoints/default.ckpt \\
        --dataset data/default_model/dataset.h5 [--output new.ckpt]

Checkpoints written before ``class_reflections`` kept every reflection hold only the 15
strongest per class, so windows of weaker reflections are labelled "no reflection". The
dataset must be the one the model was trained on (same classes; the references are its first
real training structure per class). Prints the number of reflections per class, before → after.
"""

from __future__ import annotations

import argparse

import torch

from bxrd.data.datamodule import XRDDataModule
from bxrd.fileio import atomic_path
from bxrd.inference.loading import read_checkpoint


def main() -> None:
    """Rewrite the checkpoint's ``reference_reflections`` from the dataset."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--output", default=None, help="default: overwrite the checkpoint")
    args = p.parse_args()
    ckpt = read_checkpoint(args.checkpoint)
    task = ckpt["hyper_parameters"].get("task", "space_group")
    dm = XRDDataModule(args.dataset, build_config=None, task=task)
    names = list(ckpt["hyper_parameters"]["class_names"])
    if dm.class_names != names:
        raise SystemExit(f"{args.dataset}: classes {dm.class_names} differ from {names}")
    old, new = ckpt.get("reference_reflections", {}), dm.class_reflections()
    for name in names:
        print(f"{name:<16s} {len(old.get(name, [])):4d} -> {len(new.get(name, [])):4d}")
    ckpt["reference_reflections"] = new
    with atomic_path(args.output or args.checkpoint) as tmp:
        torch.save(ckpt, tmp)


if __name__ == "__main__":
    main()
