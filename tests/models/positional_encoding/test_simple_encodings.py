"""Tests of the ``direct``, ``cartesian3d`` and ``wrap`` positional encodings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from satclip_cli.models.positional_encoding import build_positional_encoding
from satclip_cli.models.positional_encoding.simple_encodings import Cartesian3D, Direct, Wrap, build

NAMES = ("direct", "cartesian3d", "wrap")
DIMS = {"direct": 2, "cartesian3d": 3, "wrap": 4}
CLASSES = {"direct": Direct, "cartesian3d": Cartesian3D, "wrap": Wrap}
KNOWN_POINTS = np.array([[0.0, 0.0], [180.0, 90.0], [-180.0, -90.0], [90.0, 45.0]])


def reference(name: str, lonlat: np.ndarray) -> np.ndarray:
    """Official SatCLIP formulas re-derived in numpy, float64; angles in radians."""
    lon = lonlat[:, 0] * math.pi / 180.0
    lat = lonlat[:, 1] * math.pi / 180.0
    if name == "direct":
        return np.stack([lon - math.pi, lat - math.pi], axis=1)
    if name == "cartesian3d":
        return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    return np.stack([np.cos(lon), np.sin(lon), np.cos(lat), np.sin(lat)], axis=1)


def sample_points(n: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    random = np.stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)], axis=1)
    return np.concatenate([KNOWN_POINTS, random])


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_embedding_dim(name: str) -> None:
    encoding = build(name)
    assert isinstance(encoding, CLASSES[name])
    assert encoding.embedding_dim == DIMS[name]
    out = encoding(torch.zeros(7, 2))
    assert out.shape == (7, DIMS[name])
    assert encoding(torch.zeros(0, 2)).shape == (0, DIMS[name])


@pytest.mark.parametrize("name", NAMES)
def test_matches_numpy_reference(name: str) -> None:
    points = sample_points()
    out = build(name)(torch.from_numpy(points))
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), reference(name, points), rtol=0, atol=1e-12)


def test_known_values() -> None:
    lonlat = torch.tensor(KNOWN_POINTS)
    half = math.sqrt(0.5)
    np.testing.assert_allclose(
        Direct()(lonlat).numpy(),
        [[-math.pi, -math.pi], [0.0, -math.pi / 2], [-2 * math.pi, -3 * math.pi / 2], [-math.pi / 2, -3 * math.pi / 4]],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        Cartesian3D()(lonlat).numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, -1], [0, half, half]], atol=1e-12
    )
    np.testing.assert_allclose(
        Wrap()(lonlat).numpy(), [[1, 0, 1, 0], [-1, 0, 0, 1], [-1, 0, 0, -1], [0, 1, half, half]], atol=1e-12
    )


def test_cartesian3d_is_unit_vector() -> None:
    out = Cartesian3D()(torch.from_numpy(sample_points()))
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1.0, atol=1e-12)


@pytest.mark.parametrize("name", ["wrap", "cartesian3d"])
def test_continuous_across_dateline(name: str) -> None:
    lonlat = torch.tensor([[179.999999, 12.5], [-179.999999, 12.5], [179.999999, -80.0], [-179.999999, -80.0]])
    out = build(name)(lonlat.double())
    np.testing.assert_allclose(out[0].numpy(), out[1].numpy(), atol=1e-6)
    np.testing.assert_allclose(out[2].numpy(), out[3].numpy(), atol=1e-6)


def test_direct_is_discontinuous_across_dateline() -> None:
    out = Direct()(torch.tensor([[179.999999, 0.0], [-179.999999, 0.0]], dtype=torch.float64))
    assert abs(out[0, 0] - out[1, 0]) == pytest.approx(2 * math.pi, abs=1e-6)


def test_cartesian3d_continuous_at_pole() -> None:
    out = Cartesian3D()(torch.tensor([[0.0, 90.0], [123.0, 90.0], [-77.0, 90.0]], dtype=torch.float64))
    np.testing.assert_allclose(out.numpy(), np.tile([0.0, 0.0, 1.0], (3, 1)), atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_factory_returns_right_class(name: str) -> None:
    encoding = build_positional_encoding(name, frequency_num=3, legendre_polys=5)
    assert type(encoding) is CLASSES[name]
    assert encoding.embedding_dim == DIMS[name]
    assert type(build_positional_encoding(name.upper())) is CLASSES[name]


def test_integer_input_is_promoted() -> None:
    out = Wrap()(torch.tensor([[90, 0]]))
    assert out.dtype == torch.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), [[0, 1, 1, 0]], atol=1e-6)


def test_errors() -> None:
    with pytest.raises(ValueError, match="simple positional encoding"):
        build("grid")
    for bad in (torch.zeros(3), torch.zeros(3, 3), torch.zeros(2, 3, 2)):
        with pytest.raises(ValueError, match=r"\[N, 2\]"):
            Wrap()(bad)
