"""Computation follows the module to its device: nothing is left on the CPU.

CI has no GPU, so the check uses PyTorch's ``meta`` device, which, as CUDA does, refuses an
operation that mixes its tensors with (non-scalar) CPU tensors. The first two defects were seen
on a GPU (`bxrd fit` on one H200): MC-dropout masks and the VI priors stayed on the CPU; a
review found the same in integrated gradients (`bxrd test`'s attribution figures) and in the
feature density's class means.
"""

import pickle

import pyro
import torch
from pyro import poutine

from bxrd.explain.attributions import integrated_gradients
from bxrd.models.dropout_sampling import head_samples
from bxrd.models.vgg1d import VGG1D
from bxrd.uq.feature_density import FeatureDensity
from bxrd.uq.mc_dropout import MCDropoutClassifier
from bxrd.uq.vi import VIClassifier

from .conftest import SMALL
from .toy import LENGTH


def test_dropout_masks_follow_the_activations_device():
    net = VGG1D(3, LENGTH, SMALL).eval()
    h = torch.randn(4, SMALL.hidden)
    on_cpu = head_samples(net, h, 5, seeds=[1, 2, 3, 4])
    assert on_cpu.shape == (5, 4, 3)
    torch.testing.assert_close(on_cpu.sum(-1), torch.ones(5, 4))
    on_meta = head_samples(net.to("meta"), h.to("meta"), 5, seeds=[1, 2, 3, 4])
    assert on_meta.device.type == "meta" and on_meta.shape == (5, 4, 3)


def test_vi_priors_follow_the_module_and_stay_out_of_the_checkpoint():
    model = VIClassifier(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"])
    assert not [k for k in model.state_dict() if "prior_scale" in k]  # checkpoints unchanged
    pickle.loads(pickle.dumps(model))  # still picklable (ddp_spawn, torch.save of a model)
    model.to("meta")
    x, y = torch.empty(4, LENGTH, device="meta"), torch.zeros(4, dtype=torch.long, device="meta")
    with pyro.validation_enabled(False):  # a meta tensor has no values to validate
        trace = poutine.trace(model.model).get_trace(x, y, num_data=4)
        trace.compute_log_prob()  # the prior's log density: raised with the priors on the CPU
    priors = [s for n, s in trace.nodes.items() if n.startswith("out.")]
    assert len(priors) == 2
    assert all(s["fn"].base_dist.loc.device.type == "meta" for s in priors)


def test_integrated_gradients_stay_on_the_patterns_device():
    model = MCDropoutClassifier(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"])
    x, target = torch.rand(2, LENGTH), torch.tensor([0, 2])
    on_cpu = integrated_gradients(model, x, target, n_steps=4)
    assert on_cpu.shape == (2, LENGTH) and torch.isfinite(on_cpu).all()
    on_meta = integrated_gradients(model.to("meta"), x.to("meta"), target.to("meta"), n_steps=4)
    assert on_meta.device.type == "meta" and on_meta.shape == (2, LENGTH)


def test_feature_density_scores_features_on_their_device():
    density = FeatureDensity(torch.randn(3, 8), torch.eye(8), threshold=1.0, quantile=0.99)
    features = torch.randn(4, 8)
    expected = ((features[:, None] - density.means[None]) ** 2).sum(-1).min(1).values
    torch.testing.assert_close(density.score(features), expected)  # identity precision
    on_meta = density.score(features.to("meta"))
    assert on_meta.device.type == "meta" and on_meta.shape == (4,)
