"""Equal-area blocks on the sphere (satclip_cli.probing.spatial_blocks)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.spatial_blocks import EARTH_RADIUS_KM, block_grid


@pytest.mark.parametrize("size_km", [250.0, 500.0, 2000.0])
def test_blocks_tile_the_sphere_with_about_equal_areas(size_km: float) -> None:
    grid = block_grid(size_km)
    areas = grid.block_areas_km2()
    assert areas.size == grid.n_blocks
    assert math.isclose(areas.sum(), 4 * math.pi * EARTH_RADIUS_KM**2, rel_tol=1e-9)
    ratio = areas / size_km**2
    assert ratio.min() > 0.75 and ratio.max() < 1.34
    # unlike degree boxes, blocks near the poles are as large as blocks at the equator
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)


def test_every_point_falls_inside_its_block() -> None:
    grid = block_grid(500.0)
    rng = np.random.default_rng(0)
    lonlat = np.c_[rng.uniform(-180, 180, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))]
    lonlat = np.vstack([lonlat, [[-180.0, -90.0], [180.0, 90.0], [179.999, 0.0], [0.0, 0.0]]])
    blocks = grid.block_of(lonlat)
    assert blocks.min() >= 0 and blocks.max() < grid.n_blocks
    for (lon, lat), block in zip(lonlat, blocks, strict=True):
        west, south, east, north = grid.block_bounds(int(block))
        wrapped = -180.0 if lon == 180.0 else lon
        assert west - 1e-9 <= wrapped <= east + 1e-9 and south - 1e-9 <= lat <= north + 1e-9
    # points of an area-uniform sample spread evenly over the blocks: no block holds a crowd
    counts = np.bincount(blocks[:5000], minlength=grid.n_blocks)
    assert counts.max() < 5 * counts.mean() + 5


@pytest.mark.parametrize("size_km", [0.0, -5.0, float("nan"), 30_000.0])
def test_bad_block_sizes_are_input_errors(size_km: float) -> None:
    with pytest.raises(InputError, match="block_size_km"):
        block_grid(size_km)
