"""The post-fit step is a callback: a plain ``Trainer.fit`` with loaders gets it."""

import pytest
import pytorch_lightning as pl
import torch

from bxrd.callbacks.finalize import Finalize
from bxrd.inference.loading import load_classifier, load_predictor
from bxrd.uq.batches import labelled
from bxrd.uq.conformal import COVERAGE, ConformalSets, held_out_probs

from .conftest import SMALL, VARIANTS, quiet_trainer
from .toy import LENGTH, loaders, patterns


@pytest.mark.parametrize("name", ["mc_dropout", "laplace"])
def test_plain_trainer_fit_runs_the_post_fit_step_and_writes_final_ckpt(tmp_path, name):
    pl.seed_everything(0, verbose=False)
    cls, kwargs = VARIANTS[name]
    model = cls(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"], **kwargs)
    finalize = Finalize()
    trainer = quiet_trainer(2, default_root_dir=tmp_path, callbacks=[finalize])
    train, val = loaders(0)
    trainer.fit(model, train, val)
    path = finalize.path
    assert path == tmp_path / "checkpoints" / "final.ckpt" and path.is_file()
    assert not list(path.parent.glob("*.partial"))  # written through a temporary, renamed
    back = load_classifier(path)
    assert back.feature_density is not None and back.feature_density.threshold > 0
    x, _ = patterns((0, 1, 2), 2, seed=3)
    probs = load_predictor(path).predict_proba(x).probs  # Laplace: the fitted posterior
    assert torch.allclose(probs.sum(-1), torch.ones(len(x)), atol=1e-5)
    if name == "laplace":  # the predictive's temperature, fitted before the conformal sets
        t = float(back.predictive_temperature)
        assert t != 1.0
        held, labels = held_out_probs(back, val)
        refit = ConformalSets.fit(held, labels, COVERAGE)  # at T: they were fitted after it
        torch.testing.assert_close(back.conformal.scores, refit.scores)


def test_moving_a_fitted_laplace_model_parks_its_posterior_and_keeps_its_answers(tmp_path):
    """laplace-torch's posterior is no nn.Module: a move must not strand it on the old device."""
    from .conftest import train

    model, trainer, _ = train("laplace", epochs=2)
    x, _ = patterns((0, 1, 2), 2, seed=5)
    before = model.predict_proba(x, seed=0).probs
    assert model.la is not None
    model.to(torch.device("cpu"))  # as Finalize does after the post-fit step of a GPU fit
    assert model.la is None and model._saved_posterior is not None
    assert all(t.device.type == "cpu" for t in _tensors(model._saved_posterior))
    after = model.predict_proba(x, seed=0).probs  # rebuilt from the parked posterior
    assert torch.allclose(before, after, atol=1e-6)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    assert torch.allclose(load_predictor(path).predict_proba(x, seed=0).probs, before, atol=1e-6)


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _tensors(v)
    elif hasattr(obj, "__dict__"):
        for v in vars(obj).values():
            yield from _tensors(v)


def test_a_bayesian_fc_layer_is_scored_at_its_posterior_median(tmp_path):
    """VI's ``net`` draws a Bayesian ``fc`` from the prior at every call: a random feature space.

    The far-from-training density is fitted and scored on the guide's median instead.
    """
    from bxrd.uq.vi import VIClassifier

    pl.seed_everything(0, verbose=False)
    model = VIClassifier(
        3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"], bayesian_layers=("fc", "out")
    )
    finalize = Finalize()
    train, val = loaders(0)
    quiet_trainer(3, default_root_dir=tmp_path, callbacks=[finalize]).fit(model, train, val)
    back = load_predictor(finalize.path)
    back.eval()
    x = torch.cat([xb for xb, _ in map(labelled, val)])
    with torch.no_grad():
        assert not torch.allclose(back.net.penultimate(x), back.net.penultimate(x))
        h = back.explained_net.penultimate(x)
        median = back.guide.median()
        flat = back.net.embed(x).flatten(1)
        fc = torch.relu(flat @ median["fc.weight"].T + median["fc.bias"])
        assert torch.allclose(h, fc, atol=1e-5)
    # the threshold Finalize stored is the validation quantile of exactly these features
    density = back.feature_density
    expected = torch.quantile(density.score(h), density.quantile)
    assert abs(float(expected) - density.threshold) <= 1e-4 * density.threshold
    seeds = list(range(len(x)))
    first, second = (back.predict_and_assess(x, seeds)[1] for _ in range(2))
    assert torch.equal(first, second)
    # scoring through the median network keeps the classifier's mode (its flag, not a copy)
    density.assess(back.explained_net, x)
    assert not back.training and not back.net.head.drop.training
