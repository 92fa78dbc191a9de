"""Figures of a predictive: reliability diagram, entropy histograms, accuracy–coverage.

Each function takes tensors or arrays and returns a matplotlib ``Figure`` built without
pyplot (no backend chosen at import), so callbacks can send it to TensorBoard and reports can
save it as PNG.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from torchmetrics.functional.classification import multiclass_calibration_error

from bxrd.uq.predictive_summary import entropy


def reliability_bins(
    probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per confidence bin: mean confidence, accuracy, count (equal-width bins on [0, 1])."""
    conf, pred = probs.max(dim=-1)
    correct = (pred == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    idx = torch.bucketize(conf, edges[1:-1])
    count = torch.bincount(idx, minlength=n_bins).float()
    mean_conf = torch.bincount(idx, conf, minlength=n_bins) / count.clamp_min(1)
    acc = torch.bincount(idx, correct, minlength=n_bins) / count.clamp_min(1)
    return mean_conf.numpy(), acc.numpy(), count.numpy()


def accuracy_coverage(probs: torch.Tensor, labels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Compute selective accuracy on the most confident fraction, for each coverage."""
    conf, pred = probs.max(dim=-1)
    order = torch.argsort(conf, descending=True)
    correct = (pred == labels).float()[order]
    n = torch.arange(1, len(correct) + 1)
    return (n / len(correct)).numpy(), (torch.cumsum(correct, 0) / n).numpy()


def reliability_figure(probs: torch.Tensor, labels: torch.Tensor, title: str = "") -> Figure:
    """Reliability diagram with the ECE in the title."""
    conf, acc, count = reliability_bins(probs, labels)
    ece = float(multiclass_calibration_error(probs, labels, probs.shape[-1], n_bins=len(conf)))
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    centres = (np.arange(len(conf)) + 0.5) / len(conf)
    used = count > 0
    ax.bar(
        centres[used], acc[used], width=1 / len(conf), edgecolor="k", alpha=0.7, label="accuracy"
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(
        xlabel="confidence (top probability)",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"{title} ECE = {ece:.3f}".strip(),
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def entropy_figure(probs: torch.Tensor, labels: torch.Tensor, title: str = "") -> Figure:
    """Histograms of predictive entropy (nats) for correct and wrong predictions."""
    h = entropy(probs).numpy()
    correct = (probs.argmax(dim=-1) == labels).numpy()
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    bins = np.linspace(0, max(np.log(probs.shape[-1]), 1e-3), 30)
    ax.hist(h[correct], bins=bins, alpha=0.6, label=f"correct ({correct.sum()})", density=True)
    ax.hist(h[~correct], bins=bins, alpha=0.6, label=f"wrong ({(~correct).sum()})", density=True)
    ax.set(xlabel="predictive entropy (nats)", ylabel="density", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def coverage_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Accuracy–coverage curves, one per method."""
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    for name, (cov, acc) in curves.items():
        ax.plot(cov, acc, label=name)
    ax.set(
        xlabel="coverage (fraction answered, most confident first)",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def class_probability_figure(
    means: dict[str, np.ndarray], stds: dict[str, np.ndarray], class_names: list[str]
) -> Figure:
    """Mean predictive probability of the true class with error bars (std), per class.

    Classes whose mean is NaN for every method (no pattern of that class in the data) are
    left out, not drawn as zero bars; the title says how many.
    """
    present = [i for i in range(len(class_names)) if any(np.isfinite(m[i]) for m in means.values())]
    names = [class_names[i] for i in present]
    fig = Figure(figsize=(max(5, 0.7 * len(names)), 3.8))
    ax = fig.subplots()
    width = 0.8 / max(len(means), 1)
    x = np.arange(len(names))
    for k, name in enumerate(means):
        ax.bar(
            x + k * width, means[name][present], width, yerr=stds[name][present], capsize=2,
            label=name,
        )  # fmt: skip
    ax.set_xticks(x + width * (len(means) - 1) / 2, names, rotation=45, ha="right")
    ax.set(ylabel="mean p(true class)", ylim=(0, 1.05))
    missing = len(class_names) - len(names)
    if missing:
        ax.set_title(f"{missing} class(es) without patterns in this split not shown", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_figure(
    labels: np.ndarray, predicted: np.ndarray, names: list[str], title: str
) -> Figure:
    """Row-normalised confusion matrix over the classes present in ``labels`` or predicted.

    Args:
        labels: true class indices, shape (N,).
        predicted: predicted class indices, shape (N,).
        names: class names (index order).
        title: figure title (the accuracy is appended).
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    present = np.union1d(np.unique(labels), np.unique(predicted))
    size = max(5.0, 0.32 * len(present) + 2.5)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        labels,
        predicted,
        labels=present,
        display_labels=[names[i] for i in present],
        normalize="true",
        values_format=".2f",
        include_values=len(present) <= 12,
        xticks_rotation="vertical",
        colorbar=False,
        ax=ax,
    )
    ax.set_title(f"{title}: accuracy {(labels == predicted).mean():.3f} (rows: true)")
    fig.tight_layout()
    return fig
