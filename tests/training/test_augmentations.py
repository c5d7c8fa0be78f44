"""BatchAugmentation on real S2 patches: exact crop, flips, scale and B10; torchvision's blur; jitter on the sphere."""

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import rasterio
import torch
import torchvision.transforms.functional as TF

from satclip_cli.errors import InputError
from satclip_cli.training.augmentations import (
    EARTH_RADIUS_KM,
    BatchAugmentation,
    gaussian_blur_3x3,
    jitter_points,
)

CROP = 224
"""SatCLIP's crop of its 256 px patches, for the tests on sizes alone."""
PATCH = 64
"""Side of the real test patches (``tests/data/s2_tiles``: centre crops of the S2-100K patches), px."""
PATCH_CROP = 56
"""The crop of the real test patches: the same share of the patch as SatCLIP's 224 of 256 px."""


@pytest.fixture(scope="module")
def batch(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """The 23 real patches as read by rasterio: images [23, 12, 64, 64] uint16, points [23, 2] float64."""
    tiles = data_dir / "s2_tiles"
    index = pd.read_csv(tiles / "index.csv")
    images = []
    for name in index["file"]:
        with rasterio.open(Path(tiles) / name) as src:
            images.append(torch.from_numpy(src.read()))
    points = torch.tensor(index[["lon", "lat"]].to_numpy(), dtype=torch.float64)
    return torch.stack(images), points


def reflectance_13(images: torch.Tensor) -> torch.Tensor:
    """Reference: float32 / 10000 with a zero B10 at index 10 (the original's order of operations)."""
    scaled = images.to(torch.float32) / 10000
    return torch.cat([scaled[:, :10], torch.zeros_like(scaled[:, :1]), scaled[:, 10:]], dim=1)


def haversine_km(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lon1, lat1, lon2, lat2 = (torch.deg2rad(v) for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = torch.sin((lat2 - lat1) / 2) ** 2 + torch.cos(lat1) * torch.cos(lat2) * torch.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * torch.asin(h.clamp(max=1).sqrt())


def local_offsets_km(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(east, north) km from a to b, flat approximation (fine for km-scale shifts away from the poles)."""
    km_per_degree = EARTH_RADIUS_KM * math.pi / 180
    dlon = (b[:, 0] - a[:, 0] + 180) % 360 - 180
    return dlon * torch.cos(torch.deg2rad(a[:, 1])) * km_per_degree, (b[:, 1] - a[:, 1]) * km_per_degree


def points_on_land_like_grid(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    lon = torch.rand(n, generator=generator, dtype=torch.float64) * 360 - 180
    lat = torch.rand(n, generator=generator, dtype=torch.float64) * 160 - 80
    return torch.stack([lon, lat], dim=1)


def jittered(points: torch.Tensor, jitter_km: float = 1.0, seed: int = 0) -> torch.Tensor:
    """The points after a training forward pass (tiny dummy images)."""
    images = torch.zeros(len(points), 12, 2, 2, dtype=torch.uint16)
    augment = BatchAugmentation(crop_size=2, insert_b10=True, jitter_km=jitter_km)
    return augment(images, points, train=True, generator=torch.Generator().manual_seed(seed))[1]


# ------------------------------------------------------------------------------------------------ images


@pytest.mark.parametrize("insert_b10", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_output_shapes_and_dtypes(batch, insert_b10, train):
    images, points = batch
    out_images, out_points = BatchAugmentation(PATCH_CROP, insert_b10)(images, points, train=train)
    assert out_images.shape == (23, 13 if insert_b10 else 12, PATCH_CROP, PATCH_CROP)
    assert out_images.dtype == torch.float32 and out_images.is_contiguous()
    assert out_points.shape == (23, 2) and out_points.dtype == torch.float64


def test_crop_flip_scale_and_b10_are_exact(batch):
    """Without blur every output pixel is input / 10000 at the cropped, flipped place; B10 is zero."""
    images, points = batch
    augment = BatchAugmentation(PATCH_CROP, insert_b10=True)
    params = augment.sample_params(23, PATCH, PATCH, torch.Generator().manual_seed(3))
    assert params.flip_horizontal.any() and not params.flip_horizontal.all()
    assert params.flip_vertical.any() and not params.flip_vertical.all()
    out, _ = augment.apply(images, points, replace(params, blur_sigma=None))
    expected_all = reflectance_13(images)
    for b in range(23):
        top, left = int(params.top[b]), int(params.left[b])
        expected = expected_all[b, :, top : top + PATCH_CROP, left : left + PATCH_CROP]
        if params.flip_horizontal[b]:
            expected = expected.flip(-1)
        if params.flip_vertical[b]:
            expected = expected.flip(-2)
        assert torch.equal(out[b], expected), b
    assert torch.all(out[:, 10] == 0)
    assert not torch.all(out[:, 9] == 0) and not torch.all(out[:, 11] == 0)


def test_blur_is_torchvision_gaussian_blur_with_a_sigma_per_sample(batch):
    images = batch[0][:6].to(torch.float32) / 10000
    sigma = torch.tensor([0.1, 0.3, 0.7, 1.0, 1.5, 2.0])
    ours = gaussian_blur_3x3(images, sigma)
    for b in range(6):
        reference = TF.gaussian_blur(images[b], [3, 3], [float(sigma[b])] * 2)
        torch.testing.assert_close(ours[b], reference, atol=1e-6, rtol=1e-5)


def test_blur_keeps_the_mean_and_reduces_the_variance(batch):
    images = batch[0].to(torch.float32) / 10000
    blurred = gaussian_blur_3x3(images, torch.full((23,), 1.5))
    # Only the reflect-padded border moves the mean, and it is 4x the share of a 64 px patch that it is of a 256 px
    # one: the largest relative change is 3.3e-3 on these crops, 5e-4 on the 256 px originals (bound 2e-3 there).
    torch.testing.assert_close(blurred.mean(dim=(2, 3)), images.mean(dim=(2, 3)), rtol=8e-3, atol=1e-6)
    assert torch.all(blurred.var(dim=(2, 3)) < images.var(dim=(2, 3)))
    weak = gaussian_blur_3x3(images, torch.full((23,), 0.1))  # sigma 0.1: the kernel is ~ the identity
    torch.testing.assert_close(weak, images, atol=1e-6, rtol=1e-5)


def test_training_pipeline_is_crop_flip_then_blur_with_reflect_padding(batch):
    """The one-gather crop with built-in reflect padding equals cropping, flipping, then padding."""
    images, points = batch
    augment = BatchAugmentation(PATCH_CROP, insert_b10=True)
    params = augment.sample_params(23, PATCH, PATCH, torch.Generator().manual_seed(5))
    blurred, _ = augment.apply(images, points, params)
    sharp, _ = augment.apply(images, points, replace(params, blur_sigma=None))
    torch.testing.assert_close(blurred, gaussian_blur_3x3(sharp, params.blur_sigma), atol=1e-6, rtol=1e-5)
    assert torch.all(blurred[:, 10] == 0)
    strong = params.blur_sigma > 0.5
    assert strong.sum() > 10
    assert torch.all(blurred[strong].var(dim=(2, 3))[:, :10] < sharp[strong].var(dim=(2, 3))[:, :10])


def test_crop_offsets_flips_and_sigmas_are_drawn_per_sample():
    params = BatchAugmentation(CROP, insert_b10=True).sample_params(4000, 256, 260, torch.Generator().manual_seed(0))
    assert params.top.min() == 0 and params.top.max() == 256 - CROP
    assert params.left.min() == 0 and params.left.max() == 260 - CROP
    assert len(params.top.unique()) == 256 - CROP + 1
    assert abs(params.top.double().mean().item() - (256 - CROP) / 2) < 0.5
    assert abs(params.flip_horizontal.double().mean().item() - 0.5) < 0.03
    assert abs(params.flip_vertical.double().mean().item() - 0.5) < 0.03
    both = (params.flip_horizontal & params.flip_vertical).double().mean().item()
    assert abs(both - 0.25) < 0.03  # independent
    assert params.blur_sigma.min() >= 0.1 and params.blur_sigma.max() <= 2.0
    assert abs(params.blur_sigma.mean().item() - 1.05) < 0.03
    exact = BatchAugmentation(256, insert_b10=True).sample_params(50, 256, 256)
    assert torch.all(exact.top == 0) and torch.all(exact.left == 0)


def test_training_batches_vary_and_are_reproducible_with_a_generator(batch):
    images, points = batch
    augment = BatchAugmentation(PATCH_CROP, insert_b10=True)
    first = augment(images, points, train=True, generator=torch.Generator().manual_seed(7))
    again = augment(images, points, train=True, generator=torch.Generator().manual_seed(7))
    other = augment(images, points, train=True, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0]) and not torch.equal(first[1], other[1])
    chunked = BatchAugmentation(PATCH_CROP, insert_b10=True, chunk_size=5)
    same = chunked(images, points, train=True, generator=torch.Generator().manual_seed(7))
    assert torch.equal(same[0], first[0]) and torch.equal(same[1], first[1])


def test_validation_is_the_unaugmented_centre_crop(batch):
    images, points = batch
    augment = BatchAugmentation(PATCH_CROP, insert_b10=True)
    out, out_points = augment(images, points, train=False, generator=torch.Generator().manual_seed(1))
    again, _ = augment(images, points, train=False, generator=torch.Generator().manual_seed(2))
    offset = (PATCH - PATCH_CROP) // 2
    assert torch.equal(out, reflectance_13(images)[:, :, offset : offset + PATCH_CROP, offset : offset + PATCH_CROP])
    assert torch.equal(out, again)
    assert torch.equal(out_points, points)
    plain, _ = BatchAugmentation(PATCH, insert_b10=False)(images, points, train=False)
    assert torch.equal(plain, images.to(torch.float32) / 10000)


def test_reflectances_above_int16_survive():
    images = torch.full((2, 12, 4, 4), 65535, dtype=torch.uint16)
    images[1] = 32768
    out, _ = BatchAugmentation(2, insert_b10=True)(images, torch.zeros(2, 2, dtype=torch.float64), train=True)
    torch.testing.assert_close(out[:, 0, 0, 0], torch.tensor([6.5535, 3.2768]))


def test_bad_sizes_are_clear_errors(batch):
    images, points = batch
    with pytest.raises(InputError, match=r"^patches of 64 x 64 px are smaller than the crop size 300 px"):
        BatchAugmentation(300, insert_b10=True)(images, points, train=False)
    with pytest.raises(InputError, match="crop size must be at least 2"):
        BatchAugmentation(1, insert_b10=True)
    with pytest.raises(ValueError, match="12 S2-100K bands"):
        BatchAugmentation(PATCH_CROP, insert_b10=True)(images[:, :11], points, train=False)
    with pytest.raises(ValueError, match=r"points must be \[B, 2\]"):
        BatchAugmentation(PATCH_CROP, insert_b10=True)(images, points[:5], train=False)


# ------------------------------------------------------------------------------------------------ points


def test_jitter_is_uniform_in_a_disc_and_symmetric():
    points = points_on_land_like_grid(20_000)
    moved = jittered(points)
    distance = haversine_km(points, moved)
    assert distance.max() <= 1.0 + 1e-9
    assert abs(distance.mean().item() - 2 / 3) < 0.01  # E[r] of a uniform disc of radius 1
    assert abs((distance < 0.5).double().mean().item() - 0.25) < 0.015  # area fraction
    east, north = local_offsets_km(points, moved)
    assert abs(east.mean().item()) < 0.02 and abs(north.mean().item()) < 0.02  # not only north-east
    assert abs(east.std().item() - 0.5) < 0.02 and abs(north.std().item() - 0.5) < 0.02  # isotropic (sd r/2)
    half = jittered(points, jitter_km=0.5)
    assert haversine_km(points, half).max() <= 0.5 + 1e-9


def test_jitter_follows_bearings_like_the_flat_rule_away_from_the_poles():
    points = torch.tensor([[10.0, 45.0]] * 4, dtype=torch.float64)
    bearing = torch.tensor([0.0, math.pi / 2, math.pi, 3 * math.pi / 2], dtype=torch.float64)
    moved = jitter_points(points, torch.full((4,), 1.0, dtype=torch.float64), bearing)
    degree = 1 / (EARTH_RADIUS_KM * math.pi / 180)
    expected = torch.tensor(
        [
            [10, 45 + degree],
            [10 + degree / math.cos(math.pi / 4), 45],
            [10, 45 - degree],
            [10 - degree / math.sqrt(0.5), 45],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(moved, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("lon", "lat"), [(0.0, 90.0), (45.0, -90.0), (120.0, 89.9999), (-60.0, -89.995), (180.0, 10.0), (-179.9995, -30.0)]
)
def test_jitter_near_the_poles_and_the_dateline(lon, lat):
    points = torch.tensor([[lon, lat]] * 4000, dtype=torch.float64)
    moved = jittered(points, seed=1)
    assert torch.all(moved[:, 0].abs() <= 180) and torch.all(moved[:, 1].abs() <= 90)
    distance = haversine_km(points, moved)
    assert distance.max() <= 1.0 + 1e-6
    assert abs(distance.mean().item() - 2 / 3) < 0.03
    if abs(lon) > 179:  # crossed the dateline both ways
        assert (moved[:, 0] > 179).any() and (moved[:, 0] < -179).any()
    if abs(lat) == 90:  # spread around the pole, not collapsed onto one meridian
        assert len(moved[:, 0].round(decimals=3).unique()) > 1000


def test_no_jitter_when_zero_km_or_validating():
    points = points_on_land_like_grid(100)
    assert torch.equal(jittered(points, jitter_km=0.0), points)
    images = torch.zeros(100, 12, 2, 2, dtype=torch.uint16)
    _, validation = BatchAugmentation(2, insert_b10=True)(images, points, train=False)
    assert torch.equal(validation, points)
    _, single = BatchAugmentation(2, insert_b10=True)(images, points.float(), train=True)
    assert single.dtype == torch.float64
    assert torch.isfinite(single).all()
