"""Validation on measured patterns: thin-film space groups, out-of-library flags, distances.

* :func:`score_films` — space-group answers on measured films whose folder names the space
  group (Oviedo et al. 2019 layout), with abstention, split into folders whose space group is
  among the model's classes and those that are not; :func:`film_summary` gives the
  issue-19 film numbers (accuracy, selective accuracy at a coverage, ECE, abstention, far
  flags) and :func:`noise_far_fraction` the far flag on uniform noise.
  :func:`search_match_gain` compares the network with the nearest known pattern on them.
* :func:`score_mixtures` — the same answers on measured scans that hold no perovskite at all
  (weighed precursor mixtures): the share declined, with an interval over samples.
* :func:`labelled_accuracy` — space-group accuracy on measured patterns whose space group is
  known (RRUFF ``labels230``), with abstention; a space group that is not a model class
  counts as ``other`` when the model has that class.
* :func:`outside_scores` — how strongly a model says "not in my library" for each pattern:
  p(no) for a yes/no model, otherwise one minus the top mean probability;
  :func:`flag_summary` turns scores of in-library and outside patterns into the fraction
  flagged and an AUROC.
* :func:`distance_report` — Euclidean and cosine distance matrices between measured
  patterns and each one's distance to the nearest training pattern, with a flag for
  patterns farther from training than any held-out simulated test pattern (the paper's
  R050456 case: a pattern unlike everything the model saw).

Patterns are (N, L) arrays on the model's 2θ grid (degrees); each row is scaled to max 1
before distances are taken.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.metrics import pairwise_distances, roc_auc_score

from bxrd.data.search_match import SearchLibrary
from bxrd.evaluation.stats import Interval, bootstrap, ece_of_top
from bxrd.inference.pipeline import PredictOptions, predict_files
from bxrd.uq.predictive_interface import Classifier
from bxrd.xrd.pattern_io import GriddedPattern, load_patterns

#: Folder of the thin-film data set → space group label (Oviedo et al. 2019, Cu Kα).
FILM_SPACE_GROUPS: dict[str, str] = {
    "pm-3m": "Pm-3m (221)",
    "I4Imcm": "I4/mcm (140)",
    "P3m1": "P-3m1 (164)",
    "P61mmc": "P6_3/mmc (194)",
    "Fm-3m": "Fm-3m (225)",
    "Pc": "Pc (7)",
    "P21a": "P2_1/c (14)",
}
#: Measured scans of weighed, unreacted precursor mixtures (oxides, carbonates, hydroxides;
#: the Dara benchmark's ``precursor_mixture`` folder, ``shared/data/patterns/xrdml_dara``):
#: none holds a perovskite, so a model should answer ``other`` or abstain on every one.
PRECURSOR_MIXTURES = "precursor_mixture__*"
#: The truth of those scans (not a model class).
NOT_A_PEROVSKITE = "no perovskite"
#: Film folders holding ABX3 perovskites (the in-library side of the out-of-library test).
ABX3_FILM_FOLDERS: tuple[str, ...] = ("pm-3m", "I4Imcm")


@dataclass
class FolderScore:
    """Answers of a model on one folder of measured patterns.

    Attributes:
        folder: folder name; truth: its space group; in_classes: truth is a model class.
        n: patterns answered; skipped: files refused (with reasons in ``messages``).
        correct, abstained: counts; correct_answered: correct among the not abstained;
        predicted: every top answer with its count, most frequent first.
        mean_top_p: mean of the top mean probability.
        far: patterns flagged far from training by the feature density (0 without one).
        top_p: each answered pattern's top mean probability, shape (n,).
        top_right: whether each answered pattern's top class is ``truth``, shape (n,).
        rejected: patterns abstained or answered ``other`` (not one of the named classes):
            for a folder outside the classes, the model declining to name a class.
        declined: per answered pattern, abstained or answered ``other`` (``rejected`` counts
            them); files: the answered files' names, in the same order.
        one_family: patterns whose peaks are all orders of one spacing (abstained for it).
        in_set: patterns whose prediction set (:mod:`bxrd.uq.conformal`, as ``bxrd predict``
            gives it: widened for one reflection family or an unlike pattern) holds
            ``truth``, or ``other`` for a folder outside the classes; set_sizes: each
            pattern's set size (both empty / 0 for a model without sets).
        search_right: per answered pattern, whether the class of the closest structure of
            a search-match library is ``truth`` (empty when none was given).
    """

    folder: str
    truth: str
    in_classes: bool
    n: int
    skipped: int
    correct: int
    abstained: int
    correct_answered: int
    predicted: dict[str, int]
    mean_top_p: float
    messages: list[str]
    far: int = 0
    top_p: list[float] = field(default_factory=list)
    top_right: list[bool] = field(default_factory=list)
    rejected: int = 0
    one_family: int = 0
    in_set: int = 0
    set_sizes: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    declined: list[bool] = field(default_factory=list)
    search_right: list[bool] = field(default_factory=list)


def read_folder(
    model: Classifier, folder: Path, wavelength: str | None = None, allow_pickle: bool = False
) -> tuple[list[GriddedPattern], list[str]]:
    """Measured patterns of one folder on the model's grid, and messages for skipped files.

    ``allow_pickle`` reads pickled ``.npy`` dicts (the shared RRUFF set; trusted data only).
    """
    return load_patterns(
        [folder],
        model.grid,
        model.axis.wavelength,
        wavelength,
        background=True,
        allow_pickle=allow_pickle,
    )


def score_files(
    model: Classifier,
    files: list[Path],
    folder: str,
    truth: str,
    wavelength: str | None = "CuKa",
    perovskites: str | SearchLibrary | None = "shipped",
    search: SearchLibrary | None = None,
) -> FolderScore:
    """Answers of ``model`` on ``files`` (or folders) whose true space group is ``truth``.

    ``wavelength`` is used for files that state none; a file that states another one is
    skipped, as ``bxrd predict`` refuses it (counted in ``skipped``, with its message);
    ``perovskites``: the library of training perovskites a named class needs a pattern like
    (:class:`~bxrd.inference.pipeline.PredictOptions`; None: no such check); ``search``:
    a search-match library whose space groups are the model's class names
    (:meth:`~bxrd.data.search_match.SearchLibrary.from_pattern_set`), scored on the same
    gridded patterns as the model (``search_right``).
    """
    options = PredictOptions(
        wavelength=wavelength,
        explain="none",
        keep_arrays=False,
        perovskites=perovskites,
        library=search,
        neighbours=1,
    )
    every = predict_files(list(files), model=model, options=options)
    answers = [a for a in every if a.decision != "skipped"]
    failed = [str(a.error) for a in every if a.decision == "skipped"]
    sets = [a.prediction_set["classes"] for a in answers if a.prediction_set]
    target = truth if truth in model.class_names else "other"
    declined = [bool(a.abstain or a.top_label == "other") for a in answers]
    return FolderScore(
        folder=folder,
        truth=truth,
        in_classes=truth in model.class_names,
        n=len(answers),
        skipped=len(failed),
        correct=sum(a.top_label == truth for a in answers),
        abstained=sum(a.abstain for a in answers),
        correct_answered=sum(a.label == truth for a in answers),
        predicted=dict(Counter(a.top_label for a in answers).most_common()),
        mean_top_p=float(np.mean([max(a.probabilities.values()) for a in answers]))
        if answers
        else float("nan"),
        messages=failed,
        far=sum(bool(a.far_from_training) for a in answers),
        top_p=[float(max(a.probabilities.values())) for a in answers],
        top_right=[a.top_label == truth for a in answers],
        rejected=sum(declined),
        one_family=sum(a.one_family is not None for a in answers),
        in_set=sum(target in c for c in sets),
        set_sizes=[len(c) for c in sets],
        files=[Path(a.file).name for a in answers],
        declined=declined,
        search_right=[]
        if search is None
        else [bool(a.neighbours) and a.neighbours[0]["space_group"] == truth for a in answers],
    )


def score_films(
    model: Classifier,
    root: str | Path,
    perovskites: str | SearchLibrary | None = "shipped",
    search: SearchLibrary | None = None,
) -> list[FolderScore]:
    """Score ``model`` on every film folder of ``root`` named in :data:`FILM_SPACE_GROUPS`.

    ``perovskites`` and ``search`` as :func:`score_files`.
    """
    return [
        score_files(model, [Path(root) / folder], folder, truth, "CuKa", perovskites, search)
        for folder, truth in FILM_SPACE_GROUPS.items()
        if (Path(root) / folder).is_dir()
    ]


def score_mixtures(
    model: Classifier, root: str | Path, perovskites: str | SearchLibrary | None = "shipped"
) -> tuple[FolderScore, Interval] | None:
    """Answers on the measured precursor mixtures of ``root`` (:data:`PRECURSOR_MIXTURES`).

    None of them holds a perovskite, so every one should be declined (abstained or answered
    ``other``). Returns the scores (``truth`` :data:`NOT_A_PEROVSKITE`) and the declined
    share with its 95 % bootstrap interval over samples (the 2-min and 8-min scans of one
    weighed mixture are one sample, :func:`mixture_sample`); None when ``root`` has none.
    Cu Kα for a file that states no wavelength (the Dara scans state theirs).
    ``perovskites`` as :func:`score_files`.
    """
    files = sorted(Path(root).glob(PRECURSOR_MIXTURES))
    if not files:
        return None
    row = score_files(model, files, "precursor mixtures", NOT_A_PEROVSKITE, "CuKa", perovskites)
    declined = np.asarray(row.declined, dtype=float)
    groups = np.array([mixture_sample(f) for f in row.files])
    share = bootstrap(lambda rows: {"declined": float(declined[rows].mean())}, groups)
    return row, share["declined"]


def mixture_sample(name: str) -> str:
    """Return the weighed mixture of a scan: its file name without ``--<n>min`` and suffix."""
    return re.sub(r"--\d+min$", "", Path(name).stem)


def film_summary(rows: list[FolderScore], coverage: float = 0.6) -> dict[str, float]:
    """Film scores over the in-class folders, and abstention inside and outside the classes.

    ``in_class_accuracy`` (top answer, every pattern), ``answered_accuracy`` (not abstained),
    ``selective_accuracy``: accuracy of the ``coverage`` share of in-class patterns with the
    highest top probability (at least one), ``ece_in_class``: expected calibration error of
    the top probability over in-class patterns (15 equal-width bins, as
    :func:`bxrd.evaluation.stats.ece`), ``far_in_class``: share flagged far from training,
    ``abstain_out_of_class`` and ``rejected_out_of_class`` (abstained or answered ``other``)
    over the folders outside the classes; for a model with conformal sets,
    ``set_coverage_in_class`` (share of in-class patterns whose set holds the truth),
    ``mean_set_size_in_class`` and ``other_in_set_out_of_class`` (share of patterns outside
    the classes whose set holds ``other``), NaN without sets; ``search_match_in_class_accuracy``
    (NaN without a search-match library).
    """
    inside = [r for r in rows if r.in_classes]
    outside = [r for r in rows if not r.in_classes]
    n_in, n_out = sum(r.n for r in inside), sum(r.n for r in outside)
    answered = n_in - sum(r.abstained for r in inside)
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    conf = np.array([p for r in inside for p in r.top_p], dtype=float)
    right = np.array([c for r in inside for c in r.top_right], dtype=float)
    keep = np.argsort(-conf, kind="stable")[: max(1, int(np.ceil(coverage * len(conf))))]
    sized_in = sum(len(r.set_sizes) for r in inside)
    return {
        "in_class_patterns": n_in,
        "in_class_accuracy": ratio(sum(r.correct for r in inside), n_in),
        "answered_accuracy": ratio(sum(r.correct_answered for r in inside), answered),
        "selective_accuracy": float(right[keep].mean()) if len(conf) else float("nan"),
        "selective_coverage": coverage,
        "ece_in_class": ece_of_top(conf, right) if len(conf) else float("nan"),
        "far_in_class": ratio(sum(r.far for r in inside), n_in),
        "abstain_in_class": ratio(sum(r.abstained for r in inside), n_in),
        "abstain_out_of_class": ratio(sum(r.abstained for r in outside), n_out),
        "rejected_out_of_class": ratio(sum(r.rejected for r in outside), n_out),
        "set_coverage_in_class": ratio(sum(r.in_set for r in inside), sized_in),
        "mean_set_size_in_class": ratio(sum(sum(r.set_sizes) for r in inside), sized_in),
        "other_in_set_out_of_class": ratio(
            sum(r.in_set for r in outside), sum(len(r.set_sizes) for r in outside)
        ),
        "search_match_in_class_accuracy": ratio(
            sum(sum(r.search_right) for r in inside), sum(len(r.search_right) for r in inside)
        ),
    }


def search_match_gain(rows: list[FolderScore]) -> Interval | None:
    """Network minus search-match accuracy on the in-class films, paired, 95 % over films.

    Both top answers are scored on the same patterns (:func:`score_files` with ``search``);
    the interval resamples films. None when no in-class folder was searched.
    """
    inside = [r for r in rows if r.in_classes and r.search_right]
    if not inside:
        return None
    net = np.array([c for r in inside for c in r.top_right], dtype=float)
    sm = np.array([c for r in inside for c in r.search_right], dtype=float)
    gain = lambda rows: {"gain": float(net[rows].mean() - sm[rows].mean())}  # noqa: E731
    return bootstrap(gain, np.arange(len(net)))["gain"]


def noise_far_fraction(model: Classifier, n: int = 100, seed: int = 0) -> float:
    """Share of ``n`` uniform-noise patterns (U(0, 1) per point, max 1) flagged far from training.

    NaN for a model without a feature density. The check of the far flag's other side: a
    flag that lets measured films through must still stop what is no diffraction pattern.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, len(model.grid.values), generator=gen)
    x = x / x.amax(dim=1, keepdim=True)
    _, _, far = model.predict_and_assess(x, seeds=list(range(n)))
    return float("nan") if far is None else float(far.float().mean())


def class_of_number(number: int, class_names: list[str]) -> str | None:
    """Return the class ``"<symbol> (<number>)"`` of a space-group number, else ``other``.

    None when neither exists (the pattern cannot be scored).
    """
    named = next((c for c in class_names if c.endswith(f"({number})")), None)
    return named or ("other" if "other" in class_names else None)


def rruff_space_group(pattern: GriddedPattern) -> int | None:
    """Space-group number of a RRUFF-style ``.npy`` pattern (``labels230`` + 1), or None."""
    label = pattern.meta.get("labels230")
    return None if label is None else int(np.ravel(label)[0]) + 1


def labelled_accuracy(
    model: Classifier, patterns: np.ndarray, numbers: list[int | None]
) -> dict[str, float]:
    """Accuracy of a space-group model on measured patterns with known space groups.

    Args:
        model: a space-group classifier.
        patterns: (N, L) on the model grid.
        numbers: true space-group number per pattern (None: unknown, not scored).

    Returns:
        ``scored`` patterns (truth is a class or ``other``), ``named`` (truth is a named
        class), ``accuracy`` over scored, ``named_accuracy``, ``abstained`` fraction and
        ``answered_accuracy`` (accuracy where the model did not abstain).
    """
    names = model.class_names
    truth = [None if n is None else class_of_number(n, names) for n in numbers]
    keep = np.array([t is not None for t in truth])
    if not keep.any():
        return {"scored": 0}
    pred = model.predict_proba(np.asarray(patterns, dtype=np.float32)[keep], seed=0)
    label = np.array(names)[pred.prediction.numpy()]
    true = np.array([t for t in truth if t is not None])
    right, abstain = label == true, pred.abstain.numpy()
    named = true != "other"
    mean = lambda x: float(x.mean()) if x.size else float("nan")  # noqa: E731
    return {
        "scored": int(keep.sum()),
        "named": int(named.sum()),
        "accuracy": mean(right),
        "named_accuracy": mean(right[named]),
        "abstained": mean(abstain),
        "answered_accuracy": mean(right[~abstain]),
    }


def outside_scores(model: Classifier, patterns: np.ndarray) -> np.ndarray:
    """Per-pattern score of "outside the library", shape (N,); higher = more outside.

    A yes/no model (classes ``no``/``yes``) gives p(no); any other model one minus its top
    mean probability, the quantity its abstention thresholds.
    """
    probs = model.predict_proba(np.asarray(patterns, dtype=np.float32), seed=0).probs
    if "no" in model.class_names:
        return probs[:, model.class_names.index("no")].numpy()
    return (1.0 - probs.max(dim=1).values).numpy()


def flag_summary(
    inside: np.ndarray, outside: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Fraction of each group flagged (score ≥ ``threshold``) and the AUROC outside vs inside."""
    labels = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    scores = np.r_[inside, outside]
    auroc = float(roc_auc_score(labels, scores)) if len(inside) and len(outside) else float("nan")
    return {
        "flagged_inside": float((inside >= threshold).mean()) if len(inside) else float("nan"),
        "flagged_outside": float((outside >= threshold).mean()) if len(outside) else float("nan"),
        "auroc": auroc,
    }


def _unit_max(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(x.max(axis=1, keepdims=True), 1e-12)


@dataclass
class DistanceReport:
    """Distances of measured patterns to each other and to the training set.

    Attributes:
        euclidean, cosine: (N, N) matrices between the measured patterns.
        nearest_euclidean, nearest_cosine: distance of each measured pattern to its
            nearest training pattern, shape (N,).
        threshold_cosine: largest nearest-training cosine distance of a held-out
            simulated test pattern; measured patterns beyond it are ``far``.
        far: shape (N,) bool.
    """

    euclidean: np.ndarray
    cosine: np.ndarray
    nearest_euclidean: np.ndarray
    nearest_cosine: np.ndarray
    threshold_cosine: float
    far: np.ndarray


def _nearest(x: np.ndarray, reference: np.ndarray, metric: str) -> np.ndarray:
    """Distance of each row of ``x`` (N, L) to its nearest row of ``reference`` (M, L)."""
    return pairwise_distances(x, reference, metric=metric).min(axis=1)


def distance_report(
    measured: np.ndarray, training: np.ndarray, held_out: np.ndarray
) -> DistanceReport:
    """Distance matrices of ``measured`` (N, L) and the far-from-training flag.

    Args:
        measured: measured patterns on the model grid.
        training: training patterns (clean stored training split), (M, L).
        held_out: held-out simulated test patterns, (K, L); they set the flag's threshold.
    """
    x, train = _unit_max(measured), _unit_max(training)
    near_cos = _nearest(x, train, "cosine")
    threshold = float(_nearest(_unit_max(held_out), train, "cosine").max())
    return DistanceReport(
        euclidean=pairwise_distances(x, metric="euclidean"),
        cosine=pairwise_distances(x, metric="cosine"),
        nearest_euclidean=_nearest(x, train, "euclidean"),
        nearest_cosine=near_cos,
        threshold_cosine=threshold,
        far=near_cos > threshold,
    )


def distance_figure(
    report: DistanceReport, names: list[str], groups: list[tuple[str, int]] | None = None
) -> Figure:
    """Euclidean and cosine matrices side by side; far-from-training patterns marked in red.

    Args:
        report: the distances.
        names: one name per pattern (tick labels when there are at most 60 patterns).
        groups: consecutive (name, count) blocks of patterns, drawn as separated blocks.
    """
    import matplotlib.pyplot as plt

    n = len(names)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    for ax, (title, m) in zip(
        axes, (("Euclidean", report.euclidean), ("cosine", report.cosine)), strict=True
    ):
        im = ax.imshow(m, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{title} distance between measured patterns")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_xticks([])
        if n <= 60:
            ax.set_yticks(np.arange(n), names, fontsize=6)
            for t in np.nonzero(report.far)[0]:
                ax.get_yticklabels()[t].set_color("red")
        else:
            ax.set_yticks([])
        rows = np.nonzero(report.far)[0]
        ax.scatter(
            np.full(len(rows), -0.02 * n), rows, marker=">", color="red", s=12, clip_on=False
        )
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        edge = 0
        for label, count in groups or []:
            ax.text(-0.06 * n, edge + count / 2, label, rotation=90, ha="right", va="center")
            edge += count
            if edge < n:
                ax.axhline(edge - 0.5, color="white", lw=0.8)
                ax.axvline(edge - 0.5, color="white", lw=0.8)
    fig.suptitle(
        f"red ▶: farther from every training pattern than any held-out test pattern "
        f"(cosine > {report.threshold_cosine:.3f}); {int(report.far.sum())} of {n}"
    )
    fig.tight_layout()
    return fig
