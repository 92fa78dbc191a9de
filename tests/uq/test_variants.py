import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import load_classifier, load_predictor
from bxrd.uq.ensemble import DeepEnsemble
from bxrd.uq.laplace import LaplaceClassifier
from bxrd.uq.methods import UQMethod

from .conftest import SMALL, VARIANTS, train
from .toy import LENGTH, patterns

BAYESIAN = ["mc_dropout", "vi", "laplace"]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_trains_and_predicts_probabilities(trained, name):
    model, trainer, val = trained(name)
    pred = model.predict_proba(val)
    assert pred.probs.shape == (60, 3)
    assert torch.allclose(pred.probs.sum(dim=1), torch.ones(60), atol=1e-5)
    labels = torch.cat([b["label"] for b in val])
    assert (pred.prediction == labels).float().mean() > 0.9
    assert (pred.mutual_information is None) == (name == "deterministic")
    metrics = trainer.validate(model, val, verbose=False)[0]
    assert metrics["val/acc"] > 0.9 and 0 <= metrics["val/ece"] <= 1


@pytest.mark.parametrize("name", BAYESIAN)
def test_entropy_is_higher_on_noise_and_unseen_class(trained, name):
    model, _, _ = trained(name)
    x_in, _ = patterns((0, 1, 2), 20, seed=5)
    x_new, _ = patterns((3,), 30, seed=6)
    noise = torch.rand(30, LENGTH, generator=torch.Generator().manual_seed(7))
    h_in = model.predict_proba(x_in).entropy.mean()
    assert model.predict_proba(noise).entropy.mean() > h_in
    assert model.predict_proba(x_new).entropy.mean() > h_in


def test_dropout_passes_differ_deterministic_passes_do_not(trained):
    x, _ = patterns((0,), 4, seed=9)
    mcd, _, _ = trained("mc_dropout")
    samples = mcd.predict_samples(x)
    assert samples.shape == (20, 4, 3) and samples.std(dim=0).max() > 1e-4
    det, _, _ = trained("deterministic")
    assert torch.equal(det.predict_proba(x).probs, det.predict_proba(x).probs)
    assert det.predict_proba(x).std.abs().max() == 0


@pytest.mark.parametrize("name", list(VARIANTS))
def test_checkpoint_round_trip_gives_same_predictive(trained, tmp_path, name):
    model, trainer, _ = trained(name)
    x, _ = patterns((0, 1, 2), 3, seed=11)
    path = tmp_path / f"{name}.ckpt"
    trainer.save_checkpoint(path)
    back = load_classifier(path)
    assert type(back) is type(model) and back.class_names == ["a", "b", "c"]
    torch.manual_seed(0)
    before = model.predict_proba(x)
    torch.manual_seed(0)
    after = back.predict_proba(x)
    assert torch.allclose(before.probs, after.probs, atol=1e-5)
    assert torch.allclose(before.std, after.std, atol=1e-5)


def test_loaded_laplace_predicts_without_dropout_whatever_its_mode_at_first_use(trained, tmp_path):
    # the last-layer posterior copies the network when it is first built: a copy made in train
    # mode kept its dropout on, and every prediction was a random draw of it
    model, trainer, _ = trained("laplace")
    path = tmp_path / "laplace.ckpt"
    trainer.save_checkpoint(path)
    back = load_classifier(path)
    assert not back.training
    back.train()  # e.g. a caller who trains on; the posterior is first used after
    la = back._require_posterior()
    assert not la.model.training
    x, _ = patterns((0, 1, 2), 3, seed=12)
    first, second = (la(x, pred_type="glm", link_approx="probit") for _ in range(2))
    torch.testing.assert_close(first, second)  # the probit mean draws nothing
    torch.testing.assert_close(first, model.eval().predict_proba(x).probs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_inference_loader_matches_the_lightning_module(trained, tmp_path, name):
    model, trainer, _ = trained(name)
    x, _ = patterns((0, 1, 2), 3, seed=15)
    path = tmp_path / f"{name}.ckpt"
    trainer.save_checkpoint(path)
    fast = load_predictor(path)
    # MC dropout needs only the network: it comes back without its Lightning class
    assert (type(fast).__name__ == "DropoutPredictor") == (name == "mc_dropout")
    assert fast.class_names == model.class_names
    torch.manual_seed(0)
    expected = model.predict_proba(x)
    torch.manual_seed(0)
    got = fast.predict_proba(x)
    assert torch.allclose(expected.probs, got.probs, atol=1e-5)
    assert torch.allclose(expected.std, got.std, atol=1e-5)


def test_temperature_scaling_softens_an_overconfident_model(trained):
    model, _, _ = trained("deterministic")
    x, y = patterns((0, 1, 2), 30, seed=14)
    flip = torch.rand(len(y), generator=torch.Generator().manual_seed(0)) < 0.3
    y = torch.where(flip, (y + 1) % 3, y)  # 30 % wrong labels: the model is overconfident
    batches = [{"pattern": x, "label": y}]
    nll = lambda: torch.nn.functional.nll_loss(model.predict_proba(x).probs.log(), y)  # noqa: E731
    before_pred, before_nll = model.predict_proba(x).prediction, nll()
    t = model.fit_temperature(batches)
    assert t > 1.0
    assert nll() < before_nll
    assert torch.equal(model.predict_proba(x).prediction, before_pred)
    model.temperature.fill_(1.0)


def test_ensemble_pools_members(trained):
    members = [train("deterministic", seed=s, epochs=6)[0] for s in (1, 2, 3)]
    ens = DeepEnsemble(members)
    x, _ = patterns((0, 1, 2), 5, seed=12)
    pred = ens.predict_proba(x)
    assert pred.num_samples == 3 and pred.mutual_information is not None
    means = torch.stack([m.predict_proba(x).probs for m in members]).mean(0)
    assert torch.allclose(pred.probs, means, atol=1e-5)


def test_single_pattern_and_abstention(trained):
    model, _, _ = trained("mc_dropout")
    x, _ = patterns((1,), 1, seed=13)
    pred = model.predict_proba(x[0])
    assert pred.probs.shape == (1, 3) and pred.topk_indices.shape == (1, 3)
    assert bool(model.predict_proba(x[0], threshold=1.01).abstain[0])


def test_unfitted_laplace_and_bad_checkpoints(tmp_path):
    model = LaplaceClassifier(3, LENGTH, backbone=SMALL)
    with pytest.raises(BxrdInputError, match="not fitted"):
        model.predict_proba(torch.rand(2, LENGTH))
    (tmp_path / "junk.ckpt").write_bytes(b"\x00garbage")
    with pytest.raises(BxrdInputError, match="junk.ckpt: not a readable checkpoint"):
        load_classifier(tmp_path / "junk.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(BxrdInputError, match="other.ckpt: not a bxrd checkpoint"):
        load_classifier(tmp_path / "other.ckpt")
    with pytest.raises(BxrdInputError, match="missing.ckpt: no such checkpoint"):
        load_classifier(tmp_path / "missing.ckpt")


def test_other_format_is_refused(trained, tmp_path):
    model, trainer, _ = trained("deterministic")
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=False)
    ckpt["bxrd"]["format"] = 0
    torch.save(ckpt, path)
    with pytest.raises(BxrdInputError, match="old.ckpt: checkpoint format 0"):
        load_classifier(path)


def test_feature_density_flags_noise_and_survives_the_checkpoint(trained, tmp_path):
    from bxrd.uq.feature_density import fit_feature_density

    from .toy import loaders

    model, trainer, val = trained("mc_dropout")
    train_loader, _ = loaders(0)
    density = fit_feature_density(model.net, train_loader, val, 3, quantile=0.95)
    x_in, _ = patterns((0, 1, 2), 20, seed=31)
    noise = torch.rand(30, LENGTH, generator=torch.Generator().manual_seed(32))
    _, far_in = density.assess(model.net, x_in)
    _, far_noise = density.assess(model.net, noise)
    assert far_in.float().mean() <= 0.2 and far_noise.all()
    model.feature_density = density
    path = tmp_path / "density.ckpt"
    trainer.save_checkpoint(path)
    model.feature_density = None
    for back in (load_classifier(path), load_predictor(path)):
        scores, _ = back.feature_density.assess(back.net, noise)
        assert torch.allclose(scores, density.score(model.net.penultimate(noise).detach()))


def test_seeded_predictions_repeat_and_leave_the_global_state_alone(trained):
    model, _, _ = trained("mc_dropout")
    x, _ = patterns((0, 1, 2), 3, seed=33)
    state = torch.random.get_rng_state()
    a, b = model.predict_proba(x, seed=5), model.predict_proba(x, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.probs, b.probs) and torch.equal(a.std, b.std)
    assert not torch.equal(a.std, model.predict_proba(x, seed=6).std)


@pytest.mark.parametrize("method", list(UQMethod))
def test_every_registered_method_names_its_class_and_back(method):
    cls = method.classifier()
    assert cls.method is method and UQMethod.of_class_path(method.class_path) is method
    assert UQMethod(method.value) is method and str(method) == method.value
