"""Tests of the multi-scale sinusoidal encodings (``theory``, ``grid``, ``sphere*``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from satclip_cli.models.positional_encoding import ENCODINGS, build_positional_encoding
from satclip_cli.models.positional_encoding.sinusoidal_encodings import (
    GridAndSphere,
    Theory,
    build,
    geometric_frequencies,
)

NAMES = ("grid", "theory", "spherec", "spherec+", "spherem", "spherem+")
WIDTH = {"grid": 4, "theory": 6, "spherec": 6, "spherec+": 12, "spherem": 10, "spherem+": 16}
KNOWN_POINTS = np.array([[0.0, 0.0], [180.0, 90.0], [-180.0, -90.0], [90.0, 45.0]])
# Radii making every 360 * freq a multiple of 2π: 4, 2 and 1 cycles per 360 degrees.
ALIGNED = {"frequency_num": 3, "min_radius": 45 / math.pi, "max_radius": 180 / math.pi}


def reference(name: str, lonlat: np.ndarray, F: int, min_radius: float, max_radius: float) -> np.ndarray:
    """The official formulas re-derived column by column in float64 (coordinates stay in degrees)."""
    freqs = [1.0 / (min_radius * (max_radius / min_radius) ** (k / (F - 1))) for k in range(F)]
    sin, cos = math.sin, math.cos
    rows = []
    for lon, lat in lonlat:
        row: list[float] = []
        if name == "grid":
            row = [fn(c * w) for c in (lon, lat) for w in freqs for fn in (sin, cos)]
        elif name == "theory":
            projections = (lon, -lon / 2 + math.sqrt(3) / 2 * lat, -lon / 2 - math.sqrt(3) / 2 * lat)
            angles = np.array([a * w for w in freqs for a in projections for _ in (0, 1)])
            # Official: the row is viewed as [2, 3F] and sin/cos alternate within each half.
            halves = angles.reshape(2, 3 * F)
            halves[:, 0::2] = np.sin(halves[:, 0::2])
            halves[:, 1::2] = np.cos(halves[:, 1::2])
            row = list(halves.reshape(-1))
        else:
            for w in freqs:
                la, lo = lat * w, lon * w
                if name == "spherec":
                    terms = [sin(la), cos(la) * cos(lo), cos(la) * sin(lo)]
                elif name == "spherec+":
                    terms = [sin(la), cos(la), sin(lo), cos(lo), cos(la) * cos(lo), cos(la) * sin(lo)]
                else:
                    mixed = [cos(la) * cos(lon), cos(lat) * cos(lo), cos(la) * sin(lon), cos(lat) * sin(lo)]
                    head = [sin(la)] if name == "spherem" else [sin(la), cos(la), sin(lo), cos(lo)]
                    terms = head + mixed
                row += [t for t in terms for _ in (0, 1)]  # every sphere* feature appears twice
        rows.append(row)
    return np.array(rows)


def sample_points(n: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    random = np.stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)], axis=1)
    return np.concatenate([KNOWN_POINTS, random])


def test_geometric_frequencies() -> None:
    freqs = np.array(geometric_frequencies(10, 1.0, 360.0))
    assert freqs[0] == pytest.approx(1.0)
    assert freqs[-1] == pytest.approx(1 / 360)
    np.testing.assert_allclose(freqs[1:] / freqs[:-1], 360 ** (-1 / 9), rtol=1e-12)
    np.testing.assert_allclose(
        geometric_frequencies(3, 45 / math.pi, 180 / math.pi), np.array([4, 2, 1]) * math.pi / 180
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("F", [2, 3, 10])
def test_shape_and_embedding_dim(name: str, F: int) -> None:
    encoding = build(name, frequency_num=F)
    assert encoding.embedding_dim == WIDTH[name] * F
    assert encoding(torch.zeros(5, 2)).shape == (5, WIDTH[name] * F)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("F", "min_radius", "max_radius"), [(10, 1.0, 360.0), (5, 0.5, 100.0), (2, 3.0, 3.0)])
def test_matches_numpy_reference(name: str, F: int, min_radius: float, max_radius: float) -> None:
    points = sample_points()
    out = build(name, F, min_radius, max_radius)(torch.from_numpy(points))
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), reference(name, points, F, min_radius, max_radius), rtol=0, atol=1e-12)


def test_known_values_at_origin() -> None:
    origin = torch.zeros(1, 2, dtype=torch.float64)
    np.testing.assert_array_equal(build("grid", 3)(origin)[0].numpy(), [0, 1] * 6)
    np.testing.assert_array_equal(build("spherec", 2)(origin)[0].numpy(), [0, 0, 1, 1, 0, 0] * 2)
    np.testing.assert_array_equal(build("spherem", 2)(origin)[0].numpy(), [0, 0, 1, 1, 1, 1, 0, 0, 0, 0] * 2)
    np.testing.assert_array_equal(build("theory", 2)(origin)[0].numpy(), [0, 1] * 6)
    # Odd F (official quirk): sin/cos restart in the second half instead of continuing [0, 1] * 9.
    np.testing.assert_array_equal(build("theory", 3)(origin)[0].numpy(), ([0, 1] * 4 + [0]) * 2)


def test_known_values_at_90_45() -> None:
    # F=2, min_radius=max_radius=180/π: both frequencies convert degrees to radians exactly.
    point = torch.tensor([[90.0, 45.0]], dtype=torch.float64)
    half = math.sqrt(0.5)
    out = build("spherec+", 2, 180 / math.pi, 180 / math.pi)(point)[0].numpy()
    np.testing.assert_allclose(out[:12], np.repeat([half, half, 1, 0, 0, half], 2), atol=1e-12)
    np.testing.assert_allclose(out[12:], out[:12], atol=0)


@pytest.mark.parametrize("name", ["spherec", "spherec+", "spherem", "spherem+"])
def test_sphere_features_come_in_identical_pairs(name: str) -> None:
    out = build(name)(torch.from_numpy(sample_points()))
    assert torch.equal(out[:, 0::2], out[:, 1::2])


@pytest.mark.parametrize("name", NAMES)
def test_module_dtype_cast_does_not_change_output(name: str) -> None:
    points = torch.from_numpy(sample_points())
    encoding = build(name)
    reference_out = encoding(points)
    encoding.float()
    assert torch.equal(encoding(points), reference_out)


def _dateline_gap(encoding: torch.nn.Module) -> float:
    lonlat = torch.tensor([[179.999999, 33.3], [-179.999999, 33.3]], dtype=torch.float64)
    out = encoding(lonlat)
    return float((out[0] - out[1]).abs().max())


@pytest.mark.parametrize("name", ["grid", "spherec", "spherec+"])
def test_continuous_across_dateline_with_aligned_radii(name: str) -> None:
    assert _dateline_gap(build(name, **ALIGNED)) < 1e-6


@pytest.mark.parametrize("name", ["grid", "spherec", "spherec+", "spherem", "spherem+"])
def test_default_radii_are_discontinuous_across_dateline(name: str) -> None:
    # Official quirk: degrees go into sin/cos unconverted, so 180·f and -180·f differ mod 2π.
    assert _dateline_gap(build(name)) > 0.1


@pytest.mark.parametrize("name", ["spherem", "spherem+"])
def test_spherem_discontinuous_even_with_aligned_radii(name: str) -> None:
    # The unit-frequency terms use sin/cos of the raw degrees.
    assert _dateline_gap(build(name, **ALIGNED)) > 0.1


def test_factory_defaults_for_every_encoding() -> None:
    expected = {
        "direct": 2,
        "cartesian3d": 3,
        "wrap": 4,
        **{name: WIDTH[name] * 10 for name in NAMES},
    }
    for name in ENCODINGS:
        if name == "sphericalharmonics":
            continue
        encoding = build_positional_encoding(name)
        assert encoding.embedding_dim == expected[name], name
        if name in NAMES:
            assert type(encoding) is (Theory if name == "theory" else GridAndSphere)
            assert (encoding.frequency_num, encoding.min_radius, encoding.max_radius) == (10, 1.0, 360.0)
            if name != "theory":
                assert encoding.name == name
    assert set(expected) == set(ENCODINGS) - {"sphericalharmonics"}


@pytest.mark.parametrize(("alias", "name"), [("spherecplus", "spherec+"), ("spheremplus", "spherem+")])
def test_aliases(alias: str, name: str) -> None:
    points = torch.from_numpy(sample_points())
    for encoding in (build_positional_encoding(alias), build(alias), GridAndSphere(alias.upper())):
        assert isinstance(encoding, GridAndSphere)
        assert encoding.name == name
        assert torch.equal(encoding(points), build(name)(points))


def test_factory_passes_parameters() -> None:
    encoding = build_positional_encoding("spherem", frequency_num=4, min_radius=2, max_radius=50, legendre_polys=3)
    assert encoding.embedding_dim == 40
    assert encoding.frequencies == pytest.approx(geometric_frequencies(4, 2.0, 50.0))
    points = sample_points()
    np.testing.assert_allclose(
        encoding(torch.from_numpy(points)).numpy(), reference("spherem", points, 4, 2.0, 50.0), atol=1e-12
    )


def test_errors() -> None:
    with pytest.raises(ValueError, match="multi-scale"):
        build("wrap")
    with pytest.raises(ValueError, match="grid/sphere"):
        GridAndSphere("theory")
    with pytest.raises(ValueError, match="frequency_num"):
        build("grid", frequency_num=1)
    with pytest.raises(ValueError, match="radius"):
        Theory(min_radius=0.0)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        build("spherec")(torch.zeros(4, 3))
