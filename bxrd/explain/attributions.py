"""Attributions of a classifier's decision to 2θ points, and the 2θ regions that matter.

* Integrated Gradients from a flat-pattern baseline on the class probability.
* SHAP ``GradientExplainer`` (expected gradients) with training patterns as background.
  SHAP's ``DeepExplainer`` is not used: its DeepLIFT rules do not support the
  ``AdaptiveMaxPool1d`` of the B-VGGNet head and in-place ReLUs, and it silently returns
  wrong values there; expected gradients need only autograd.

Attributions are taken on the deterministic network (dropout off, posterior mean), which is
the decision the predictive averages around. Arrays are (B, L) on the model's 2θ grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bxrd.data.class_names import NO_STRUCTURE
from bxrd.explain.reflections import FittedReference, fit_reference, unexplained_peaks
from bxrd.uq.predictive_interface import Classifier


class ProbabilityOf(nn.Module):
    """Softmax of a classifier's network for attribution methods.

    Output shape (B, C), or (B, 1) with only class ``index`` when one is given (explainers
    that differentiate every output then take one gradient pass instead of C).
    """

    def __init__(self, model: Classifier, index: int | None = None) -> None:
        super().__init__()
        self.net, self.index = model.explained_net, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities of patterns ``x`` (B, L)."""
        p = torch.softmax(self.net(x), dim=-1)
        return p if self.index is None else p[:, self.index : self.index + 1]


#: Level of the flat Integrated-Gradients baseline, as a fraction of each pattern's maximum.
BASELINE_LEVEL = 0.2


def integrated_gradients(
    model: Classifier,
    x: torch.Tensor,
    target: torch.Tensor,
    n_steps: int = 64,
    batch_rows: int = 128,
) -> torch.Tensor:
    """Integrated Gradients of p(target | x) from a flat pattern, shape (B, L).

    IG_i = (x_i − x'_i) ∫₀¹ ∂p(x' + α(x − x'))/∂x_i dα (Sundararajan et al. 2017), computed by
    Captum's ``IntegratedGradients`` with its ``n_steps``-point Gauss–Legendre rule on [0, 1].
    The baseline x' of each pattern is a featureless line at ``BASELINE_LEVEL`` (0.2) × its
    maximum, so the attributions sum to p(target | x) − p(target | flat) (completeness). The
    network scales every pattern to maximum 1, which fixes the baseline's level:

    * at 0 (or at the median of a background-subtracted pattern, ~0) the scaled path
      α·x / max(α·x) is the pattern itself for every α > 0: p jumps at α = 0, the quadrature
      misses the jump and the attributions sum to ~0 whatever p(x) − p(flat) is;
    * at β × max the scaled path (β + α(x − β)) / (β + α(1 − β)) reaches half-way at
      α ≈ β, so the integrand is spread over the steps. Measured on 45 measured films with
      ``default.ckpt`` and 64 steps: median baseline, |Σ attribution − gain| 0.40 on average
      and > 50 % of the gain on 31 % of films; β = 0.2, mean error 0.011, largest 0.11.

    Peaks (x > β) get the sign of their effect, background points (x < β) a small share.
    The path points (``n_steps`` × B rows) go through the network ``batch_rows`` at a time
    (Captum's ``internal_batch_size``), so memory does not grow with patterns × steps.
    """
    from captum.attr import IntegratedGradients  # ~0.6 s to import: only when explaining

    model.eval()
    flat = BASELINE_LEVEL * x.amax(dim=-1, keepdim=True)
    attr = IntegratedGradients(ProbabilityOf(model)).attribute(
        x,
        baselines=flat.expand_as(x),
        target=target,
        n_steps=n_steps,
        method="gausslegendre",
        internal_batch_size=batch_rows,
    )
    return attr.detach()


def shap_values(
    model: Classifier,
    x: torch.Tensor,
    background: torch.Tensor,
    target: torch.Tensor,
    nsamples: int = 32,
    seed: int = 0,
) -> torch.Tensor:
    """SHAP expected-gradient values of p(target | x), shape (B, L), on ``x``'s device.

    One explainer per target class, each explaining that class's probability only: SHAP's
    GradientExplainer differentiates every output, so explaining all C classes to keep one
    would cost C times as much.
    """
    import shap

    model.eval()
    out = torch.zeros(x.shape[0], x.shape[-1], device=x.device)
    for c in target.unique().tolist():
        rows = torch.nonzero(target == c).flatten().to(x.device)
        explainer = shap.GradientExplainer(ProbabilityOf(model, c), background)
        values = explainer.shap_values(x[rows], nsamples=nsamples, rseed=seed)
        arr = values[0] if isinstance(values, list) else np.asarray(values)
        out[rows] = torch.from_numpy(arr.reshape(len(rows), x.shape[-1])).float().to(x.device)
    return out


def mean_abs_by_class(attr: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean |attribution| per class, shape (C, L); rows of absent classes are 0."""
    out = torch.zeros(n_classes, attr.shape[-1])
    for c in range(n_classes):
        rows = labels == c
        if rows.any():
            out[c] = attr[rows].abs().mean(dim=0)
    return out


@dataclass
class Region:
    """A 2θ window with high attribution, and the reflections that fall inside it.

    Attributes:
        centre, lo, hi: degrees 2θ.
        score: summed |attribution| in the window (fraction of the total).
        reflections: ``hkl`` labels of every fitted reference reflection inside the window.
    """

    centre: float
    lo: float
    hi: float
    score: float
    reflections: list[str]

    def as_dict(self) -> dict:
        """JSON-ready record (2θ window in degrees, score, hkl, and the text line)."""
        return {
            "lo": self.lo,
            "hi": self.hi,
            "score": self.score,
            "hkl": self.reflections,
            "text": str(self),
        }

    def __str__(self) -> str:
        hkl = f" ({', '.join(self.reflections)})" if self.reflections else ""
        return f"{self.lo:.2f}–{self.hi:.2f}° 2θ{hkl}, {self.score:.0%} of attribution"


def strongest_regions(
    profile: np.ndarray,
    two_theta: np.ndarray,
    n: int = 3,
    width_deg: float = 0.6,
    reflections: list[dict] | None = None,
) -> list[Region]:
    """Find the ``n`` non-overlapping windows of ``width_deg`` with most |attribution|.

    Args:
        profile: attribution per grid point, shape (L,).
        two_theta: grid, degrees, shape (L,).
        n: how many windows.
        width_deg: window width, degrees 2θ.
        reflections: reference sticks ``{"two_theta": float, "hkl": str, ...}`` to annotate.
    """
    a = np.abs(np.asarray(profile, dtype=float))
    total = a.sum() or 1.0
    step = float(two_theta[1] - two_theta[0])
    half = max(1, int(round(width_deg / step / 2)))
    window = np.convolve(a, np.ones(2 * half + 1), mode="same")
    regions: list[Region] = []
    for _ in range(n):
        i = int(np.argmax(window))
        if window[i] <= 0:
            break
        lo, hi = two_theta[max(i - half, 0)], two_theta[min(i + half, len(a) - 1)]
        hkls = [r["hkl"] for r in reflections or [] if lo <= r["two_theta"] <= hi]
        regions.append(
            Region(float(two_theta[i]), float(lo), float(hi), float(window[i] / total), hkls)
        )
        window[max(i - 2 * half, 0) : i + 2 * half + 1] = 0.0
    return regions


@dataclass
class Explanation:
    """Attribution of one pattern (or a class mean) read as 2θ regions with hkl.

    Attributes:
        label: the class explained.
        pattern: intensities on the grid, shape (L,).
        attribution: attribution per grid point, shape (L,).
        regions: strongest regions, annotated with the fitted reference reflections.
        fitted: ``label``'s reference reflections fitted to ``pattern`` (cell refinement).
        reference: id of the reference structure of ``label`` ("" without reflections).
        unexplained: peaks of ``pattern`` near no fitted reflection of any candidate class
            (``{"two_theta", "height"}``; empty when no candidate was given).
    """

    label: str
    pattern: np.ndarray
    attribution: np.ndarray
    regions: list[Region]
    fitted: FittedReference
    reference: str
    unexplained: list[dict]

    @property
    def cell_scale(self) -> float:
        """Isotropic d scale of the coarse fit."""
        return self.fitted.cell_scale

    def reference_record(self) -> dict:
        """JSON-ready record of the fitted reference, empty without one.

        Keys: ``structure`` (reference id), ``cell_scale``, ``strain`` (per free metric
        parameter), ``reflections`` (every fitted reflection: ``two_theta`` degrees, ``hkl``,
        ``intensity``), ``unexplained_peaks`` (``two_theta`` degrees, ``height`` of max).
        """
        if not self.reference:
            return {}
        refs = [
            {k: r[k] for k in ("two_theta", "hkl", "intensity") if k in r}
            for r in self.fitted.reflections
        ]
        return {
            "structure": self.reference,
            "cell_scale": self.fitted.cell_scale,
            "strain": self.fitted.strain,
            "reflections": refs,
            "unexplained_peaks": self.unexplained,
        }


def explain_pattern(
    model: Classifier,
    pattern: np.ndarray,
    attribution: np.ndarray,
    label: str,
    two_theta: np.ndarray,
    n_regions: int = 3,
    candidates: tuple[str, ...] = (),
    grid_step: float = 0.005,
) -> Explanation:
    """Fit ``label``'s reference reflections to ``pattern`` and find the strongest regions.

    A mixture class (``other``, the yes/no task's ``yes`` / ``no``:
    :data:`bxrd.data.class_names.NO_STRUCTURE`) gets no reference: its regions carry no hkl and
    it explains no peak.

    Args:
        model: carries ``reference_reflections`` (class → sticks) and the wavelength.
        pattern: intensities, shape (L,), on ``two_theta`` (degrees).
        attribution: shape (L,).
        label: class name whose reference reflections annotate the regions.
        two_theta: grid, degrees, shape (L,).
        n_regions: number of regions.
        candidates: other classes (e.g. the top k) whose fitted references may explain
            peaks; peaks near no reflection of ``label`` or of these are listed unexplained.
        grid_step: joint-grid step of the cell refinement (see
            :func:`~bxrd.explain.reflections.fit_reference`).
    """
    wavelength = model.axis.wavelength

    def fit(name: str) -> FittedReference:
        # a mixture class has no structure of its own: the reflections of whichever
        # structure stood for it would name hkl and explain peaks on no ground
        refs = [] if name in NO_STRUCTURE else model.reference_reflections.get(name, [])
        return fit_reference(pattern, two_theta, refs, wavelength, grid_step=grid_step)

    fitted = fit(label)
    regions = strongest_regions(attribution, two_theta, n_regions, reflections=fitted.reflections)
    reference = fitted.reflections[0].get("structure", "") if fitted.reflections else ""
    unexplained: list[dict] = []
    if candidates:
        others = [fit(c).reflections for c in candidates if c != label]
        unexplained = unexplained_peaks(pattern, two_theta, [fitted.reflections, *others])
    return Explanation(label, pattern, attribution, regions, fitted, reference, unexplained)


def explain_classes(
    model: Classifier,
    x: torch.Tensor,
    labels: torch.Tensor,
    attr: torch.Tensor,
    two_theta: np.ndarray,
    n_regions: int = 3,
) -> list[Explanation]:
    """Explain each class present in ``labels`` by a typical pattern and its mean |attribution|.

    The typical pattern is the class's pattern closest (cosine) to the class mean: the mean
    itself mixes patterns of different cells (strain, shift augmentations), onto which no
    single cell can be fitted to name the reflections.

    Args:
        model: the classifier (class names, reference reflections, wavelength).
        x: patterns (B, L).
        labels: class index per pattern (B,).
        attr: attributions (B, L).
        two_theta: grid, degrees, shape (L,).
        n_regions: regions per class.
    """
    per_class = mean_abs_by_class(attr, labels, len(model.class_names))
    out = []
    for c, name in enumerate(model.class_names):
        members = x[labels == c]
        if len(members) == 0:
            continue
        cosine = torch.nn.functional.cosine_similarity(members, members.mean(0, keepdim=True))
        typical = members[int(cosine.argmax())].numpy()
        profile = per_class[c].numpy()
        out.append(explain_pattern(model, typical, profile, name, two_theta, n_regions))
    return out
