"""Deep-ensemble files: pooled predictive, explained mean probability, far flag, loading."""

import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.explain.attributions import BASELINE_LEVEL, ProbabilityOf, integrated_gradients
from bxrd.inference.loading import load_classifier, load_predictor, read_checkpoint
from bxrd.uq.checkpoint_format import save_checkpoint
from bxrd.uq.conformal import ConformalSets
from bxrd.uq.ensemble import DeepEnsemble, EnsembleDensity, ensemble_checkpoint
from bxrd.uq.feature_density import FeatureDensity, fit_feature_density

from .toy import loaders, patterns


@pytest.fixture(scope="module")
def member_files(trained, tmp_path_factory):
    """Checkpoint files of three MC-dropout fits (seeds 0-2), each with a feature density."""
    folder = tmp_path_factory.mktemp("members")
    paths = []
    for seed in (0, 1, 2):
        model, trainer, val = trained("mc_dropout", seed)
        model.feature_density = fit_feature_density(model.net, loaders(seed)[0], val, 3)
        paths.append(folder / f"m{seed}.ckpt")
        trainer.save_checkpoint(paths[-1])
        model.feature_density = None  # the cached fit stays as other tests expect it
    return paths


def bundle(paths, out):
    return save_checkpoint(ensemble_checkpoint([read_checkpoint(p) for p in paths]), out)


def test_the_pooled_predictive_is_the_members_mean_with_their_samples(member_files, tmp_path):
    ens = load_predictor(bundle(member_files, tmp_path / "e.ckpt"))
    assert isinstance(ens, DeepEnsemble) and ens.class_names == ["a", "b", "c"]
    members = [load_predictor(p) for p in member_files]
    x, _ = patterns((0, 1, 2), 3, seed=31)
    seeds = list(range(100, 109))
    pred = ens.predict_proba(x, seeds=seeds)
    alone = [m.predict_proba(x, seeds=seeds) for m in members]
    assert torch.allclose(pred.probs, torch.stack([a.probs for a in alone]).mean(0), atol=1e-6)
    assert torch.allclose(pred.probs.sum(dim=1), torch.ones(9), atol=1e-5)
    assert pred.num_samples == sum(a.num_samples for a in alone) == 60
    # one pattern's answer does not depend on the batch it came in
    one = ens.predict_proba(x[4:5], seeds=seeds[4:5])
    assert torch.allclose(one.probs, pred.probs[4:5], atol=1e-6)


def test_the_explained_network_gives_the_mean_probability_and_complete_attributions(
    member_files, tmp_path
):
    ens = load_predictor(bundle(member_files, tmp_path / "e.ckpt"))
    x, y = patterns((0, 1, 2), 2, seed=32)
    ens.eval()
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m.net(x), -1) for m in ens.members]).mean(0)
        assert torch.allclose(ProbabilityOf(ens)(x), mean, atol=1e-6)
    attr = integrated_gradients(ens, x.clone(), y, n_steps=256)
    flat = (BASELINE_LEVEL * x.amax(dim=-1, keepdim=True)).expand_as(x)
    with torch.no_grad():
        p = ProbabilityOf(ens)
        gain = p(x)[torch.arange(6), y] - p(flat)[torch.arange(6), y]
    assert gain.abs().max() > 0.3  # the peaks matter, so completeness is a real check
    assert torch.allclose(attr.sum(dim=1), gain, atol=0.03)


def test_far_from_training_is_the_median_member_verdict():
    # members of different feature widths (2, 3, 4): a split of equal chunks would fail
    densities = [
        FeatureDensity(torch.zeros(1, d), torch.eye(d), threshold=t, quantile=0.99)
        for d, t in ((2, 1.0), (3, 4.0), (4, 9.0))
    ]
    ens = EnsembleDensity(densities, nets=[])  # scored from given features: no network
    smooth = torch.linspace(0, 1, 64)[None]  # not noise-dominated

    def at(distance):  # every member's features at squared distance distance**2
        return [
            torch.cat([torch.tensor([[distance]]), torch.zeros(1, d - 1)], 1) for d in (2, 3, 4)
        ]

    # squared distances 4 under each member: relative 4, 1, 0.44 -> median 1 (not above)
    score, far = ens.assess_features(at(2.0), smooth)
    assert score.item() == pytest.approx(1.0) and not far.item()
    # distances 9: relative 9, 2.25, 1 -> median 2.25: two of three members flag it
    score, far = ens.assess_features(at(3.0), smooth)
    assert score.item() == pytest.approx(2.25) and far.item()
    # two members: far only when both flag (more than half); relative 4 and 1 -> not far
    two = EnsembleDensity(densities[:2], nets=[])
    assert not two.assess_features(at(2.0)[:2], smooth)[1].item()
    noise = torch.rand(1, 64, generator=torch.Generator().manual_seed(0))
    assert ens.assess_features(at(0.0), noise)[1].item()  # noise is always far


def test_the_far_score_is_the_median_of_the_members_own_relative_scores(member_files, tmp_path):
    ens = load_predictor(bundle(member_files, tmp_path / "e.ckpt"))
    members = [load_predictor(p) for p in member_files]
    x, _ = patterns((0, 1, 2), 10, seed=33)
    x[::3] *= torch.linspace(0.2, 1.0, x.shape[1])  # some patterns off the training shape
    seeds = list(range(30))
    _, score, far = ens.predict_and_assess(x, seeds=seeds)
    rel = torch.stack(
        [m.predict_and_assess(x, seeds=seeds)[1] / m.feature_density.threshold for m in members]
    )
    assert torch.allclose(score, rel.median(dim=0).values, rtol=1e-5)
    assert torch.equal(far, score > 1)  # smooth patterns: the flag is the score's alone
    kept = torch.ones(30, dtype=torch.bool)
    kept[::3] = False
    assert far[~kept].any() and far[kept].float().mean() <= 0.1  # both verdicts occur


def test_members_drawing_different_sample_counts_weigh_equally(trained):
    det, mcd = trained("deterministic")[0], trained("mc_dropout")[0]
    ens = DeepEnsemble([det, mcd])
    a, _ = patterns((0,), 6, seed=35)
    b, _ = patterns((1,), 6, seed=36)
    x = (a + b) / 2  # two classes' peaks at once: uncertain answers, entropies well above 0
    seeds = list(range(6))
    pred = ens.predict_proba(x, seeds=seeds)
    one, many = det.predict_proba(x, seeds=seeds), mcd.predict_proba(x, seeds=seeds)
    mcd.eval()
    with torch.no_grad():
        many_samples = mcd.predict_distribution_seeded(x, seeds)[0]  # (20, B, C)
    entropy = lambda p: -(p * p.clamp_min(1e-12).log()).sum(-1)  # noqa: E731
    mean = (one.probs + many.probs) / 2
    # equal-weight mixture: MI = H(mean) − (H(det) + mean_t H(mcd_t)) / 2
    expected = entropy(mean) - (entropy(one.probs) + entropy(many_samples).mean(0)) / 2
    # stacking 1 + 20 samples would weigh the deterministic member 1/21 instead
    stacked = entropy(mean) - (entropy(one.probs) + entropy(many_samples).sum(0)) / 21
    assert (expected - stacked).abs().max() > 0.01  # the test can tell the two apart
    assert torch.allclose(pred.probs, mean, atol=1e-6)
    assert torch.allclose(pred.mutual_information, expected.clamp_min(0), atol=1e-4)
    assert pred.num_samples == 2 * 20


def test_ensemble_files_keep_their_sets_and_refuse_what_they_cannot_hold(
    member_files, trained, tmp_path
):
    path = bundle(member_files, tmp_path / "e.ckpt")
    checkpoint = read_checkpoint(path)
    probs = torch.softmax(torch.randn(50, 3, generator=torch.Generator().manual_seed(2)), -1)
    sets = ConformalSets.fit(probs, probs.argmax(1), 0.9)
    checkpoint["conformal"] = sets.state_dict()
    save_checkpoint(checkpoint, path)
    assert load_predictor(path).conformal.qhat() == sets.qhat()
    with pytest.raises(BxrdInputError, match="ensemble of several models"):
        load_classifier(path)
    with pytest.raises(ValueError, match="at least two"):
        ensemble_checkpoint([read_checkpoint(member_files[0])])
    with pytest.raises(ValueError, match="itself an ensemble"):
        ensemble_checkpoint([checkpoint, read_checkpoint(member_files[0])])
    other = read_checkpoint(member_files[1])
    other["hyper_parameters"]["class_names"] = ["a", "b", "z"]
    save_checkpoint(ensemble_checkpoint([read_checkpoint(member_files[0]), other]), path)
    with pytest.raises(BxrdInputError, match="member 1's classes differ"):
        load_predictor(path)
    broken = read_checkpoint(path)
    del broken["members"][1]["bxrd"]
    save_checkpoint(broken, tmp_path / "broken.ckpt")
    with pytest.raises(BxrdInputError, match=r"broken\.ckpt: member 1: not a bxrd checkpoint"):
        load_predictor(tmp_path / "broken.ckpt")
    broken = read_checkpoint(member_files[0])
    del broken["state_dict"]
    save_checkpoint(ensemble_checkpoint([checkpoint["members"][0], broken]), path)
    with pytest.raises(BxrdInputError, match=r"e\.ckpt: member 1 does not load \(KeyError"):
        load_predictor(path)


def test_members_of_any_method_pool_through_the_lightning_loader(member_files, trained, tmp_path):
    model, trainer, _ = trained("laplace")
    laplace = tmp_path / "laplace.ckpt"
    trainer.save_checkpoint(laplace)
    ens = load_predictor(bundle([member_files[0], laplace], tmp_path / "mixed.ckpt"))
    assert type(ens.members[1]) is type(model)
    assert ens.feature_density is None  # the Laplace member has none: nothing is flagged
    assert ens.predict_and_assess(*patterns((0,), 1, seed=3)[:1], seeds=[0])[2] is None
    x, _ = patterns((0, 1), 2, seed=34)
    seeds = [1, 2, 3, 4]
    expected = (
        load_predictor(member_files[0]).predict_proba(x, seeds=seeds).probs
        + model.predict_proba(x, seeds=seeds).probs
    ) / 2
    assert torch.allclose(ens.predict_proba(x, seeds=seeds).probs, expected, atol=1e-5)


def test_a_vi_member_is_explained_at_its_posterior_median(trained):
    """A VI network draws its Bayesian head from the prior at every call; the explained one
    is fixed at the guide's median, alone and inside an ensemble."""
    vi, mcd = trained("vi")[0], trained("mc_dropout")[0]
    x, y = patterns((0, 1, 2), 2, seed=37)
    vi.eval()
    with torch.no_grad():
        assert not torch.allclose(vi.net(x), vi.net(x))  # what the attributions used to see
        assert torch.equal(ProbabilityOf(vi)(x), ProbabilityOf(vi)(x))
        # the median network agrees with the sampled predictive's answer
        assert torch.equal(ProbabilityOf(vi)(x).argmax(1), vi.predict_proba(x, seed=0).prediction)
    ens = DeepEnsemble([vi, mcd])
    first = integrated_gradients(ens, x.clone(), y, n_steps=32)
    assert torch.equal(first, integrated_gradients(ens, x.clone(), y, n_steps=32))
    # far from training through the members' own explained networks (the ensemble's has no
    # penultimate layer): the same scores as from their features
    density = FeatureDensity(torch.zeros(1, 64), torch.eye(64), threshold=1.0, quantile=0.99)
    assert ens.feature_density is None  # the toy members have none: build one
    both = EnsembleDensity([density, density], [vi.explained_net, mcd.explained_net])
    with torch.no_grad():
        feats = [vi.explained_net.penultimate(x), mcd.net.penultimate(x)]
        assert torch.allclose(both.assess(ens.net, x)[0], both.assess_features(feats, x)[0])
