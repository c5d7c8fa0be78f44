"""Properties every positional encoding of the registry must have."""

import numpy as np
import pytest
import torch

from satclip_cli.models.positional_encoding import ENCODINGS, build_positional_encoding


def _points(n: int = 64, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    fixed = [[0.0, 0.0], [180.0, 90.0], [-180.0, -90.0], [90.0, 45.0]]
    random = np.stack([rng.uniform(-180, 180, n), rng.uniform(-89, 89, n)], axis=1)
    return torch.from_numpy(np.concatenate([fixed, random]))


@pytest.mark.parametrize("name", ENCODINGS)
def test_float32_matches_float64_and_keeps_dtype(name):
    encoding = build_positional_encoding(name, legendre_polys=10)
    points = _points()
    out64 = encoding(points)
    out32 = encoding(points.float())
    assert out32.dtype == torch.float32 and out64.dtype == torch.float64
    assert out64.shape == (points.shape[0], encoding.embedding_dim)
    # The multi-scale sinusoids see angles up to ~360 rad at the finest default scale.
    np.testing.assert_allclose(out32.double().numpy(), out64.numpy(), atol=1e-4)


@pytest.mark.parametrize("name", ENCODINGS)
def test_gradients_flow(name):
    encoding = build_positional_encoding(name, legendre_polys=6)
    points = _points(8, seed=1)[4:].clone().requires_grad_()
    weights = torch.randn(points.shape[0], encoding.embedding_dim, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(3))  # fmt: skip
    (encoding(points) * weights).sum().backward()
    assert points.grad is not None and torch.isfinite(points.grad).all()
    assert (points.grad.abs().sum(dim=1) > 0).all()


@pytest.mark.parametrize("name", ENCODINGS)
def test_encodings_have_no_parameters(name):
    encoding = build_positional_encoding(name)
    assert encoding.state_dict() == {} and list(encoding.parameters()) == []
