"""The yes/no model ("is this one of the known structure types?"): metrics and figure.

Scores are p(yes) per pattern, shape (N,); labels are 1 for yes, 0 for no (paper Fig. 4a, b).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    average_precision_score,
    confusion_matrix,
    roc_auc_score,
)


def yes_no_metrics(labels: np.ndarray, p_yes: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy at ``threshold``, ROC AUC, average precision and the 2×2 confusion matrix.

    The confusion matrix has rows true no / yes and columns predicted no / yes.
    """
    labels, p_yes = np.asarray(labels), np.asarray(p_yes)
    predicted = (p_yes >= threshold).astype(int)
    two = len(np.unique(labels)) == 2
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "auc": float(roc_auc_score(labels, p_yes)) if two else float("nan"),
        "ap": float(average_precision_score(labels, p_yes)) if two else float("nan"),
        "confusion": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
    }


def yes_no_figure(
    labels: np.ndarray, p_yes: np.ndarray, title: str, threshold: float = 0.5
) -> Figure:
    """Confusion matrix, ROC curve and precision–recall curve side by side."""
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 4))
    ConfusionMatrixDisplay.from_predictions(
        labels,
        (np.asarray(p_yes) >= threshold).astype(int),
        labels=[0, 1],
        display_labels=["no", "yes"],
        colorbar=False,
        ax=a1,
    )
    RocCurveDisplay.from_predictions(labels, p_yes, ax=a2, name=title)
    a2.plot([0, 1], [0, 1], ":", color="grey")
    PrecisionRecallDisplay.from_predictions(labels, p_yes, ax=a3, name=title)
    a1.set_title(f"{title}: confusion at p(yes) ≥ {threshold}")
    a2.set_title("ROC")
    a3.set_title("precision–recall")
    fig.tight_layout()
    return fig
