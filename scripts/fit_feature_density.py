"""Fit the far-from-training feature density into an existing checkpoint.

``bxrd fit`` does this itself after training; this script adds it to checkpoints written
without it (e.g. ``checkpoints/default.ckpt``). The data module is rebuilt from its YAML (the
one the checkpoint was trained with), the density is fitted on its training stream, the
threshold set on its validation split, and the checkpoint rewritten atomically. Prints the
threshold and the fraction of validation, test and uniform-noise patterns flagged::

    python scripts/fit_feature_density.py --checkpoint checkpoints/default.ckpt \
        --data configs/data/default_model.yaml
"""

import argparse
from pathlib import Path

import torch
import yaml

from bxrd.data.datamodule import XRDDataModule
from bxrd.inference.loading import load_classifier, read_checkpoint
from bxrd.uq.checkpoint_format import save_checkpoint
from bxrd.uq.feature_density import fit_feature_density
from bxrd.xrd.augment import AugmentConfig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="datamodule YAML the model was trained with")
    p.add_argument("--quantile", type=float, default=0.99)
    args = p.parse_args()
    cfg = yaml.safe_load(Path(args.data).read_text())
    if isinstance(cfg.get("augment"), dict):
        cfg["augment"] = AugmentConfig(**cfg["augment"])
    dm = XRDDataModule(**cfg)
    dm.setup("fit")
    dm.setup("test")
    model = load_classifier(args.checkpoint)
    density = fit_feature_density(
        model.net, dm.train_dataloader(), dm.val_dataloader(), dm.n_classes, args.quantile
    )
    checkpoint = read_checkpoint(args.checkpoint)
    checkpoint["feature_density"] = density.state_dict()
    save_checkpoint(checkpoint, args.checkpoint)
    noise = torch.rand(256, dm.in_length, generator=torch.Generator().manual_seed(0))
    flagged = {
        name: float(density.assess(model.net, x)[1].float().mean())
        for name, x in (
            ("val", dm.val_set.patterns),
            ("test", dm.test_set.patterns),
            ("noise", noise),
        )
    }
    print(
        f"threshold={density.threshold:.1f} "
        + " ".join(f"far_{k}={v:.3f}" for k, v in flagged.items())
    )


if __name__ == "__main__":
    main()
