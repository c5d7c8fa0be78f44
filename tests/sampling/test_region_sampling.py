"""Scattered tiny regions in a real run: a rustac STAC API and a Range HTTP server on loopback.

Six polygons of 10 m x 10 m, one on each of six continents, each in the centre of a 600 m scene cut from a real
Sentinel-2 patch of ``tests/data/s2_tiles`` (``small_stac_catalog_factory``), sampled by ``satclip sample --region
--per-polygon --n 6`` through the CLI: patch i is drawn in feature i mod 6 of the file, so each polygon yields exactly
one patch (the old sampler drew in one window around all of them and found none).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box, shape
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.dataset.sentinel2 import S2_BANDS
from tests.sampling.test_job import expected_patch
from tests.support.s2_stac_fixture import ItemSpec

#: One real patch per continent (tests/data/s2_tiles/index.csv).
CONTINENTS = {
    "North America": "patch_33188",  # Colorado Plateau, USA (12SVF)
    "South America": "patch_57755",  # south-east Brazil (22KCV)
    "Europe": "patch_286743",  # Sarmatic mixed forests, Russia, 42.7 E (38ULG)
    "Africa": "patch_252161",  # Succulent Karoo, South Africa (34HCJ)
    "Asia": "patch_58000",  # Kazakhstan (42TTM)
    "Australia": "patch_275979",  # south-east Australia (55HCD)
}
SIZE = 16  # px: a 160 m patch around a point of a 10 m square in the middle of a 600 m scene
N = len(CONTINENTS)  # patches: one per polygon with --per-polygon
SEED = 4
TEN_METRE = [S2_BANDS.index(band) for band in ("B02", "B03", "B04", "B08")]  # bands copied unresampled


def ten_metre_square(lon: float, lat: float) -> Polygon:
    """A 10 m x 10 m lon/lat box with its south-west corner at (lon, lat) degrees."""
    d_lat = 10.0 / 111_195.0
    return box(lon, lat, lon + d_lat / math.cos(math.radians(lat)), lat + d_lat)


def test_tiny_polygons_on_six_continents_each_give_one_pixel_exact_patch(
    small_stac_catalog_factory, data_dir, tmp_path
):
    """``--per-polygon --n 6``: each of 6 polygons of 10 m on 6 continents yields exactly one patch, pixel-exact.

    Patch ``i`` must lie in feature ``i`` of the file (``i mod 6``) and in no other polygon, be read from that
    polygon's scene, and equal the source pixels (all bands against the scene's assets; the 10 m bands also against
    the committed 64 px file itself). Without ``--per-polygon`` a polygon is chosen per patch in proportion to its
    area, so ``--n 6`` would give one patch each only with probability 6!/6^6 = 1.5 %.
    """
    catalog = small_stac_catalog_factory([ItemSpec(tile) for tile in CONTINENTS.values()])
    built = {item.tile.name: item for item in catalog.catalog.built.values()}
    scenes = [built[tile] for tile in CONTINENTS.values()]
    squares = [ten_metre_square(*scene.center_lonlat) for scene in scenes]
    assert all(square.within(shape(scene.item["geometry"])) for square, scene in zip(squares, scenes, strict=True))
    region = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"continent": list(CONTINENTS)}, geometry=squares, crs=4326).to_file(region, driver="GeoJSON")

    out = tmp_path / "ds"
    args = ["sample", "--out", str(out), "--n", str(N), "--size", str(SIZE), "--stac-url", catalog.stac_url]
    region_args = ["--region", str(region), "--per-polygon"]
    result = CliRunner().invoke(app, [*args, *region_args, "--seed", str(SEED), "--workers", "2"])
    assert result.exit_code == 0, result.output

    index = pd.read_parquet(out / "index.parquet")
    assert len(index) == N
    patches_per_site = [0] * len(squares)
    for row in index.itertuples():
        point = Point(row.point_lon, row.point_lat)
        site = [i for i, square in enumerate(squares) if square.covers(point)]
        assert len(site) == 1, (row.point_lon, row.point_lat)  # the drawn point is inside one 10 m square
        assert site[0] == int(row.fn.removeprefix("patch_").removesuffix(".tif")) % len(squares)  # patch i: feature i
        patches_per_site[site[0]] += 1
        scene = scenes[site[0]]
        assert row.item_id == scene.id  # ... and read from that square's scene
        with rasterio.open(out / "images" / row.fn) as src:
            patch = src.read()
        np.testing.assert_array_equal(patch, expected_patch(scene, row.col_off, row.row_off, SIZE))
        # the scene is the top-left of the committed file, so the patch's window there has the same offsets
        window = ((row.row_off, row.row_off + SIZE), (row.col_off, row.col_off + SIZE))
        with rasterio.open(data_dir / "s2_tiles" / f"{scene.tile.name}.tif") as src:
            source = src.read(window=window)
        np.testing.assert_array_equal(patch[TEN_METRE], source[TEN_METRE])
        centre = Transformer.from_crs(4326, scene.epsg, always_xy=True).transform(row.point_lon, row.point_lat)
        left, top = scene.transform.c + 10 * row.col_off, scene.transform.f - 10 * row.row_off
        side = 10 * SIZE
        assert left <= centre[0] <= left + side and top - side <= centre[1] <= top  # the patch holds the point
    assert patches_per_site == [1] * len(squares), dict(zip(CONTINENTS, patches_per_site, strict=True))
