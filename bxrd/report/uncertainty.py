"""The uncertainty report: one folder with ``index.html``, PNG figures and ``report.json``.

For each checkpoint (e.g. MC dropout, VI and Laplace trained on the same data, or an ensemble
file of them, :mod:`bxrd.uq.ensemble`) on the stored
test (or validation) split: accuracy and the calibration table (ECE, MCE, NLL, Brier),
mean predictive probability of the true class with error bars per class side by side,
entropy distributions, accuracy–coverage curves, the coverage and mean size of the conformal
prediction sets (:mod:`bxrd.uq.conformal`; — for a checkpoint without); for the first
checkpoint, per-class mean |SHAP| over 2θ with the strongest regions annotated by reflections (hkl).
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from bxrd.data.datamodule import XRDDataModule
from bxrd.errors import BxrdInputError
from bxrd.explain.attributions import explain_classes, shap_values
from bxrd.explain.figures import attribution_figure
from bxrd.fileio import atomic_write_text
from bxrd.inference.loading import load_predictor
from bxrd.uq.calibration import classification_metrics
from bxrd.uq.conformal import truth_in_set
from bxrd.uq.figures import (
    accuracy_coverage,
    class_probability_figure,
    coverage_figure,
    entropy_figure,
    reliability_figure,
)


def _save(fig: Figure, folder: Path, name: str, figures: list[str]) -> None:
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)
    figures.append(name)


def build_report(
    checkpoints: list[str],
    dataset: str,
    output: str,
    split: str = "test",
    shap_patterns: int = 48,
) -> Path:
    """Write the report folder; return the path of ``index.html``."""
    t0 = time.perf_counter()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    models = [load_predictor(c) for c in checkpoints]  # an ensemble file too
    task = models[0].hparams.get("task", "space_group")
    dm = XRDDataModule(dataset, build_config=None, task=task)
    names = dm.class_names
    for c, m in zip(checkpoints, models, strict=True):
        if list(m.class_names) != names:
            raise BxrdInputError(f"{c}: classes {m.class_names} differ from {dataset}'s {names}")
    dm.setup("test")
    data = dm.test_set if split == "test" else dm.val_set
    if len(data) == 0:
        raise BxrdInputError(f"{dataset}: the {split} split is empty")
    x, y = data.patterns, data.labels
    numbers: dict = {
        "dataset": str(dataset),
        "split": split,
        "n_patterns": len(y),
        "classes": names,
        "counts": {n: int((y == i).sum()) for i, n in enumerate(names)},
        "methods": {},
    }
    figures: list[str] = []
    curves, means, stds = {}, {}, {}
    for ckpt, model in zip(checkpoints, models, strict=True):
        method = model.method.value
        key = method if method not in numbers["methods"] else f"{method} ({Path(ckpt).name})"
        t = time.perf_counter()
        pred = model.predict_proba(torch.utils.data.DataLoader(data, batch_size=128), seed=0)
        seconds = time.perf_counter() - t
        metrics = classification_metrics(len(names))
        metrics.update(pred.probs, y)
        row = {k: float(v) for k, v in metrics.compute().items()}
        p_true = pred.probs[torch.arange(len(y)), y]
        s_true = pred.std[torch.arange(len(y)), y]
        per_class = {}
        for i, n in enumerate(names):
            rows = y == i
            if rows.any():
                per_class[n] = {
                    "mean_p_true": float(p_true[rows].mean()),
                    "std_p_true": float(s_true[rows].mean()),
                    "accuracy": float((pred.prediction[rows] == i).float().mean()),
                }
        cov, acc = accuracy_coverage(pred.probs, y)
        abstain = pred.abstain
        member = None if model.conformal is None else model.conformal.sets(pred.probs)
        row.update(
            checkpoint=str(ckpt),
            seconds=seconds,
            per_class=per_class,
            mean_entropy=float(pred.entropy.mean()),
            abstained_fraction=float(abstain.float().mean()),
            accuracy_answered=float((pred.prediction[~abstain] == y[~abstain]).float().mean())
            if (~abstain).any()
            else None,
            set_coverage=None if member is None else float(truth_in_set(member, y).float().mean()),
            mean_set_size=None if member is None else float(member.sum(dim=1).float().mean()),
            accuracy_at_coverage={
                f"{c:.1f}": float(np.interp(c, cov, acc)) for c in (0.5, 0.8, 1.0)
            },
        )
        numbers["methods"][key] = row
        curves[key] = (cov, acc)
        means[key] = np.array([per_class.get(n, {}).get("mean_p_true", np.nan) for n in names])
        stds[key] = np.array([per_class.get(n, {}).get("std_p_true", np.nan) for n in names])
        slug = key.replace(" ", "_").replace("(", "").replace(")", "")
        _save(reliability_figure(pred.probs, y, key), folder, f"reliability_{slug}.png", figures)
        _save(entropy_figure(pred.probs, y, key), folder, f"entropy_{slug}.png", figures)
    _save(coverage_figure(curves), folder, "accuracy_coverage.png", figures)
    _save(class_probability_figure(means, stds, names), folder, "class_probability.png", figures)
    pick = _stratified(y, shap_patterns)
    background = training_background(dm)
    numbers["shap_background"] = len(background)
    numbers["attribution"] = _shap_section(
        models[0], dm, x[pick], y[pick], background, folder, figures
    )
    numbers["seconds"] = time.perf_counter() - t0
    numbers["figures"] = figures
    atomic_write_text(folder / "report.json", json.dumps(numbers, indent=1))
    page = folder / "index.html"
    atomic_write_text(page, _html(numbers, figures))
    return page


def _stratified(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Up to ``n`` row indices, spread evenly over the classes present (first rows of each)."""
    classes = labels.unique()
    per = max(1, n // len(classes))
    return torch.cat([torch.nonzero(labels == c).flatten()[:per] for c in classes])


def training_background(dm: XRDDataModule, n: int = 32) -> torch.Tensor:
    """Up to ``n`` stored training-split patterns, spread over the classes, shape (n, L).

    SHAP's expected gradients average over a background: it must be the data the model
    learned from, not the patterns being explained.

    Raises:
        BxrdInputError: the dataset stores no training-split pattern.
    """
    rows = np.nonzero(dm.provenance("split") == "train")[0]
    if len(rows) == 0:
        raise BxrdInputError(f"{dm.dataset}: no stored training patterns for SHAP's background")
    labels = torch.from_numpy(np.asarray(dm.labels)[rows])
    pick = np.sort(rows[_stratified(labels, n)[:n].numpy()])
    return torch.from_numpy(np.asarray(dm.store.patterns(pick), dtype=np.float32))


def _shap_section(model, dm, x, y, background, folder, figures) -> dict:  # noqa: ANN001
    """Per-class mean |SHAP| over 2θ (``background``: training patterns), regions with hkl."""
    with torch.enable_grad():
        attr = shap_values(model, x.clone(), background, y)
    tt = model.grid.values if model.grid is not None else dm.grid.values
    out = {}
    for e in explain_classes(model, x, y, attr, tt):
        out[e.label] = [{k: v for k, v in r.as_dict().items() if k != "text"} for r in e.regions]
        slug = "".join(ch if ch.isalnum() else "_" for ch in e.label)
        fig = attribution_figure(tt, e.pattern, e.attribution, e.regions, f"{e.label}: mean |SHAP|")
        _save(fig, folder, f"shap_{slug}.png", figures)
    return out


def _html(numbers: dict, figures: list[str]) -> str:
    esc = html.escape
    cols = ("acc", "ece", "mce", "nll", "brier", "mean_entropy", "abstained_fraction")
    cols += ("set_coverage", "mean_set_size", "seconds")
    head = "".join(f"<th>{c}</th>" for c in ("method", *cols))
    cell = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731  (no conformal sets: —)
    rows = "".join(
        "<tr><td>" + esc(m) + "</td>" + "".join(f"<td>{cell(r[c])}</td>" for c in cols) + "</tr>"
        for m, r in numbers["methods"].items()
    )
    attr = "".join(
        f"<li><b>{esc(n)}</b>: "
        + "; ".join(
            f"{r['lo']:.2f}–{r['hi']:.2f}° ({esc(', '.join(r['hkl'])) or 'no reference hkl'})"
            for r in regions
        )
        + "</li>"
        for n, regions in numbers["attribution"].items()
    )
    imgs = "".join(
        f'<figure><img src="{esc(f)}" alt="{esc(f)}"><figcaption>{esc(f)}</figcaption></figure>'
        for f in figures
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>bxrd uncertainty report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px;text-align:right}}
figure{{display:inline-block;margin:8px}}
img{{max-width:560px}}</style></head><body>
<h1>bxrd uncertainty report</h1>
<p>{esc(numbers["dataset"])}, split <b>{esc(numbers["split"])}</b>,
{numbers["n_patterns"]} patterns,
{len(numbers["classes"])} classes. Every number is in <a href="report.json">report.json</a>.</p>
<h2>Calibration</h2><table><tr>{head}</tr>{rows}</table>
<h2>Regions that drive each class (mean |SHAP|)</h2>
<p>SHAP background: {numbers["shap_background"]} stored training-split patterns.</p>
<ul>{attr}</ul>
<h2>Figures</h2>{imgs}</body></html>"""
