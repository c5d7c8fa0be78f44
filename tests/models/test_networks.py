"""Networks: SIREN initialisation and layer layout follow the original."""

import math

import pytest
import torch

from satclip_cli.models.networks import FCNet, SirenNet, build_network


def test_siren_layout_and_initialisation_bounds():
    torch.manual_seed(0)
    net = SirenNet(100, 512, 256, num_layers=2)
    keys = set(net.state_dict())
    assert keys == {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                    "last_layer.weight", "last_layer.bias"}  # fmt: skip
    assert net.layers[0].weight.abs().max() <= 1 / 100
    assert net.layers[1].weight.abs().max() <= math.sqrt(6 / 512)
    assert net.layers[0].w0 == 30.0 and net.layers[1].w0 == 1.0


def test_siren_forward_is_the_documented_formula():
    torch.manual_seed(0)
    net = SirenNet(4, 8, 3).double().eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    h = torch.sin(30 * (x @ net.layers[0].weight.T + net.layers[0].bias))
    h = torch.sin(h @ net.layers[1].weight.T + net.layers[1].bias)
    expected = h @ net.last_layer.weight.T + net.last_layer.bias
    torch.testing.assert_close(net(x), expected)


def test_fcnet_is_residual_and_build_network_rejects_unknown_names():
    net = FCNet(6, 16, 4, num_layers=4).eval()
    assert sum(1 for key in net.state_dict() if key.endswith("w1.weight")) == 4
    assert net(torch.randn(2, 6)).shape == (2, 4)
    assert isinstance(build_network("linear", 6, 4), torch.nn.Linear)
    with pytest.raises(ValueError):
        build_network("transformer", 6, 4)
