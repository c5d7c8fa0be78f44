"""embed_raster: georeferencing, pixel-centre embeddings, COG layout, nodata, atomicity and cleanup."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.windows import Window

from satclip_cli.embedding.raster import RasterEmbeddingSummary, embed_raster, overview_factors
from satclip_cli.errors import InputError, OutputExistsError
from satclip_cli.geo.raster_grid import RasterGrid

D = 16
FREQUENCIES = (1, 2, 3, 5)
ORTHO = "+proj=ortho +lat_0=45 +lon_0=10 +R=6371000 +units=m +no_defs"


def embed_fn(lonlat: np.ndarray) -> np.ndarray:
    """Deterministic stand-in model: [n, 2] (lon, lat) degrees -> [n, 16] float32 harmonic features."""
    assert lonlat.dtype == np.float64 and lonlat.ndim == 2 and lonlat.shape[1] == 2
    assert np.isfinite(lonlat).all(), "embed_fn was given an invalid pixel centre"
    assert (np.abs(lonlat[:, 1]) <= 90).all() and (np.abs(lonlat[:, 0]) <= 180).all()
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    features = []
    for f in FREQUENCIES:
        features += [np.sin(f * lon) * np.cos(lat), np.cos(f * lon) * np.cos(lat), np.sin(f * lat), np.cos(f * lat)]
    return np.stack(features, axis=1).astype(np.float32)


def lonlat_of_pixel(src: rasterio.io.DatasetReader, row: int, col: int) -> tuple[float, float]:
    """Pixel centre from the written file's own transform, transformed to (lon, lat) independently of satclip."""
    x, y = src.xy(row, col)  # centre by default
    if src.crs.to_epsg() == 4326:
        return x, y
    return Transformer.from_crs(src.crs.to_wkt(), "EPSG:4326", always_xy=True).transform(x, y)


def assert_pixels_match_vector_path(path: Path, pixels: list[tuple[int, int]]) -> None:
    with rasterio.open(path) as src:
        for row, col in pixels:
            lon, lat = lonlat_of_pixel(src, row, col)
            expected = embed_fn(np.array([[lon, lat]]))[0]
            got = src.read(window=Window(col, row, 1, 1))[:, 0, 0]
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=f"pixel row={row} col={col}")


@pytest.fixture(scope="module")
def block_edge_raster(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RasterGrid, RasterEmbeddingSummary]:
    """300 x 170 geographic grid written with 128-px blocks: neither side is a multiple of the block size."""
    grid = RasterGrid.from_bbox((-30.0, -17.0, 30.0, 17.0), 0.2)
    path = tmp_path_factory.mktemp("edge") / "emb.tif"
    summary = embed_raster(path, grid, embed_fn, D, block_size=128, progress=False)
    return path, grid, summary


def test_georeferencing_and_band_layout(block_edge_raster) -> None:
    path, grid, summary = block_edge_raster
    assert (grid.width, grid.height) == (300, 170)
    with rasterio.open(path) as src:
        assert (src.width, src.height, src.count) == (300, 170, D)
        assert src.crs == grid.crs
        assert src.transform == grid.transform
        assert set(src.dtypes) == {"float32"}
        assert math.isnan(src.nodata)
        assert src.descriptions == tuple(f"emb_{k:03d}" for k in range(D))
    assert summary.output_path == path
    assert (summary.pixels, summary.valid_pixels, summary.bands) == (51_000, 51_000, D)
    assert summary.pixels_per_second > 0 and summary.seconds >= summary.embed_seconds > 0
    assert summary.output_bytes == path.stat().st_size


def test_pixel_centre_to_lonlat_gives_the_vector_embedding(block_edge_raster) -> None:
    path, _, _ = block_edge_raster
    # Corners, and both sides of every 128-px block boundary.
    pixels = [(0, 0), (0, 299), (169, 0), (169, 299), (127, 127), (127, 128), (128, 127), (128, 128), (85, 256)]
    assert_pixels_match_vector_path(path, pixels)


def test_every_pixel_matches_across_block_boundaries(block_edge_raster) -> None:
    path, _, _ = block_edge_raster
    with rasterio.open(path) as src:
        data = src.read()
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    expected = embed_fn(np.column_stack([xs, ys])).T.reshape(data.shape)
    np.testing.assert_allclose(data, expected, rtol=0, atol=1e-6)


def test_output_is_a_cloud_optimized_geotiff(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((-180, -90, 180, 90), 0.6)  # 600 x 300 > 512 px
    path = tmp_path / "global.tif"
    embed_raster(path, grid, embed_fn, D, progress=False)
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.profile["tiled"]
        assert src.block_shapes[0] == (256, 256)
        assert src.overviews(1) == overview_factors(600, 300) == [2, 4]
        assert src.profile["compress"] == "zstd"
        # The 1/4 overview is the NaN-aware average of the full-resolution pixels.
        overview = src.read(1, out_shape=(75, 150))
        full = src.read(1)
    assert np.isfinite(overview).all()
    np.testing.assert_allclose(overview[10, 20], full[40:44, 80:84].mean(), atol=1e-5)
    assert_pixels_match_vector_path(path, [(0, 0), (150, 300), (299, 599)])


def test_projected_utm_grid(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((400_000, 5_000_000, 403_000, 5_002_000), 100, crs="EPSG:32632")
    path = tmp_path / "utm.tif"
    embed_raster(path, grid, embed_fn, D, block_size=16, progress=False)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32632 and src.transform == grid.transform
    assert_pixels_match_vector_path(path, [(0, 0), (5, 17), (19, 29)])


def test_projected_grid_with_pixels_outside_the_projection(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((-7e6, -7e6, 7e6, 7e6), 200_000, crs=ORTHO)
    path = tmp_path / "ortho.tif"
    summary = embed_raster(path, grid, embed_fn, D, block_size=32, progress=False)
    with rasterio.open(path) as src:
        data = src.read()
    nodata = np.isnan(data)
    assert (nodata.all(axis=0) == nodata.any(axis=0)).all()  # a pixel is NaN in all bands or in none
    assert nodata[:, 0, 0].all() and nodata[:, -1, -1].all()  # corners are off the globe
    assert summary.valid_pixels == int((~nodata[0]).sum())
    assert 0 < summary.valid_pixels < summary.pixels
    assert_pixels_match_vector_path(path, [(35, 35), (20, 50), (50, 20)])


def test_like_grid_round_trip(tmp_path: Path, block_edge_raster) -> None:
    template, _, _ = block_edge_raster
    grid = RasterGrid.from_like(template)
    path = tmp_path / "like.tif"
    embed_raster(path, grid, embed_fn, D, progress=True)
    with rasterio.open(path) as a, rasterio.open(template) as b:
        assert (a.crs, a.transform, a.width, a.height) == (b.crs, b.transform, b.width, b.height)
        np.testing.assert_array_equal(a.read(), b.read())


def test_existing_output_is_refused_and_untouched(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((0, 0, 2, 1), 0.5)
    path = tmp_path / "out.tif"
    path.write_bytes(b"precious")
    calls = []

    def counting_fn(lonlat: np.ndarray) -> np.ndarray:
        calls.append(len(lonlat))
        return embed_fn(lonlat)

    with pytest.raises(OutputExistsError):
        embed_raster(path, grid, counting_fn, D, progress=False)
    assert path.read_bytes() == b"precious"
    assert calls == []
    embed_raster(path, grid, counting_fn, D, overwrite=True, progress=False)
    with rasterio.open(path) as src:
        assert src.count == D


def test_existing_preview_is_refused_before_any_work(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((0, 0, 2, 1), 0.5)
    (tmp_path / "p.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        embed_raster(tmp_path / "out.tif", grid, embed_fn, D, preview_path=tmp_path / "p.png", progress=False)
    assert sorted(os.listdir(tmp_path)) == ["p.png"]


@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_failure_midway_leaves_nothing_behind(tmp_path: Path, exception: type[BaseException]) -> None:
    grid = RasterGrid.from_bbox((0, 0, 10, 10), 0.1)  # 100 x 100 in 16 blocks of 32 px
    existing = tmp_path / "kept.tif"
    existing.write_bytes(b"old output")
    calls = []

    def failing_fn(lonlat: np.ndarray) -> np.ndarray:
        calls.append(1)
        if len(calls) == 5:
            raise exception("model crashed")
        return embed_fn(lonlat)

    with pytest.raises(exception):
        embed_raster(tmp_path / "new.tif", grid, failing_fn, D, block_size=32, progress=False)
    with pytest.raises(exception):
        calls.clear()
        embed_raster(existing, grid, failing_fn, D, block_size=32, overwrite=True, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["kept.tif"]
    assert existing.read_bytes() == b"old output"


def test_wrong_embedding_shape_is_reported(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((0, 0, 2, 1), 0.5)
    with pytest.raises(ValueError, match=r"expected \(8, 4\)"):
        embed_raster(tmp_path / "out.tif", grid, embed_fn, 4, progress=False)
    assert os.listdir(tmp_path) == []


def test_bad_arguments(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((0, 0, 2, 1), 0.5)
    with pytest.raises(InputError, match="embed_dim"):
        embed_raster(tmp_path / "a.tif", grid, embed_fn, 0, progress=False)
    with pytest.raises(InputError, match="block_size"):
        embed_raster(tmp_path / "a.tif", grid, embed_fn, D, block_size=4, progress=False)
    with pytest.raises(InputError, match="compress"):
        embed_raster(tmp_path / "a.tif", grid, embed_fn, D, compress="jpeg", progress=False)
    with pytest.raises(InputError, match="does not exist"):
        embed_raster(tmp_path / "missing" / "a.tif", grid, embed_fn, D, progress=False)
    assert os.listdir(tmp_path) == []


def test_preview_is_written_with_the_raster(tmp_path: Path) -> None:
    grid = RasterGrid.from_bbox((-180, -90, 180, 90), 2.0)
    summary = embed_raster(tmp_path / "e.tif", grid, embed_fn, D, preview_path=tmp_path / "e.png", progress=False)
    assert summary.preview_path == tmp_path / "e.png"
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["e.png", "e.tif"]


@pytest.mark.parametrize("compress", ["deflate", "lzw"])
def test_other_compressions(tmp_path: Path, compress: str) -> None:
    grid = RasterGrid.from_bbox((0, 0, 4, 2), 0.25)
    embed_raster(tmp_path / "c.tif", grid, embed_fn, D, compress=compress, progress=False)
    with rasterio.open(tmp_path / "c.tif") as src:
        assert src.profile["compress"] == compress
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert_pixels_match_vector_path(tmp_path / "c.tif", [(0, 0), (7, 15)])


def test_temporary_raster_bytes_count_whole_tiles_per_level_and_the_cog():
    from satclip_cli.embedding.quantize import OutputEncoding
    from satclip_cli.embedding.raster import temporary_raster_bytes

    float32 = OutputEncoding()
    # 30 x 30 px: one 256 x 256 tile per band (64 MiB for 256 bands), no overviews, plus the COG's pixels.
    assert temporary_raster_bytes(30, 30, 256, float32) == (256 * 256 + 30 * 30) * 256 * 4
    # 600 x 300 px: 3 x 2 tiles, overviews of 300 x 150 (2 x 1 tiles) and 150 x 75 (1 tile).
    tiles = 6 + 2 + 1
    pixels = 600 * 300 + 300 * 150 + 150 * 75
    assert temporary_raster_bytes(600, 300, 8, float32) == (tiles * 256 * 256 + pixels) * 8 * 4
