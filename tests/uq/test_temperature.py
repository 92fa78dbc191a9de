"""Temperature scaling: the fitted T is the one that generated the labels; the Laplace
predictive's T changes confidence, never the answer, and travels with the checkpoint."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import load_classifier
from bxrd.uq.conformal import held_out_probs
from bxrd.uq.laplace import LaplaceClassifier
from bxrd.uq.temperature import fit_temperature, tempered

from .conftest import SMALL
from .toy import LENGTH, loaders, patterns

ROOT = Path(__file__).resolve().parents[2]


def test_fitted_temperature_recovers_the_one_that_drew_the_labels():
    gen = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(20_000, 5, generator=gen)
    labels = torch.multinomial(torch.softmax(logits / 2.0, dim=-1), 1, generator=gen).flatten()
    assert abs(fit_temperature(logits, labels) - 2.0) < 0.1
    # on log-probabilities too: softmax ignores a per-row constant
    log_p = torch.log_softmax(logits, dim=-1)
    assert abs(fit_temperature(log_p, labels) - 2.0) < 0.1
    p = tempered(torch.softmax(logits[:4], dim=-1), 2.0)
    torch.testing.assert_close(p, torch.softmax(logits[:4] / 2.0, dim=-1))


def test_laplace_predictive_temperature_keeps_answers_and_lowers_validation_nll(trained, tmp_path):
    _, trainer, _ = trained("laplace")
    path = tmp_path / "laplace.ckpt"
    trainer.save_checkpoint(path)
    model = load_classifier(path)  # a copy: the session's trained model stays at T = 1
    _, val = loaders(0)
    x, _ = patterns((0, 1, 2), 4, seed=21)
    before, (p_val, y_val) = model.predict_proba(x), held_out_probs(model, val)
    t = model.fit_temperature(val)
    after, (q_val, _) = model.predict_proba(x), held_out_probs(model, val)
    assert t != 1.0 and float(model.predictive_temperature) == t
    assert torch.equal(before.prediction, after.prediction)
    torch.testing.assert_close(after.probs.sum(-1), torch.ones(len(x)))

    def nll(p):
        return float(-p[torch.arange(len(y_val)), y_val].log().mean())

    assert nll(q_val) < nll(p_val)
    # the GLM samples behind the ± get the same T as the mean
    torch.manual_seed(0)
    samples = model.predict_samples(x)
    model.predictive_temperature.fill_(1.0)
    torch.manual_seed(0)
    torch.testing.assert_close(samples, tempered(model.predict_samples(x), t))
    model.predictive_temperature.fill_(t)
    # T travels with the checkpoint; a checkpoint from before T existed loads with T = 1
    torch.save({**torch.load(path, weights_only=False), "state_dict": model.state_dict()}, path)
    torch.testing.assert_close(load_classifier(path).predict_proba(x).probs, after.probs)
    old = torch.load(path, weights_only=False)
    del old["state_dict"]["predictive_temperature"]
    torch.save(old, path)
    torch.testing.assert_close(load_classifier(path).predict_proba(x).probs, before.probs)


def test_laplace_temperature_needs_the_probit_predictive():
    # with link_approx="mc" the mean is one of tempered samples: a T fitted on the mean
    # would neither calibrate it nor keep its answer
    model = LaplaceClassifier(3, LENGTH, backbone=SMALL, link_approx="mc")
    with pytest.raises(BxrdInputError, match="probit"):
        model.fit_temperature(loaders(0)[1])


def test_fit_posthoc_refuses_a_new_temperature_beside_old_conformal_sets(tmp_path):
    # sets fitted at the old T would no longer keep their coverage: refused before any data
    # is read (the data YAML given does not exist)
    ckpt = tmp_path / "laplace.ckpt"
    shutil.copy(ROOT / "checkpoints" / "laplace.ckpt", ckpt)
    before = ckpt.read_bytes()
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fit_posthoc.py"), "--checkpoint", str(ckpt),
         "--data", str(tmp_path / "none.yaml"), "--parts", "temperature"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "fitted at the old temperature" in run.stderr
    assert "--parts temperature conformal" in run.stderr
    assert ckpt.read_bytes() == before  # nothing written
