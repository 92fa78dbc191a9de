"""Conformal prediction sets: the coverage they promise, and the way into checkpoints."""

import math

import pytest
import pytorch_lightning as pl
import torch

from bxrd.callbacks.finalize import Finalize
from bxrd.inference.loading import load_predictor
from bxrd.models.dropout_sampling import MC_SEED
from bxrd.uq.conformal import ConformalSets, class_coverage, class_scores, true_class_scores

from .conftest import SMALL, VARIANTS, quiet_trainer
from .toy import LENGTH, loaders, patterns


def _draw(n: int, classes: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Calibrated probabilities (n, classes): the labels are drawn from them."""
    probs = torch.softmax(2 * torch.randn(n, classes, generator=gen), dim=1)
    return probs, torch.multinomial(probs, 1, generator=gen)[:, 0]


def test_coverage_of_exchangeable_patterns_is_the_promised_one():
    """Vovk's bound: 1 − α ≤ P(y ∈ set) < 1 − α + 1 / (n + 1), averaged over many splits."""
    gen = torch.Generator().manual_seed(0)
    covered, sizes = [], []
    for _ in range(300):
        probs, labels = _draw(400, 5, gen)
        sets = ConformalSets.fit(probs[:200], labels[:200], coverage=0.9)
        member = sets.sets(probs[200:])
        covered.append(member[torch.arange(200), labels[200:]].float().mean())
        sizes.append(member.sum(dim=1).float().mean())
    coverage = float(torch.stack(covered).mean())
    # the mean of 300 × 200 Bernoulli(≈ 0.9) draws: SD ≈ 0.0012 about the exact coverage
    assert 0.9 - 0.004 <= coverage <= 0.9 + 1 / 201 + 0.004
    assert 1.0 < float(torch.stack(sizes).mean()) < 5.0  # neither one class nor all of them


@pytest.mark.parametrize(("n", "rank"), [(19, 18), (9, 9), (8, None), (99, 90)])
def test_the_threshold_is_the_score_of_rank_ceil_n_plus_1_times_coverage(n, rank):
    """Known scores: a pattern [t, 1 − t, 0] labelled 1 (t > ½) scores t."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n)).double()
    t = 0.5 + (order + 1) / (2 * (n + 1))  # distinct, in (½, 1), shuffled
    probs = torch.stack([t, 1 - t, torch.zeros(n, dtype=torch.float64)], dim=1)
    sets = ConformalSets.fit(probs, torch.ones(n, dtype=torch.long), 0.9)
    expected = math.inf if rank is None else float(t.sort().values[rank - 1])
    assert sets.qhat() == expected


def test_a_set_holds_its_classes_in_order_of_probability_and_always_the_top_one():
    gen = torch.Generator().manual_seed(1)
    probs, labels = _draw(200, 6, gen)
    sets = ConformalSets.fit(probs, labels, coverage=0.8)
    member = sets.sets(probs)
    assert member[torch.arange(200), probs.argmax(dim=1)].all()
    assert (sets.holds(probs, probs.argmax(dim=1))).all()  # holds: the set has that class
    assert (sets.holds(probs, labels) == member[torch.arange(200), labels]).all()
    # the thresholds a set is cut at: q̂ for every class (marginal), q̂_c per class (Mondrian)
    assert sets.thresholds(6).tolist() == [sets.qhat()] * 6
    per_class = sets.thresholds(6, by_class=True)
    assert torch.equal(per_class, sets.class_qhat(6))
    assert torch.equal(sets.sets(probs, thresholds=per_class), sets.sets(probs, by_class=True))
    assert not torch.equal(per_class, sets.thresholds(6))  # the classes' own q̂_c differ
    # a class is in only if every more probable class is: sorted by p, membership never rises
    order = probs.argsort(dim=1, descending=True)
    ranked = member.gather(1, order).int()
    assert (ranked[:, 1:] <= ranked[:, :-1]).all()


def test_scores_are_the_probability_ranked_strictly_above_a_class():
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    expected = torch.tensor([[0.0, 0.5, 0.8], [0.9, 0.0, 0.6]], dtype=torch.float64)
    assert torch.allclose(class_scores(probs), expected)


def test_higher_coverage_never_gives_smaller_sets():
    gen = torch.Generator().manual_seed(2)
    probs, labels = _draw(300, 8, gen)
    sets = ConformalSets.fit(probs, labels, 0.7)
    low, high = sets.sets(probs), sets.sets(probs, coverage=0.95)  # one fit, any coverage
    assert (low == ConformalSets.fit(probs, labels, 0.95).sets(probs, 0.7)).all()
    assert (high | ~low).all() and high.sum() > low.sum()


def test_too_few_held_out_patterns_give_every_class():
    """With n = 5 the rank ⌈6 · 0.9⌉ = 6 exceeds n: no finite threshold keeps the promise."""
    gen = torch.Generator().manual_seed(3)
    probs, labels = _draw(5, 4, gen)
    sets = ConformalSets.fit(probs, labels, 0.9)
    assert math.isinf(sets.qhat()) and sets.sets(probs).all()
    with pytest.raises(ValueError, match="coverage"):
        ConformalSets.fit(probs, labels, 1.0)


def test_bxrd_fit_stores_the_sets_and_predict_reads_them(tmp_path):
    pl.seed_everything(0, verbose=False)
    cls, kwargs = VARIANTS["mc_dropout"]
    model = cls(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"], **kwargs)
    finalize = Finalize(coverage=0.8)
    trainer = quiet_trainer(2, default_root_dir=tmp_path, callbacks=[finalize])
    train, val = loaders(0)
    trainer.fit(model, train, val)
    back = load_predictor(finalize.path)  # the torch-only MC-dropout predictor
    assert back.conformal is not None and back.conformal.n == len(val.dataset)
    assert back.conformal.coverage == 0.8
    # fitted on the scores bxrd predict gives: every pattern's samples from MC_SEED
    xv = val.dataset.x
    deployed = back.predict_proba(xv, seeds=[MC_SEED] * len(xv)).probs
    refit = ConformalSets.fit(deployed, val.dataset.y, 0.8)
    assert refit.qhat() == pytest.approx(back.conformal.qhat(), abs=1e-6)
    x, y = patterns((0, 1, 2), 20, seed=7)  # new patterns of the same problem
    member = back.conformal.sets(back.predict_proba(x, seed=0).probs)
    assert member[torch.arange(len(y)), y].float().mean() >= 0.7


def test_a_model_right_on_nearly_every_held_out_pattern_answers_single_classes():
    """q̂ = 0 when ≥ 90 % of true classes lead: the set is the top class alone, never empty."""
    probs = torch.softmax(torch.randn(50, 4, generator=torch.Generator().manual_seed(4)), dim=1)
    labels = probs.argmax(dim=1)
    labels[:3] = (labels[:3] + 1) % 4  # 3 of 50 wrong
    sets = ConformalSets.fit(probs, labels, 0.9)
    assert sets.qhat() == 0.0
    assert (sets.sets(probs).sum(dim=1) == 1).all()


def test_the_fit_draws_each_held_out_pattern_from_the_deployed_seed():
    """As bxrd predict does: the held-out scores are those a deployed answer would get."""
    from types import SimpleNamespace

    from bxrd.uq.conformal import fit_conformal

    class Recorder:
        seen: list[int] = []

        def predict_proba(self, x, seeds=None, seed=None):
            assert seeds is not None and seed is None
            self.seen += list(seeds)
            return SimpleNamespace(probs=torch.full((len(x), 3), 1 / 3))

    x, y = patterns((0, 1, 2), 4, seed=9)
    model = Recorder()
    fit_conformal(model, [(x[:5], y[:5]), (x[5:], y[5:])])
    assert model.seen == [MC_SEED] * len(x)


def _hard_last_class(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities (n, 3) of a model that leads with the truth for classes 0 and 1 but, for
    the 20 % of patterns of class 2, with one of the other two."""
    labels = torch.multinomial(torch.tensor([0.4, 0.4, 0.2]), n, True, generator=gen)
    lead = torch.where(labels == 2, torch.randint(0, 2, (n,), generator=gen), labels)
    logits = torch.randn(n, 3, generator=gen)
    logits[torch.arange(n), lead] += 3.0
    return torch.softmax(logits, dim=1), labels


def test_per_class_sets_cover_every_class_where_marginal_ones_miss_the_hard_one():
    """Mondrian: P(y ∈ set | y = c) ≥ 1 − α for each c; the marginal promise is an average."""
    gen = torch.Generator().manual_seed(1)
    marginal, per_class, sizes = [], [], []
    for _ in range(100):
        probs, labels = _hard_last_class(1000, gen)
        sets = ConformalSets.fit(probs[:500], labels[:500], coverage=0.9)
        test_p, test_y = probs[500:], labels[500:]
        marginal.append(class_coverage(sets.holds(test_p, test_y), test_y, 3))
        per_class.append(class_coverage(sets.holds(test_p, test_y, by_class=True), test_y, 3))
        sizes.append(sets.sets(test_p, by_class=True).sum(dim=1).float())
    marginal, per_class = torch.stack(marginal).mean(0), torch.stack(per_class).mean(0)
    # 100 splits × ~100 patterns of class 2: SD of the mean ≈ 0.003
    assert (per_class >= 0.9 - 0.01).all()
    assert marginal[2] < 0.8 and (marginal[:2] > 0.95).all()  # the average hides class 2
    sizes = torch.cat(sizes)
    assert 1.0 < float(sizes.mean()) < 3.0  # not every class in every set


def test_a_class_with_too_few_held_out_patterns_is_in_every_per_class_set():
    """⌈(n + 1) · 0.9⌉ ≤ n needs n ≥ 9 patterns of the class; with 9 q̂ is their largest score."""
    gen = torch.Generator().manual_seed(2)
    probs, _ = _draw(30, 3, gen)
    labels = torch.tensor([0] * 13 + [1] * 9 + [2] * 8)
    sets = ConformalSets.fit(probs, labels, coverage=0.9)
    qhat = sets.class_qhat(3)
    scores = class_scores(probs)[torch.arange(30), labels]
    assert qhat[1] == scores[labels == 1].max()
    assert qhat[0] == scores[labels == 0].sort().values[12]  # ⌈14 · 0.9⌉ = 13th
    assert math.isinf(qhat[2]) and sets.sets(probs, by_class=True)[:, 2].all()


def test_the_held_out_classes_travel_with_the_scores_and_old_sets_say_what_is_missing():
    gen = torch.Generator().manual_seed(3)
    probs, labels = _draw(40, 4, gen)
    sets = ConformalSets.fit(probs, labels)
    back = ConformalSets.from_checkpoint({"conformal": sets.state_dict()})
    assert torch.equal(back.class_qhat(4), sets.class_qhat(4))
    # kept in the order of the sorted scores: each score beside its own pattern's class
    pairs = sorted(zip(true_class_scores(probs, labels).tolist(), labels.tolist(), strict=True))
    kept = list(zip(back.scores.tolist(), back.labels.tolist(), strict=True))
    assert sorted(kept) == pairs and back.scores.tolist() == sorted(back.scores.tolist())
    old = ConformalSets.from_checkpoint({"conformal": {"scores": sets.scores, "coverage": 0.9}})
    assert torch.equal(old.sets(probs), sets.sets(probs))  # marginal sets still work
    with pytest.raises(ValueError, match="fit_posthoc.py --parts conformal"):
        old.sets(probs, by_class=True)
