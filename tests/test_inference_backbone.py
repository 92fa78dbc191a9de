"""The inference backbone (folded batch norm, channels-last) computes the network's features."""

import pytest
import torch

from bxrd.models.inference_backbone import InferenceBackbone
from bxrd.models.vgg1d import VGG1D, VGG1DConfig


def _net(seed: int, **config) -> VGG1D:
    torch.manual_seed(seed)
    net = VGG1D(6, 300, VGG1DConfig(channels=(4, 8, 8), hidden=32, head_length=8, **config))
    for m in net.modules():  # trained-looking batch-norm statistics, not the identity
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.2, 3.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.norm.set_stats(0.1, 0.2)
    return net.eval()


@pytest.mark.parametrize("batch_norm", [True, False])
def test_features_equal_the_plain_network_within_float_rounding(batch_norm):
    net = _net(0, batch_norm=batch_norm)
    x = torch.rand(7, 300) ** 4  # peaky, like a pattern
    with torch.no_grad():
        plain = net.penultimate(x)
    fast = InferenceBackbone(net)(x)
    assert fast.shape == plain.shape == (7, 32)
    assert (plain > 0).float().mean() > 0.2  # ReLU leaves real signal to compare
    assert torch.allclose(fast, plain, rtol=1e-5, atol=1e-6 * plain.abs().max())
    one = InferenceBackbone(net)(x[3:4])  # a pattern's features do not depend on its batch
    assert torch.allclose(one[0], fast[3], rtol=1e-5, atol=1e-6 * plain.abs().max())


def test_a_weight_change_is_seen_and_unknown_layers_are_refused():
    net = _net(1)
    backbone = InferenceBackbone(net)
    assert backbone.matches(net) and not backbone.matches(_net(1))
    with torch.no_grad():
        net.features[1].running_var.mul_(2.0)  # in place: the folded weights are stale
    assert not backbone.matches(net)
    x = torch.rand(3, 300) ** 4
    with torch.no_grad():
        assert torch.allclose(InferenceBackbone(net)(x), net.penultimate(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no inference rearrangement"):
        InferenceBackbone(_net(2, conv_dropout=0.1))  # dropout between the blocks


def test_swapped_tensor_data_is_seen():
    net = _net(3)
    backbone = InferenceBackbone(net)
    conv = net.features[0]
    conv.weight.data = conv.weight.data * 2.0  # what .to(device) does: new storage, no version bump
    assert not backbone.matches(net)
