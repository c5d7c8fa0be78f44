"""Location encoder config and factory."""

import pytest
import torch

from satclip_cli.models.location_encoder import LocationEncoderConfig, build_location_encoder
from satclip_cli.models.networks import NETWORKS
from satclip_cli.models.positional_encoding import ENCODINGS


def test_config_round_trips_through_dict():
    config = LocationEncoderConfig(legendre_polys=20, sh_convention="orthonormal", embed_dim=64)
    assert LocationEncoderConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown config keys"):
        LocationEncoderConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(ValueError):
        LocationEncoderConfig(network="transformer")


@pytest.mark.parametrize("network", NETWORKS)
def test_every_network_embeds_and_trains(network):
    torch.manual_seed(0)
    encoder = build_location_encoder(legendre_polys=5, network=network, embed_dim=16, capacity=32).train()
    lonlat = torch.tensor([[0.0, 0.0], [120.0, -30.0], [-75.0, 60.0]])
    out = encoder(lonlat)
    assert out.shape == (3, 16)
    out.square().sum().backward()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_positional_encoding_builds_a_model(encoding):
    encoder = build_location_encoder(positional_encoding=encoding, legendre_polys=4, embed_dim=8, capacity=16).eval()
    with torch.no_grad():
        out = encoder(torch.tensor([[10.0, 10.0], [-170.0, -80.0]], dtype=torch.float64))
    assert out.shape == (2, 8) and torch.isfinite(out).all()


def test_siren_dropout_only_in_training():
    torch.manual_seed(0)
    encoder = build_location_encoder(legendre_polys=4, embed_dim=8, capacity=64)
    lonlat = torch.tensor([[5.0, 5.0]] * 4)
    encoder.eval()
    assert torch.equal(encoder(lonlat)[0], encoder(lonlat)[1])
    encoder.train()
    assert not torch.equal(encoder(lonlat)[0], encoder(lonlat)[1])


def test_float64_model_runs_in_float64():
    encoder = build_location_encoder(legendre_polys=3, embed_dim=4, capacity=8).double().eval()
    assert encoder(torch.tensor([[1.0, 2.0]])).dtype == torch.float64


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legendre_polys": 1_000_000}, r"legendre_polys must be an integer in \[1, 200\], got 1000000"),
        ({"legendre_polys": 0}, r"legendre_polys must be an integer in \[1, 200\]"),
        ({"capacity": 10.5}, r"capacity must be an integer"),
        ({"embed_dim": True}, r"embed_dim must be an integer"),
        ({"dropout": float("nan")}, r"dropout must be in \[0, 1\), got nan"),
        ({"capacity": 60_000, "num_hidden_layers": 5, "legendre_polys": 100}, r"about 1.5e\+10 parameters"),
    ],
)
def test_absurd_sizes_are_refused_before_anything_is_allocated(change, message):
    with pytest.raises(ValueError, match=message):
        LocationEncoderConfig(**change)


def test_the_largest_allowed_sizes_are_accepted_without_building():
    config = LocationEncoderConfig(legendre_polys=200, capacity=1024, num_hidden_layers=4)
    assert config.legendre_polys == 200  # 40,000 features x 1024: 41 M parameters, under the limit
