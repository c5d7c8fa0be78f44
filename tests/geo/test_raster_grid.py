"""RasterGrid: construction from a bbox or a template raster, validation, windows and pixel-centre lon/lat."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning

from satclip_cli.errors import InputError
from satclip_cli.geo.raster_grid import MAX_GRID_PIXELS, RasterGrid

ORTHO = "+proj=ortho +lat_0=45 +lon_0=10 +R=6371000 +units=m +no_defs"


def test_global_grid_has_exact_size_and_transform() -> None:
    grid = RasterGrid.from_bbox((-180, -90, 180, 90), 0.1)
    assert (grid.width, grid.height) == (3600, 1800)
    assert grid.transform == Affine(0.1, 0.0, -180.0, 0.0, -0.1, 90.0)
    assert grid.crs == CRS.from_epsg(4326)
    assert grid.bounds == pytest.approx((-180, -90, 180, 90))
    assert grid.n_pixels == 3600 * 1800


def test_resolution_not_dividing_the_extent_covers_the_bbox() -> None:
    grid = RasterGrid.from_bbox((0, 0, 1, 1), 0.3)
    assert (grid.width, grid.height) == (4, 4)
    west, south, east, north = grid.bounds
    assert (west, north) == (0, 1)
    assert east == pytest.approx(1.2) and south == pytest.approx(-0.2)


def test_pixel_centres_in_lonlat_grid() -> None:
    grid = RasterGrid.from_bbox((10, 40, 12, 41), 0.25)
    window = next(grid.windows(3))
    lonlat, valid = grid.pixel_centers_lonlat(window)
    assert lonlat.shape == (9, 2) and lonlat.dtype == np.float64
    assert valid.all()
    # Row-major: second pixel is one column to the right, fourth is one row down.
    np.testing.assert_allclose(lonlat[0], [10.125, 40.875])
    np.testing.assert_allclose(lonlat[1], [10.375, 40.875])
    np.testing.assert_allclose(lonlat[3], [10.125, 40.625])


@pytest.mark.parametrize("width,height,block", [(300, 170, 128), (256, 256, 128), (5, 3, 512)])
def test_windows_tile_the_grid_exactly_once(width: int, height: int, block: int) -> None:
    grid = RasterGrid(CRS.from_epsg(4326), Affine(0.1, 0, 0, 0, -0.1, 0), width, height)
    count = np.zeros((height, width), dtype=int)
    for w in grid.windows(block):
        assert w.width <= block and w.height <= block
        count[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert (count == 1).all()


def test_projected_grid_centres_match_pyproj() -> None:
    grid = RasterGrid.from_bbox((-1_000_000, 4_000_000, 1_000_000, 6_000_000), 50_000, crs="EPSG:3857")
    assert (grid.width, grid.height) == (40, 40)
    lonlat, valid = grid.pixel_centers_lonlat()
    assert valid.all()
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    for row, col in [(0, 0), (17, 23), (39, 39)]:
        x = -1_000_000 + (col + 0.5) * 50_000
        y = 6_000_000 - (row + 0.5) * 50_000
        np.testing.assert_allclose(lonlat[row * 40 + col], to_lonlat.transform(x, y), atol=1e-9)


def test_out_of_domain_pixels_are_invalid_not_errors() -> None:
    # Orthographic view of the globe: the square's corners are off the disc.
    grid = RasterGrid.from_bbox((-7e6, -7e6, 7e6, 7e6), 200_000, crs=ORTHO)
    lonlat, valid = grid.pixel_centers_lonlat()
    valid2d = valid.reshape(grid.shape)
    assert not valid2d[0, 0] and not valid2d[-1, -1]
    assert valid2d[grid.height // 2, grid.width // 2]
    assert 0.55 < valid.mean() < 0.75  # disc of radius 6371 km in a 14000 km square: pi r^2 / side^2 ~ 0.65
    assert np.isnan(lonlat[~valid]).all()
    assert np.isfinite(lonlat[valid]).all()
    assert (np.abs(lonlat[valid, 1]) <= 90).all()


def test_rows_beyond_the_pole_are_invalid() -> None:
    grid = RasterGrid.from_bbox((-180, -90, 180, 90), 0.7)  # 180 / 0.7 is not whole: last row dips below -90
    lonlat, valid = grid.pixel_centers_lonlat()
    rows = valid.reshape(grid.shape).all(axis=1)
    assert rows[:-1].all() and not rows[-1].any()


def test_antimeridian_crossing_wraps_longitudes() -> None:
    grid = RasterGrid.from_bbox((170, -10, 190, 10), 1.0)
    lonlat, valid = grid.pixel_centers_lonlat()
    assert valid.all()
    assert lonlat[:, 0].min() >= -180 and lonlat[:, 0].max() < 180
    assert lonlat[19, 0] == pytest.approx(-170.5)  # centre 189.5 wrapped


@pytest.mark.parametrize("bbox", [(170, -10, -170, 10), (-190, -10, -170, 10), (350, -10, 10, 10)])
def test_west_east_of_east_crosses_the_antimeridian_like_sample(bbox) -> None:
    """``west > east`` (degrees) is a box running eastwards through 180, as ``satclip sample --bbox`` reads it."""
    grid = RasterGrid.from_bbox(bbox, 1.0)
    assert grid.shape == (20, 20)
    lonlat, valid = grid.pixel_centers_lonlat()
    assert valid.all()
    lon = lonlat[:20, 0]
    assert lon.min() >= -180 and lon.max() < 180
    west = bbox[0] - 360 if bbox[0] >= 180 else bbox[0]
    expected = (np.arange(20) + 0.5 + west + 180) % 360 - 180
    np.testing.assert_allclose(lon, expected)


def test_west_east_of_east_is_still_an_error_in_a_projected_crs() -> None:
    with pytest.raises(InputError, match="west"):
        RasterGrid.from_bbox((4.4e6, 2.5e6, 4.0e6, 2.8e6), 2e4, crs="EPSG:3035")


@pytest.mark.parametrize(
    "bbox,resolution,crs,message",
    [
        ((5, 0, 5, 1), 0.1, None, "same meridian"),
        ((180, 0, -180, 1), 0.1, None, "same meridian"),
        ((-180, 0, 180.5, 1), 0.1, None, "more than 360"),
        ((0, 5, 1, 1), 0.1, None, "south"),
        ((0, 0, 1, 1), 0.0, None, "resolution"),
        ((0, 0, 1, 1), -0.5, None, "resolution"),
        ((0, 0, 1, 1), float("nan"), None, "resolution"),
        ((0, -95, 1, 1), 0.1, None, "latitude"),
        ((0, 0, 1, 91), 0.1, None, "latitude"),
        ((-400, 0, 1, 1), 0.1, None, "longitude"),
        ((0, float("inf"), 1, 1), 0.1, None, "non-finite"),
        ((-180, -90, 180, 90), 1e-5, None, "coarser resolution"),
        ((0, 0, 1, 1), 0.1, "EPSG:999999", "unknown CRS"),
        ((3e7, 3e7, 3.1e7, 3.1e7), 1e5, ORTHO, "no pixel centre"),
    ],
)
def test_bad_bbox_raises_input_error(bbox, resolution, crs, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RasterGrid.from_bbox(bbox, resolution, crs=crs)


def test_grid_size_limit_is_the_documented_one() -> None:
    side = int(np.sqrt(MAX_GRID_PIXELS))
    RasterGrid.from_bbox((0, 0, side * 1e-4, side * 1e-4), 1e-4)  # at the limit: fine
    with pytest.raises(InputError, match="allowed"):
        RasterGrid.from_bbox((0, 0, (side + 1) * 1e-4, (side + 1) * 1e-4), 1e-4)


def _write_template(path: Path, crs: str | None, transform: Affine, width: int = 37, height: int = 23) -> None:
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8"}
    if crs is not None:
        profile |= {"crs": crs, "transform": transform}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.zeros((1, height, width), dtype=np.uint8))


def test_from_like_copies_the_grid_exactly(tmp_path: Path) -> None:
    transform = Affine(10.0, 0.0, 500_020.0, 0.0, -10.0, 5_100_040.0)
    _write_template(tmp_path / "s2.tif", "EPSG:32633", transform)
    grid = RasterGrid.from_like(tmp_path / "s2.tif")
    assert (grid.width, grid.height) == (37, 23)
    assert grid.transform == transform
    assert grid.crs == CRS.from_epsg(32633)
    lonlat, valid = grid.pixel_centers_lonlat()
    assert valid.all()
    to_lonlat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    np.testing.assert_allclose(lonlat[0], to_lonlat.transform(500_025.0, 5_100_035.0), atol=1e-9)


def test_from_like_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        RasterGrid.from_like(tmp_path / "missing.tif")
    (tmp_path / "notes.tif").write_text("not a raster")
    with pytest.raises(InputError, match="cannot read"):
        RasterGrid.from_like(tmp_path / "notes.tif")
    _write_template(tmp_path / "plain.tif", None, Affine.identity())
    with pytest.raises(InputError, match="no CRS"):
        RasterGrid.from_like(tmp_path / "plain.tif")
