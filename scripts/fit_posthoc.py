"""Fit the post-hoc parts of ``bxrd fit`` into an existing checkpoint.

``bxrd fit`` fits them itself after training (:class:`~bxrd.callbacks.finalize.Finalize`);
this script adds them to checkpoints written without them (e.g. the shipped ones, trained
before the part existed): the far-from-training feature density (``density``: Gaussians on
the training stream, threshold on the validation split) and the conformal prediction sets
(``conformal``: :mod:`bxrd.uq.conformal`, on the validation split; for an ensemble file,
:mod:`bxrd.uq.ensemble`, on its pooled predictive), and the temperature of a model that has
one (``temperature``: the deterministic softmax, the Laplace predictive; fitted before the
conformal sets, which should be refitted after it). The data module is
rebuilt from the data YAML the checkpoint was trained with, plus ``--set KEY=VALUE``
overrides (as the fit's ``--data.KEY VALUE``, dotted keys into blocks; the validation split
must be the fit's: same ``seed``, same ``final_refit``; its patterns may be rendered with
another measurement model, e.g. ``--set augment.realism.march_dollase=true``); the
checkpoint is rewritten atomically. Prints, per part, what it fitted and how it does on the
validation and test splits (and uniform noise)::

    python scripts/fit_posthoc.py --checkpoint checkpoints/default.ckpt \
        --data configs/data/shipped.yaml [--set final_refit=false --set seed=1] \
        [--parts temperature density conformal] [--coverage 0.9]
"""

import argparse
import inspect
import itertools
from pathlib import Path

import torch
import yaml

from bxrd.data.datamodule import XRDDataModule
from bxrd.errors import BxrdInputError
from bxrd.evaluation.stats import METRIC_FUNCTIONS
from bxrd.inference.loading import load_classifier, load_predictor, read_checkpoint
from bxrd.uq.checkpoint_format import save_checkpoint
from bxrd.uq.conformal import (
    COVERAGE,
    ConformalSets,
    class_coverage,
    held_out_probs,
    truth_in_set,
)
from bxrd.uq.ensemble import ENSEMBLE_CLASS
from bxrd.uq.feature_density import fit_feature_density
from bxrd.xrd.augment import AugmentConfig


def data_module(path: str, overrides: list[str]) -> XRDDataModule:
    """Build the data module of YAML ``path`` with ``KEY=VALUE`` overrides (values as YAML)."""
    cfg = yaml.safe_load(Path(path).read_text())
    for item in overrides:
        key, sep, value = item.partition("=")
        *parents, last = key.split(".")
        if not sep or key.split(".")[0] not in inspect.signature(XRDDataModule).parameters:
            raise BxrdInputError(f"--set {item}: not KEY=VALUE of a data module argument")
        node = cfg
        for part in parents:  # dotted keys reach into blocks: augment.realism.march_dollase
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    if isinstance(cfg.get("augment"), dict):
        cfg["augment"] = AugmentConfig(**cfg["augment"])
    dm = XRDDataModule(**cfg)
    dm.setup("fit")
    dm.setup("test")
    return dm


def nll(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood of the true classes (:data:`METRIC_FUNCTIONS`)."""
    return METRIC_FUNCTIONS["nll"](probs.numpy(), labels.long().numpy())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="datamodule YAML the model was trained with")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--parts",
        nargs="+",
        choices=("temperature", "density", "conformal"),
        default=["density"],
    )
    p.add_argument("--quantile", type=float, default=0.99)
    p.add_argument("--coverage", type=float, default=COVERAGE)
    args = p.parse_args()
    checkpoint = read_checkpoint(args.checkpoint)
    ensemble = checkpoint["bxrd"]["class"] == ENSEMBLE_CLASS
    if ensemble and "density" in args.parts:  # each member keeps its own
        raise BxrdInputError(f"{args.checkpoint}: fit the density of each member, then bundle")
    if (
        "temperature" in args.parts
        and checkpoint.get("conformal")
        and "conformal" not in args.parts
    ):
        raise BxrdInputError(
            f"{args.checkpoint}: its conformal sets were fitted at the old temperature: "
            "refit them too (--parts temperature conformal)"
        )
    dm = data_module(args.data, args.set)
    model = (load_predictor if ensemble else load_classifier)(args.checkpoint)
    _, val = dm.posthoc_dataloaders()
    val_probs = None  # the validation predictive after the temperature, kept for the sets
    if "temperature" in args.parts:
        if not hasattr(model, "fit_temperature"):
            raise BxrdInputError(f"{args.checkpoint}: a {type(model).__name__} has no temperature")
        before = held_out_probs(model, val)
        t = model.fit_temperature(val)
        checkpoint["state_dict"].update(  # the buffer: `temperature`, `predictive_temperature`
            {k: v for k, v in model.state_dict().items() if k.endswith("temperature")}
        )
        val_probs = held_out_probs(model, val)
        print(
            f"temperature T = {t:.3f}; validation NLL {nll(*before):.3f} -> {nll(*val_probs):.3f}"
        )
    if "density" in args.parts:
        density = fit_feature_density(
            model.explained_net, dm.train_dataloader(), val, dm.n_classes, args.quantile
        )
        checkpoint["feature_density"] = density.state_dict()
        noise = torch.rand(256, dm.in_length, generator=torch.Generator().manual_seed(0))
        # a final refit trained on the test split: only the validation split is held out
        held_out = [("val", dm.val_set.patterns)]
        held_out += [] if dm.final_refit else [("test", dm.test_set.patterns)]
        flagged = {
            name: float(density.assess(model.explained_net, x)[1].float().mean())
            for name, x in (*held_out, ("noise", noise))
        }
        print(
            f"threshold={density.threshold:.1f} "
            + " ".join(f"far_{k}={v:.3f}" for k, v in flagged.items())
        )
    if "conformal" in args.parts:
        probs, labels = val_probs if val_probs is not None else held_out_probs(model, val)
        sets = ConformalSets.fit(probs, labels, args.coverage)
        checkpoint["conformal"] = sets.state_dict()
        # val: the fit's own patterns (≥ the coverage by construction); test: held out
        scored = [("val", probs, labels)]
        if not dm.final_refit:  # a final refit trained on the test split
            scored.append(("test", *held_out_probs(model, dm.test_dataloader())))
        for (name, p_, y), by_class in itertools.product(scored, (False, True)):
            member = sets.sets(p_, by_class=by_class)
            held = truth_in_set(member, y)
            per = class_coverage(held, y, p_.shape[1])
            worst = int(torch.nan_to_num(per, nan=2.0).argmin())
            print(
                f"{name} {'per-class' if by_class else 'marginal'}: "
                f"coverage={held.float().mean():.3f} "
                f"mean_set_size={member.sum(dim=1).float().mean():.2f} "
                f"worst class {model.class_names[worst]} {per[worst]:.2f} "
                f"({int((y == worst).sum())} of {len(y)} patterns)"
            )
        classes = torch.bincount(sets.labels, minlength=len(model.class_names)).tolist()
        print(
            f"conformal q={sets.qhat():.4f} coverage={sets.coverage} n={sets.n}; held-out "
            "patterns per class: "
            + ", ".join(f"{c} {k}" for c, k in zip(model.class_names, classes, strict=True) if k)
        )
    save_checkpoint(checkpoint, args.checkpoint)


if __name__ == "__main__":
    main()
