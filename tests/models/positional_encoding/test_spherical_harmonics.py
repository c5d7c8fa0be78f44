"""Exact spherical harmonics: against scipy, the official fixtures, dtypes and autograd."""

import importlib.util
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from satclip_cli.models.positional_encoding.spherical_harmonics import (
    CONVENTIONS,
    degree_order_index,
    run_chunks,
    spherical_harmonics,
)


@pytest.fixture(scope="module")
def scipy_reference(fixtures_dir):
    spec = importlib.util.spec_from_file_location("sh_scipy_reference", fixtures_dir / "sh_scipy_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def points(fixtures_dir) -> np.ndarray:
    return np.load(fixtures_dir / "points.npy")


def _lat_away_from_poles(points: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """The official code rebuilds sin θ as sqrt(1 - cos²θ), inexact within ~1e-4° of a pole."""
    return np.abs(points[:, 1]) < 90 - margin


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("degree", [1, 3, 10, 40])
def test_matches_scipy(scipy_reference, points, convention, degree):
    scipy_name = "analytic" if convention == "satclip" else convention
    expected = scipy_reference.sh_features(points, degree, scipy_name)
    ours = spherical_harmonics(torch.from_numpy(points), degree, convention).numpy()
    assert ours.shape == (200, degree * degree)  # the 120 edge cases, then 80 uniform points
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-11)


def test_column_order_is_l_then_m():
    assert degree_order_index(3) == [(0, 0), (1, -1), (1, 0), (1, 1), (2, -2), (2, -1), (2, 0), (2, 1), (2, 2)]


@pytest.mark.parametrize(("convention", "fixture"), [("satclip", "sh_l10.npy"), ("closed-form", "sh_l10_closed.npy")])
def test_matches_official_features_l10(fixtures_dir, points, convention, fixture):
    official = np.load(fixtures_dir / fixture)
    ours = spherical_harmonics(torch.from_numpy(points), 10, convention).numpy()
    away = _lat_away_from_poles(points)
    np.testing.assert_allclose(ours[away], official[away], rtol=0, atol=1e-10)
    # Near the poles the official sqrt(1 - x²) loses precision (documented, up to ~2e-8).
    np.testing.assert_allclose(ours, official, rtol=0, atol=5e-8)


def test_matches_official_l40_where_official_is_accurate(fixtures_dir, points):
    official = np.load(fixtures_dir / "sh_l40.npy")
    subset = points[: official.shape[0]]
    ours = spherical_harmonics(torch.from_numpy(subset), 40).numpy()
    degrees = np.array([l for l, _ in degree_order_index(40)])
    error = np.abs(ours - official)
    away = _lat_away_from_poles(subset)
    # l < 15: the official expansion is accurate to ~1e-11 (except at the poles, see above).
    assert error[away][:, degrees < 15].max() <= 1e-8
    # |lat| < 30°: the official cancellation stays below 4e-8 for every l < 40 (fixtures README).
    low = np.abs(subset[:, 1]) < 30
    assert error[low].max() <= 4e-8
    assert error[np.abs(subset[:, 1]) < 20].max() <= 1e-8
    accurate = low[:, None] | (degrees < 15)[None, :]
    # ... and the official features really are wrong elsewhere (so this test can tell).
    assert np.abs(ours - official)[~accurate].max() > 1e-2


def test_orthonormal_features_are_orthonormal_on_the_sphere():
    # Gauss-Legendre in cos(colatitude) x uniform longitudes integrates degree < 2L exactly.
    degree = 6
    nodes, weights = np.polynomial.legendre.leggauss(2 * degree)
    lons = np.linspace(-180, 180, 4 * degree, endpoint=False)
    lat = np.degrees(np.arcsin(nodes))
    grid_lon, grid_lat = np.meshgrid(lons, lat)
    w = np.repeat(weights, lons.size) * (2 * np.pi / lons.size)
    lonlat = torch.from_numpy(np.stack([grid_lon.ravel(), grid_lat.ravel()], 1))
    y = spherical_harmonics(lonlat, degree, "orthonormal").numpy()
    gram = (y * w[:, None]).T @ y
    np.testing.assert_allclose(gram, np.eye(degree * degree), atol=1e-12)


def test_float32_agrees_with_float64(points):
    y64 = spherical_harmonics(torch.from_numpy(points), 40)
    y32 = spherical_harmonics(torch.from_numpy(points).float(), 40)
    assert y32.dtype == torch.float32
    # Relative to the feature scale (m = 0 columns reach ~9 near the poles at L = 40).
    relative = (y32.double() - y64).abs() / (1 + y64.abs())
    assert relative.max().item() < 5e-5


def test_gradients_flow_and_match_finite_differences():
    lonlat = torch.tensor([[12.5, 41.9], [-70.0, -33.4], [179.9, 89.0]], dtype=torch.float64, requires_grad=True)
    y = spherical_harmonics(lonlat, 8, "orthonormal")
    weights = torch.linspace(-1, 1, y.shape[1], dtype=torch.float64)
    (y * weights).sum().backward()
    assert torch.isfinite(lonlat.grad).all() and lonlat.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda p: spherical_harmonics(p, 5), (lonlat.detach().clone().requires_grad_(),))


def test_exact_at_poles_and_dateline():
    lonlat = torch.tensor([[0.0, 90.0], [123.0, 90.0], [180.0, 10.0], [-180.0, 10.0]], dtype=torch.float64)
    y = spherical_harmonics(lonlat, 10, "orthonormal")
    # At the pole only m = 0 survives and the value does not depend on longitude.
    np.testing.assert_allclose(y[0].numpy(), y[1].numpy(), atol=1e-14)
    m_nonzero = np.array([m != 0 for _, m in degree_order_index(10)])
    assert np.abs(y[0].numpy()[m_nonzero]).max() < 1e-14
    # Y_l^0(north pole) = sqrt((2l+1)/4π)
    expected = [math.sqrt((2 * l + 1) / (4 * math.pi)) for l in range(10)]
    np.testing.assert_allclose(y[0].numpy()[[l * l + l for l in range(10)]], expected, rtol=1e-13)
    # lon = ±180 is the same place.
    np.testing.assert_allclose(y[2].numpy(), y[3].numpy(), atol=1e-13)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(points):
    cpu = spherical_harmonics(torch.from_numpy(points), 20)
    gpu = spherical_harmonics(torch.from_numpy(points).cuda(), 20).cpu()
    assert (cpu - gpu).abs().max() < 1e-10


def test_bad_arguments():
    with pytest.raises(ValueError, match="degree must be >= 1, got 0"):
        spherical_harmonics(torch.zeros(3, 2), 0)
    with pytest.raises(ValueError, match=r"lonlat must have shape \[N, 2\], got \(3, 3\)"):
        spherical_harmonics(torch.zeros(3, 3), 4)
    with pytest.raises(ValueError, match="unknown spherical-harmonics convention 'nonsense'"):
        spherical_harmonics(torch.zeros(3, 2), 4, "nonsense")
    with pytest.raises(ValueError, match="out= is not supported when gradients are required"):
        spherical_harmonics(torch.zeros(3, 2, requires_grad=True), 4, out=torch.empty(3, 16))
    with pytest.raises(ValueError, match=r"out must be a contiguous \[3, 16\] torch.float32 tensor"):
        spherical_harmonics(torch.zeros(3, 2), 4, out=torch.empty(16, 3).T)  # right shape, not contiguous


def test_integer_input_uses_the_default_float_dtype():
    as_int = spherical_harmonics(torch.tensor([[10, 20], [-30, 60]]), 3)
    assert as_int.dtype == torch.get_default_dtype()
    torch.testing.assert_close(as_int, spherical_harmonics(torch.tensor([[10.0, 20.0], [-30.0, 60.0]]), 3))


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 999])
def test_chunks_in_one_thread_match_one_chunk(points, chunk_size):
    """The chunked (no-autograd) path on one thread: every chunk boundary lands on the right rows."""
    lonlat = torch.from_numpy(points)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chunked = spherical_harmonics(lonlat, 9, chunk_size=chunk_size)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(chunked, spherical_harmonics(lonlat.requires_grad_(), 9).detach(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("inference", [False, True])
def test_many_chunks_in_threads_match_one_chunk(inference):
    """Chunks run in worker threads; results must not depend on chunking or the caller's mode."""
    from satclip_cli.models.positional_encoding.legacy_harmonics import legacy_spherical_harmonics

    rng = np.random.default_rng(3)
    lonlat = torch.from_numpy(np.stack([rng.uniform(-180, 180, 5000), rng.uniform(-90, 90, 5000)], 1))
    with torch.inference_mode(inference):
        chunked = spherical_harmonics(lonlat, 12, chunk_size=256)
        whole = spherical_harmonics(lonlat, 12, chunk_size=10_000)
        legacy_chunked = legacy_spherical_harmonics(lonlat, 12, chunk_size=256)
    assert torch.equal(chunked, whole)
    torch.testing.assert_close(legacy_chunked, whole, atol=1e-9, rtol=0)


def test_writing_into_a_caller_buffer():
    lonlat = torch.tensor([[10.0, 20.0], [-30.0, 60.0], [170.0, -89.0]], dtype=torch.float64)
    buffer = torch.full((3, 49), float("nan"), dtype=torch.float64)
    result = spherical_harmonics(lonlat, 7, out=buffer)
    assert result.data_ptr() == buffer.data_ptr()
    assert torch.equal(buffer, spherical_harmonics(lonlat, 7))
    with pytest.raises(ValueError):
        spherical_harmonics(lonlat, 7, out=torch.empty(3, 48, dtype=torch.float64))


def test_empty_and_single_point_inputs():
    assert spherical_harmonics(torch.zeros(0, 2, dtype=torch.float64), 5).shape == (0, 25)
    one = spherical_harmonics(torch.tensor([[12.0, 34.0]], dtype=torch.float64), 40)
    assert one.shape == (1, 1600) and torch.isfinite(one).all()


# ------------------------------------------------------------------------------------------ autograd path, invariants


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_autograd_path_values_match_scipy(scipy_reference, points, convention):
    # a wrong normalisation constant on the differentiable path alone must fail here
    scipy_name = "analytic" if convention == "satclip" else convention
    expected = scipy_reference.sh_features(points, 10, scipy_name)
    lonlat = torch.from_numpy(points).requires_grad_()
    ours = spherical_harmonics(lonlat, 10, convention)
    assert ours.requires_grad
    np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=0, atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1, max_size=20),
    st.floats(-360.0, 360.0),
)
def test_rotation_about_the_pole_rotates_each_order_pair(lonlat, angle):
    degree = 6
    points = torch.tensor(lonlat, dtype=torch.float64)
    rotated = points.clone()
    rotated[:, 0] = torch.remainder(rotated[:, 0] + angle + 180.0, 360.0) - 180.0
    before = spherical_harmonics(points, degree, "orthonormal")
    after = spherical_harmonics(rotated, degree, "orthonormal")
    for l, m in degree_order_index(degree):
        column = l * l + l + m
        if m == 0:
            torch.testing.assert_close(after[:, column], before[:, column], rtol=0, atol=1e-10)
        elif m > 0:  # cos(m(φ + α)) and sin(m(φ + α)) by angle addition
            c, s = math.cos(math.radians(m * angle)), math.sin(math.radians(m * angle))
            cos_col, sin_col = before[:, column], before[:, l * l + l - m]
            torch.testing.assert_close(after[:, column], c * cos_col - s * sin_col, rtol=0, atol=1e-9)
            torch.testing.assert_close(after[:, l * l + l - m], s * cos_col + c * sin_col, rtol=0, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 8), st.sampled_from(["satclip", "closed-form"]))
def test_official_conventions_are_orthogonal_with_their_known_norms(degree, convention):
    nodes, weights = np.polynomial.legendre.leggauss(2 * degree)
    lons = np.linspace(-180, 180, 4 * degree, endpoint=False)
    grid_lon, grid_lat = np.meshgrid(lons, np.degrees(np.arcsin(nodes)))
    w = np.repeat(weights, lons.size) * (2 * np.pi / lons.size)
    lonlat = torch.from_numpy(np.stack([grid_lon.ravel(), grid_lat.ravel()], 1))
    y = spherical_harmonics(lonlat, degree, convention).numpy()
    gram = (y * w[:, None]).T @ y
    m0 = np.array([m == 0 for _, m in degree_order_index(degree)])
    norms = np.where(m0 & (convention == "satclip"), math.pi**2, 1.0)
    np.testing.assert_allclose(gram, np.diag(norms), atol=1e-10)


def test_torch_thread_count_is_restored_after_parallel_chunks():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        lonlat = torch.rand(5_000, 2, dtype=torch.float64) * torch.tensor([360.0, 180.0]) - torch.tensor([180.0, 90.0])
        spherical_harmonics(lonlat, 4, chunk_size=256)
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError, match="boom"):
            run_chunks(lambda start: (_ for _ in ()).throw(RuntimeError("boom")), range(0, 10, 5), parallel=True)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------ features-major layout


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("chunk_size", [64, 10_000])
def test_features_major_layout_has_the_same_values(dtype, chunk_size):
    """Features-major storage (no transposed copy) changes only the strides, in one chunk or many in threads."""
    rng = np.random.default_rng(5)
    lonlat = torch.from_numpy(np.stack([rng.uniform(-180, 180, 3000), rng.uniform(-90, 90, 3000)], 1)).to(dtype)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rows = spherical_harmonics(lonlat, 15, chunk_size=chunk_size)
        features = spherical_harmonics(lonlat, 15, chunk_size=chunk_size, features_major=True)
    finally:
        torch.set_num_threads(before)
    assert rows.is_contiguous() and features.T.is_contiguous() and features.shape == (3000, 225)
    assert torch.equal(features, rows)


def test_features_major_caller_buffer():
    lonlat = torch.tensor([[10.0, 20.0], [-30.0, 60.0], [170.0, -89.0]], dtype=torch.float64)
    buffer = torch.full((49, 3), float("nan"), dtype=torch.float64)
    result = spherical_harmonics(lonlat, 7, out=buffer.T, features_major=True)
    assert result.data_ptr() == buffer.data_ptr() and torch.equal(buffer.T, spherical_harmonics(lonlat, 7))
    with pytest.raises(ValueError, match=r"out must be a features-major \(out.T contiguous\) \[3, 49\]"):
        spherical_harmonics(lonlat, 7, out=torch.empty(3, 49, dtype=torch.float64), features_major=True)


def test_the_encoding_module_hands_features_major_values_to_the_network():
    """The module skips the transposed copy; a linear layer gives the same result on either layout."""
    from satclip_cli.models.positional_encoding.spherical_harmonics_encoding import SphericalHarmonics

    lonlat = torch.tensor([[10.0, 20.0], [-30.0, 60.0], [170.0, -89.0], [0.0, 0.0]])
    with torch.no_grad():
        features = SphericalHarmonics(10)(lonlat)
        assert features.T.is_contiguous() and not features.is_contiguous()
        layer = torch.nn.Linear(100, 8)
        torch.testing.assert_close(layer(features), layer(features.contiguous()), rtol=1e-6, atol=1e-6)
