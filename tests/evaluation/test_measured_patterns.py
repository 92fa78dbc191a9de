"""Measured-pattern validation: out-of-library flags, yes/no metrics, distances, films."""

from pathlib import Path

import numpy as np
import pytest
import torch

from bxrd.data.search_match import SearchLibrary
from bxrd.evaluation.measured_patterns import (
    FILM_SPACE_GROUPS,
    FolderScore,
    class_of_number,
    distance_report,
    film_summary,
    flag_summary,
    labelled_accuracy,
    mixture_sample,
    noise_far_fraction,
    outside_scores,
    read_folder,
    rruff_space_group,
    score_films,
    score_mixtures,
    search_match_gain,
)
from bxrd.evaluation.stats import ece, ece_of_top
from bxrd.evaluation.yes_no_metrics import yes_no_metrics
from bxrd.inference.loading import load_predictor
from bxrd.uq.predictive_interface import PredictiveMixin
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import read_pattern, to_grid

ROOT = Path(__file__).resolve().parents[2]
FILMS = ROOT.parent / "shared" / "data" / "patterns" / "thinfilm_perovskites"
DARA = ROOT.parent / "shared" / "data" / "patterns" / "xrdml_dara"


class Fixed(PredictiveMixin, torch.nn.Module):
    """Predicts the first two grid points' values as class probabilities (softmaxed)."""

    def __init__(self, class_names):
        super().__init__()
        self.class_names = class_names

    def predict_samples(self, x):
        return torch.softmax(x[:, :2] * 10, dim=-1)[None]


def test_outside_score_is_p_no_for_yes_no_and_uncertainty_otherwise():
    x = np.array([[1.0, 0.0, 0.3], [0.5, 0.5, 0.3]], dtype=np.float32)
    p = torch.softmax(torch.tensor(x[:, :2]) * 10, dim=-1).numpy()
    assert np.allclose(outside_scores(Fixed(["no", "yes"]), x), p[:, 0], atol=1e-6)
    # any other model: one minus the top probability; 0.5 for the even split
    assert np.allclose(outside_scores(Fixed(["a", "b"]), x), 1 - p.max(axis=1), atol=1e-6)


def test_labelled_accuracy_maps_unknown_groups_to_other(tmp_path):
    names = ["Pnma (62)", "other"]
    assert class_of_number(62, names) == "Pnma (62)" and class_of_number(225, names) == "other"
    assert class_of_number(225, ["Pnma (62)"]) is None
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.52, 0.48], [0.0, 1.0]], np.float32)
    # predicted: Pnma, other, Pnma, Pnma (p = 0.60), other; truth: Pnma, other, other, Pnma
    m = labelled_accuracy(Fixed(names), x, [62, 225, 225, 62, None])
    assert m["scored"] == 4 and m["named"] == 2
    assert m["accuracy"] == pytest.approx(3 / 4) and m["named_accuracy"] == 1.0
    np.save(tmp_path / "R1.npy", {"features": np.ones((1, 50)), "labels230": np.array([61])})
    grid = TwoThetaGrid(5.0, 5.49, 0.01)
    measured = read_pattern(tmp_path / "R1.npy", allow_pickle=True)
    gridded = to_grid(measured, grid, 1.5406, background=False)
    assert rruff_space_group(gridded) == 62


def test_flag_summary_counts_and_auroc():
    inside, outside = np.array([0.1, 0.2, 0.6]), np.array([0.7, 0.9, 0.4, 0.8])
    f = flag_summary(inside, outside)
    assert f["flagged_inside"] == pytest.approx(1 / 3) and f["flagged_outside"] == 0.75
    # 12 pairs, outside ranked above inside in all but (0.4 < 0.6)
    assert f["auroc"] == pytest.approx(11 / 12)


def test_yes_no_metrics():
    y = np.array([0, 0, 1, 1, 1])
    m = yes_no_metrics(y, np.array([0.2, 0.7, 0.9, 0.6, 0.4]))
    assert m["confusion"] == [[1, 1], [1, 2]] and m["accuracy"] == pytest.approx(0.6)
    assert m["auc"] == pytest.approx(4 / 6)


def test_distance_report_flags_patterns_unlike_training():
    grid = np.linspace(0, 1, 200)
    peaks = lambda *c: sum(np.exp(-0.5 * ((grid - p) / 0.01) ** 2) for p in c)  # noqa: E731
    training = np.stack([peaks(0.2, 0.5), peaks(0.3, 0.7), peaks(0.4, 0.8)])
    held_out = np.stack([peaks(0.21, 0.5), peaks(0.3, 0.71)])
    measured = np.stack([3 * peaks(0.2, 0.5), peaks(0.6, 0.9)])
    r = distance_report(measured, training, held_out)
    assert r.cosine.shape == (2, 2) and np.allclose(np.diag(r.cosine), 0, atol=1e-9)
    assert r.nearest_cosine[0] == pytest.approx(0, abs=1e-9)  # scale does not matter
    assert list(r.far) == [False, True]
    assert np.allclose(r.euclidean, r.euclidean.T)


@pytest.mark.skipif(not FILMS.is_dir(), reason=f"shared film patterns not found at {FILMS}")
def test_films_scored_per_folder_with_shipped_model():
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    rows = score_films(model, FILMS)
    assert {r.folder for r in rows} <= set(FILM_SPACE_GROUPS)
    for r in rows:
        files = [p for p in (FILMS / r.folder).iterdir() if p.is_file()]
        assert r.n + r.skipped == len(files)
        assert r.correct_answered <= min(r.correct, r.n - r.abstained)
        assert r.abstained <= r.rejected <= r.n
        assert sum(r.predicted.values()) == r.n  # every answer counted, not the commonest
        assert r.predicted.get(r.truth, 0) == r.correct
        # every answer has a conformal set holding its top class: one holding the truth
        # is at least every right top answer
        assert len(r.set_sizes) == r.n and min(r.set_sizes) >= 1
        assert r.correct <= r.in_set <= r.n if r.in_classes else r.in_set <= r.n
    s = film_summary(rows)
    pm3m = next(r for r in rows if r.folder == "pm-3m")
    assert pm3m.in_classes and pm3m.one_family >= 1  # MAPbBr3: (100), (200) only
    assert all(r.one_family <= r.abstained for r in rows)  # one family: abstained
    assert 0 <= s["abstain_out_of_class"] <= 1


@pytest.mark.skipif(not FILMS.is_dir(), reason=f"shared film patterns not found at {FILMS}")
def test_search_match_on_films_finds_a_film_in_its_own_library():
    """Search-match is scored on the patterns the model reads: a library holding the Pm-3m
    and P-3m1 films' own gridded patterns (read as training patterns are), each under its
    folder's group, finds each film itself, so every one is right."""
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    films, _ = read_folder(model, FILMS / "pm-3m", "CuKa")
    decoys, _ = read_folder(model, FILMS / "P3m1", "CuKa")
    own = [p.intensity for p in films]
    groups = ["Pm-3m (221)"] * len(own) + ["P-3m1 (164)"] * len(decoys)
    library = SearchLibrary(
        np.stack(own + [p.intensity for p in decoys]),
        [f"s{i}" for i in range(len(groups))],
        ["X"] * len(groups),
        groups,
    )
    rows = score_films(model, FILMS, search=library)
    pm3m = next(r for r in rows if r.folder == "pm-3m")
    assert len(pm3m.search_right) == pm3m.n and all(pm3m.search_right)
    p3m1 = next(r for r in rows if r.folder == "P3m1")
    assert len(p3m1.search_right) == p3m1.n and all(p3m1.search_right)
    i4 = next(r for r in rows if r.folder == "I4Imcm")
    assert len(i4.search_right) == i4.n and not any(i4.search_right)  # no I4/mcm entry
    s = film_summary(rows)
    inside = [r for r in rows if r.in_classes]
    searched = sum(len(r.search_right) for r in inside)
    assert s["search_match_in_class_accuracy"] == pytest.approx(
        sum(sum(r.search_right) for r in inside) / searched
    )
    gain = search_match_gain(rows)
    right = sum(r.correct for r in inside) / sum(r.n for r in inside)
    assert gain.value == pytest.approx(right - s["search_match_in_class_accuracy"])
    assert gain.low <= gain.value <= gain.high
    assert search_match_gain(score_films(model, FILMS)) is None  # no library: no comparison


def test_mixture_sample_pairs_the_two_scans_of_one_weighing():
    a = "precursor_mixture__NiO_0p3035-Bi2O3_0p3011-La(OH)3_0p3954--2min.xrdml"
    assert mixture_sample(a) == mixture_sample(a.replace("--2min", "--8min"))
    assert mixture_sample(a) != mixture_sample(a.replace("NiO_0p3035", "NiO_0p6007"))
    assert mixture_sample("/x/" + a) == a.removesuffix("--2min.xrdml")


@pytest.mark.skipif(not DARA.is_dir(), reason=f"shared .xrdml scans not found at {DARA}")
def test_precursor_mixtures_scored_with_an_interval_over_samples(tmp_path):
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    row, share = score_mixtures(model, DARA)
    files = sorted(DARA.glob("precursor_mixture__*.xrdml"))
    assert row.n == len(files) and row.skipped == 0  # every scan read, its own Cu Kα kept
    assert row.n == len(row.declined) == len(row.files)
    assert not row.in_classes and row.correct == 0  # "no perovskite" is no class
    assert row.rejected == sum(row.declined) and row.abstained <= row.rejected
    # declined = abstained or answered other: every other answer is declined
    assert row.rejected >= row.predicted.get("other", 0)
    assert share.value == pytest.approx(row.rejected / row.n)
    assert 0 <= share.low <= share.value <= share.high <= 1
    assert len({mixture_sample(f) for f in row.files}) == len(files) // 2  # pairs of scans
    assert score_mixtures(model, tmp_path) is None  # no mixtures: nothing scored
    # the perovskite-similarity floor only withholds named classes: it declines at least as
    # many mixtures, and on these (no perovskite in any) it declines some the network named
    plain, plain_share = score_mixtures(model, DARA, perovskites=None)
    assert plain.predicted == row.predicted and plain.abstained <= row.abstained
    assert plain.rejected < row.rejected and plain_share.value < share.value


def test_distance_and_confusion_figures():
    from bxrd.evaluation.measured_patterns import DistanceReport, distance_figure
    from bxrd.uq.figures import confusion_figure

    m = np.array([[0.0, 0.5, 0.9], [0.5, 0.0, 0.4], [0.9, 0.4, 0.0]])
    far = np.array([False, False, True])
    r = DistanceReport(m, m, m[0], m[0], 0.7, far)
    fig = distance_figure(r, ["a", "b", "c"], [("films", 1), ("minerals", 2)])
    assert len(fig.axes) == 4 and "1 of 3" in fig._suptitle.get_text()
    labels = [t.get_color() for t in fig.axes[0].get_yticklabels()]
    assert labels[2] == "red" and labels[0] != "red"
    fig = confusion_figure(np.array([0, 1, 1]), np.array([0, 1, 0]), ["x", "y", "z"], "t")
    assert "accuracy 0.667" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["x", "y"]


def _folder(
    truth: str, inside: bool, top_p: list[float], right: list[bool], far: int = 0, abstained=0
):
    n, rejected = len(top_p), abstained + sum(right) * (not inside)  # right outside: `other`
    return FolderScore(
        truth,
        truth,
        inside,
        n,
        0,
        sum(right),
        abstained,
        sum(right),
        {},
        0.0,
        [],
        far,
        top_p,
        right,
        rejected,
        in_set=sum(right) + inside,  # inside: one more pattern whose set holds the truth
        set_sizes=[1 + (not r) for r in right],  # a wrong top answer: two classes
    )


def test_film_summary_selective_accuracy_and_ece():
    rows = [
        _folder("Pm-3m", True, [0.9, 0.8, 0.7, 0.4, 0.3], [True, True, False, False, False], 1),
        _folder("Pc", False, [0.5], [False]),
        _folder("other", False, [0.6, 0.9, 0.4], [True, True, False], abstained=1),
    ]
    s = film_summary(rows, coverage=0.6)
    assert s["selective_accuracy"] == pytest.approx(2 / 3)  # the 3 most confident of 5
    assert s["in_class_accuracy"] == pytest.approx(0.4) and s["far_in_class"] == 0.2
    # bins of width 1/15: every pattern alone, so ECE = mean |right - p|
    assert s["ece_in_class"] == pytest.approx(np.mean([0.1, 0.2, 0.7, 0.4, 0.3]))
    # outside the classes: 1 of 4 abstained, 3 of 4 declined to name a class
    assert s["abstain_out_of_class"] == 0.25 and s["rejected_out_of_class"] == 0.75
    assert s["set_coverage_in_class"] == pytest.approx(3 / 5)
    assert s["mean_set_size_in_class"] == pytest.approx(8 / 5)
    assert s["other_in_set_out_of_class"] == pytest.approx(2 / 4)
    assert np.isnan(s["search_match_in_class_accuracy"])  # no library searched
    rows[0].search_right = [True, False, False, False, False]  # the network: 2 of 5 right
    rows[2].search_right = [True, True, True]  # outside the classes: not compared
    s = film_summary(rows, coverage=0.6)
    assert s["search_match_in_class_accuracy"] == pytest.approx(1 / 5)
    gain = search_match_gain(rows)
    assert gain.value == pytest.approx(2 / 5 - 1 / 5) and gain.low <= gain.value <= gain.high
    # paired: search-match's one right film is one the network has right too, so no
    # resample of films can show a loss
    assert gain.low >= 0


def test_ece_of_top_is_ece_of_probabilities():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, 200)
    top = probs.max(axis=1)
    assert ece_of_top(top, probs.argmax(axis=1) == y) == pytest.approx(ece(probs, y))


def test_shipped_model_flags_uniform_noise_far_from_training():
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    assert noise_far_fraction(model, n=32) == 1.0
