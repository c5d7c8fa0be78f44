"""Scattered tiny regions in a real run: a rustac STAC API and a Range HTTP server on loopback.

Four polygons of 10 m x 10 m, one in each fixture scene (Canada, Colorado, Brazil, Kazakhstan: three
continents), sampled by ``satclip sample --region``: the old sampler drew in one window around all of
them and found none; each polygon is now drawn in its own window.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box, shape

from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings
from satclip_cli.sampling.job import run
from tests.sampling.test_job import FAST_RETRY, expected_patch
from tests.support.s2_stac_fixture import ItemSpec

TILES = ["patch_8845", "patch_33188", "patch_57755", "patch_58000"]


def ten_metre_square(lon: float, lat: float) -> Polygon:
    d_lat = 10.0 / 111_195.0
    return box(lon, lat, lon + d_lat / math.cos(math.radians(lat)), lat + d_lat)


def test_tiny_polygons_in_scenes_on_three_continents_give_pixel_exact_patches(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(tile) for tile in TILES])
    built = list(catalog.catalog.built.values())
    squares = [ten_metre_square(*shape(item.item["geometry"]).centroid.coords[0]) for item in built]
    region = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"site": range(4)}, geometry=squares, crs=4326).to_file(region, driver="GeoJSON")

    settings = SampleSettings(n=8, size=32, stac_url=catalog.stac_url, region=str(region), seed=4)
    summary = run(SampleConfig(tmp_path / "ds", settings, RunOptions(workers=2, retry=FAST_RETRY)), progress=False)
    assert summary.written == 8 and summary.read_errors == 0

    index = pd.read_parquet(tmp_path / "ds" / "index.parquet")
    by_id = {item.id: item for item in built}
    sites = set()
    for row in index.itertuples():
        point = Point(row.point_lon, row.point_lat)
        site = [i for i, square in enumerate(squares) if square.covers(point)]
        assert len(site) == 1, (row.point_lon, row.point_lat)  # the drawn point is inside one 10 m square
        sites.add(site[0])
        item = by_id[row.item_id]
        assert squares[site[0]].within(shape(item.item["geometry"]))  # ... and read from that square's scene
        with rasterio.open(tmp_path / "ds" / "images" / row.fn) as src:
            np.testing.assert_array_equal(src.read(), expected_patch(item, row.col_off, row.row_off, 32))
        centre = Transformer.from_crs(4326, item.epsg, always_xy=True).transform(row.point_lon, row.point_lat)
        left, top = item.transform.c + 10 * row.col_off, item.transform.f - 10 * row.row_off
        assert left <= centre[0] <= left + 320 and top - 320 <= centre[1] <= top  # the patch holds the point
    assert len(sites) >= 3  # scattered over the scenes, not one
