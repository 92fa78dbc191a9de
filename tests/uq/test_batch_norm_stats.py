"""Batch-norm statistics recomputed with the final weights ("precise BN") after a fit."""

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from bxrd.callbacks.finalize import Finalize
from bxrd.inference.loading import load_classifier
from bxrd.models.vgg1d import VGG1D
from bxrd.uq.batch_norm_stats import recompute_batch_norm
from bxrd.uq.feature_density import fit_feature_density

from .conftest import SMALL, VARIANTS, quiet_trainer
from .toy import LENGTH, DictDataset, patterns


def _first_bn_inputs(net, batches):
    """The inputs (B, C, L) of the first batch-norm layer for each batch, in eval mode."""
    bn = next(m for m in net.modules() if isinstance(m, nn.BatchNorm1d))
    seen = []
    handle = bn.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    net.eval()
    with torch.no_grad():
        for x in batches:
            net(x)
    handle.remove()
    return bn, seen


def test_running_stats_become_the_plain_average_of_the_batch_statistics():
    torch.manual_seed(0)
    net = VGG1D(3, LENGTH, SMALL)
    x, _ = patterns((0, 1, 2), 20, seed=1)
    batches = list(x.split(16))  # 4 batches (16, 16, 16, 12)
    bn, inputs = _first_bn_inputs(net, batches)  # the first layer's input has no BN before it
    bn.running_mean.fill_(5.0)  # stale statistics, as a lagging moving average leaves them
    bn.running_var.fill_(9.0)
    assert recompute_batch_norm(net, batches, max_batches=10) == 4
    means = torch.stack([i.mean(dim=(0, 2)) for i in inputs])
    variances = torch.stack([i.transpose(0, 1).flatten(1).var(dim=1) for i in inputs])
    assert torch.allclose(bn.running_mean, means.mean(0), atol=1e-6)
    assert torch.allclose(bn.running_var, variances.mean(0), rtol=1e-5, atol=1e-8)
    assert bn.momentum == 0.1 and not net.training  # restored


def test_one_batch_makes_eval_mode_answer_as_training_mode_on_that_batch():
    torch.manual_seed(0)
    net = VGG1D(3, LENGTH, SMALL)
    net.head.drop.p = 0.0  # compare the deterministic parts only
    x, _ = patterns((0, 1, 2), 30, seed=2)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.add_(0.3)
    net.train()
    with torch.no_grad():
        trained_mode = net(x)
    net.eval()
    assert not torch.allclose(net(x), trained_mode, atol=1e-2)
    recompute_batch_norm(net, [x], max_batches=1)
    # eval uses the unbiased variance (n / (n - 1) of the batch's): equal up to that factor
    assert torch.allclose(net(x), trained_mode, atol=2e-2)


def test_limits_empty_input_and_the_mode_are_respected():
    torch.manual_seed(0)
    net = VGG1D(3, LENGTH, SMALL).train()
    x, _ = patterns((0, 1), 8, seed=3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert recompute_batch_norm(net, [], max_batches=4) == 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    taken = []
    assert recompute_batch_norm(net, (taken.append(b) or b for b in x.split(4)), 2) == 2
    assert len(taken) == 2 and net.training  # no batch fetched past the limit; mode restored
    params = dict(net.named_parameters())
    assert all(torch.equal(before[k], p) for k, p in params.items())  # weights untouched
    with pytest.raises(ValueError, match="max_batches"):
        recompute_batch_norm(net, [x], 0)


@pytest.mark.parametrize("bn_batches", [0, 4])
def test_finalize_writes_the_recomputed_statistics_into_final_ckpt(tmp_path, bn_batches):
    pl.seed_everything(0, verbose=False)
    cls, kwargs = VARIANTS["mc_dropout"]
    model = cls(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"], lr=3e-3, **kwargs)
    xt, yt = patterns((0, 1, 2), 40, seed=0)
    xv, yv = patterns((0, 1, 2), 10, seed=1)
    train = DataLoader(DictDataset(xt, yt), batch_size=24)  # unshuffled: the same batches
    finalize = Finalize(bn_batches=bn_batches)
    trainer = quiet_trainer(3, default_root_dir=tmp_path, callbacks=[finalize])
    trainer.fit(model, train, DataLoader(DictDataset(xv, yv), batch_size=64))
    saved = load_classifier(finalize.path).net
    again = load_classifier(finalize.path).net
    recompute_batch_norm(again, train, 4)  # what Finalize computes, on the final weights
    keys = [k for k in saved.state_dict() if k.endswith(("running_mean", "running_var"))]
    same = all(torch.allclose(saved.state_dict()[k], again.state_dict()[k]) for k in keys)
    assert same == bool(bn_batches)  # 0 keeps the lagging moving averages of training
    # the feature density was fitted after the recompute, on the network that was saved
    val = DataLoader(DictDataset(xv, yv), batch_size=64)
    density = load_classifier(finalize.path).feature_density
    refit = fit_feature_density(saved, train, val, 3, finalize.quantile)
    assert torch.allclose(density.means, refit.means, atol=1e-5)
    with pytest.raises(ValueError, match="bn_batches"):
        Finalize(bn_batches=-1)
