"""The sampling job end to end against a real STAC API (``rustac serve``) and COGs over HTTP range requests."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer
from shapely.geometry import box, shape

from satclip_cli.dataset.sentinel2 import S2_BANDS
from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings, Shard
from satclip_cli.sampling.job import plan, run
from satclip_cli.sampling.retry import RetryPolicy
from tests.support.flaky_proxy import FlakyProxy
from tests.support.s2_stac_fixture import BAND_GSD, ItemSpec

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
TILE = "patch_33188"  # Colorado Plateau, USA: on land


def inner_bbox(built, margin_m: float) -> str:
    """``W,S,E,N`` (degrees) of the item's footprint shrunk by ``margin_m`` metres on each side."""
    left, bottom, right, top = built.bounds
    to_lonlat = Transformer.from_crs(built.epsg, 4326, always_xy=True)
    west, south = to_lonlat.transform(left + margin_m, bottom + margin_m)
    east, north = to_lonlat.transform(right - margin_m, top - margin_m)
    return f"{max(west, to_lonlat.transform(left + margin_m, top - margin_m)[0])},{south},{east},{north}"


def expected_patch(built, col_off: int, row_off: int, size: int) -> np.ndarray:
    """The source pixels of a 10 m window: 20/60 m assets repeated onto the 10 m grid (nearest neighbour)."""
    planes = []
    for band in S2_BANDS:
        factor = BAND_GSD[band] // 10
        full = np.repeat(np.repeat(built.arrays[band], factor, axis=0), factor, axis=1)
        planes.append(full[row_off : row_off + size, col_off : col_off + size])
    return np.stack(planes)


def run_job(catalog, out_dir, *, n=3, size=64, bbox=None, margin_m=400.0, **overrides):
    """The summary of a run of ``n`` patches into ``out_dir``; ``overrides`` are settings or run options."""
    options = {k: overrides.pop(k) for k in list(overrides) if k in RunOptions.__dataclass_fields__}
    first = next(iter(catalog.catalog.built.values()))
    settings = SampleSettings(
        n=n, size=size, stac_url=catalog.stac_url, bbox=bbox or inner_bbox(first, margin_m), **overrides
    )
    options = {"workers": 2, "retry": FAST_RETRY, **options}
    return run(SampleConfig(out_dir, settings, RunOptions(**options)), progress=False)


def read_tile(path):
    """(pixels, tags, (band descriptions, EPSG code, transform)) of a written patch."""
    with rasterio.open(path) as src:
        return src.read(), src.tags(), (src.descriptions, src.crs.to_epsg(), tuple(src.transform)[:6])


def test_patches_equal_the_source_window_and_the_index_describes_them(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE, cloud_cover=2.0)])
    built = next(iter(catalog.catalog.built.values()))
    summary = run_job(catalog, tmp_path / "ds", n=4)
    assert summary.written == 4 and summary.index_rows == 4 and summary.read_errors == 0

    index = gpd.read_parquet(tmp_path / "ds" / "index.parquet")
    assert list(index["fn"]) == [f"patch_{i}.tif" for i in range(4)]
    to_lonlat = Transformer.from_crs(built.epsg, 4326, always_xy=True)
    footprint = shape(built.item["geometry"])
    for row in index.itertuples():
        pixels, tags, (descriptions, epsg, transform) = read_tile(tmp_path / "ds" / "images" / row.fn)
        np.testing.assert_array_equal(pixels, expected_patch(built, row.col_off, row.row_off, 64))
        assert descriptions == S2_BANDS and epsg == built.epsg
        left = built.transform.c + 10 * row.col_off
        top = built.transform.f - 10 * row.row_off
        assert transform == pytest.approx((10, 0, left, 0, -10, top))
        # the index point is the patch centre, and the sampled point lies within half a pixel of it
        assert (row.lon, row.lat) == pytest.approx(to_lonlat.transform(left + 320, top - 320), abs=1e-9)
        assert abs(row.point_lon - row.lon) < 1e-4 and abs(row.point_lat - row.lat) < 1e-4
        assert footprint.contains(row.geometry)
        assert tags["item_id"] == built.id == row.item_id
        assert tags["mgrs_tile"] == built.item["properties"]["s2:mgrs_tile"] == row.mgrs_tile
        assert float(tags["cloud_cover"]) == 2.0 == row.cloud_cover
        assert pd.Timestamp(row.datetime) == pd.Timestamp(built.item["properties"]["datetime"])
        assert row.mean_solar_zenith == pytest.approx(built.item["properties"]["s2:mean_solar_zenith"])

    # the original S2-100K loader: index.csv with fn, lon, lat; images/<fn>
    csv = pd.read_csv(tmp_path / "ds" / "index.csv")
    assert list(csv.columns) == ["fn", "lon", "lat"]
    assert all((tmp_path / "ds" / "images" / fn).is_file() for fn in csv["fn"])
    np.testing.assert_allclose(csv[["lon", "lat"]].to_numpy(), index[["lon", "lat"]].to_numpy(), atol=1e-8)


def test_points_outside_every_footprint_are_redrawn(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    built = next(iter(catalog.catalog.built.values()))
    west, south, east, north = shape(built.item["geometry"]).bounds
    pad = 0.03  # degrees: the box is ~4x the item's footprint
    bbox = f"{west - pad},{south - pad},{east + pad},{north + pad}"
    summary = run_job(catalog, tmp_path / "ds", n=3, bbox=bbox, max_point_attempts=200)
    assert summary.written == 3 and summary.gave_up == 0
    assert summary.no_item > 0
    index = gpd.read_parquet(tmp_path / "ds" / "index.parquet")
    footprint = shape(built.item["geometry"])
    assert all(footprint.contains(point) for point in index.geometry)


def test_nodata_and_cloudy_patches_are_rejected_for_the_next_scene(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory(
        [
            ItemSpec(TILE, cloud_cover=0.5, nodata_columns=252, processing_time="20220101T000001"),
            ItemSpec(TILE, cloud_cover=1.0, scl_cloud_columns=252, processing_time="20220101T000002"),
            ItemSpec(TILE, cloud_cover=3.0, processing_time="20220101T000003"),
            ItemSpec(TILE, cloud_cover=50.0, processing_time="20220101T000004"),  # above --max-cloud
        ]
    )
    empty, cloudy, clear, too_cloudy = catalog.catalog.built.values()
    summary = run_job(catalog, tmp_path / "ds", n=3, max_cloud_fraction=0.2)
    assert summary.written == 3
    assert summary.rejected == {"nodata": 3, "cloud": 3}
    index = pd.read_parquet(tmp_path / "ds" / "index.parquet")
    assert set(index["item_id"]) == {clear.id}
    assert index["cloud_fraction"].max() == 0.0


def test_a_broken_cog_is_skipped_and_counted(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory(
        [
            ItemSpec(TILE, cloud_cover=0.5, broken_band="B04", processing_time="20220101T000001"),
            ItemSpec(TILE, cloud_cover=2.0, processing_time="20220101T000002"),
        ]
    )
    broken, good = catalog.catalog.built.values()
    summary = run_job(catalog, tmp_path / "ds", n=2, workers=1)
    assert summary.written == 2 and summary.read_errors == 2
    assert set(pd.read_parquet(tmp_path / "ds" / "index.parquet")["item_id"]) == {good.id}
    failures = [json.loads(line) for line in (tmp_path / "ds" / "sampling" / "failures-1-of-1.jsonl").open()]
    assert [f["stage"] for f in failures] == ["read", "read"]
    assert all(f["item_id"] == broken.id and f["error"].startswith("B04") for f in failures)


def test_malformed_items_and_missing_assets_are_skipped_counted_and_logged(stac_catalog_factory, tmp_path):
    bad_transform = [10.0, 0.0, 0.0, -10.0, 0.0]  # 5 numbers
    catalog = stac_catalog_factory(
        [
            ItemSpec(
                TILE,
                cloud_cover=0.5,
                asset_overrides={"proj:transform": bad_transform},
                processing_time="20220101T000001",
            ),
            ItemSpec(TILE, cloud_cover=1.0, asset_overrides={"proj:shape": None}, processing_time="20220101T000002"),
            ItemSpec(
                TILE, cloud_cover=1.5, broken_band="B05", broken_mode="missing", processing_time="20220101T000003"
            ),
            ItemSpec(TILE, cloud_cover=2.0, processing_time="20220101T000004"),
        ]
    )
    bad_grid, no_shape, missing_asset, good = catalog.catalog.built.values()
    summary = run_job(catalog, tmp_path / "ds", n=2, workers=1)
    assert summary.written == 2 and summary.bad_items == 4 and summary.read_errors == 2
    assert set(pd.read_parquet(tmp_path / "ds" / "index.parquet")["item_id"]) == {good.id}
    failures = [json.loads(line) for line in (tmp_path / "ds" / "sampling" / "failures-1-of-1.jsonl").open()]
    by_item = {(f["stage"], f["item_id"]) for f in failures}
    assert by_item == {("item", bad_grid.id), ("item", no_shape.id), ("read", missing_asset.id)}
    assert all("proj:transform" in f["error"] for f in failures if f["item_id"] == bad_grid.id)
    assert all(
        f["error"].endswith("lacks projection metadata: proj:shape") for f in failures if f["item_id"] == no_shape.id
    )
    assert all(
        f["error"].startswith("B05") and "404" in f["error"] for f in failures if f["item_id"] == missing_asset.id
    )
    assert "0 search, 2 read, 4 bad item (skipped" in " ".join(summary.lines())


def test_cog_server_answering_503_is_survived(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    catalog.range_server.fail_next(catalog.path_prefix, 3)
    summary = run_job(catalog, tmp_path / "ds", n=2)
    assert summary.written == 2 and summary.read_errors == 0
    statuses = [r.status for r in catalog.range_server.request_log if r.path.startswith(catalog.path_prefix)]
    assert statuses.count(503) == 3


def test_cog_failing_past_gdals_own_retries_is_read_on_our_retry(stac_catalog_factory, tmp_path, monkeypatch):
    from satclip_cli.sampling import reader

    monkeypatch.setitem(reader.REMOTE_GDAL_OPTIONS, "GDAL_HTTP_MAX_RETRY", 1)
    monkeypatch.setitem(reader.REMOTE_GDAL_OPTIONS, "GDAL_HTTP_RETRY_DELAY", 0.01)
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    built = next(iter(catalog.catalog.built.values()))
    b04 = "/" + built.hrefs["B04"].split("/", 3)[3]
    catalog.range_server.fail_next(b04, 3)  # GDAL tries twice, gives up; GDAL then remembers the failed URL
    summary = run_job(catalog, tmp_path / "ds", n=1, workers=1)
    assert summary.written == 1 and summary.read_errors == 0 and summary.retries >= 1
    assert [r.status for r in catalog.range_server.request_log if r.path == b04][:3] == [503, 503, 503]


def test_stac_api_answering_503_is_retried(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    with FlakyProxy(catalog.stac_url) as proxy:
        catalog.stac_url = proxy.url
        first = next(iter(catalog.catalog.built.values()))
        settings = SampleSettings(n=2, size=64, stac_url=proxy.url, bbox=inner_bbox(first, 400))
        proxy.fail_next(2, path_prefix="/search")  # the searches, not the opening of the API
        summary = run(SampleConfig(tmp_path / "ds", settings, RunOptions(workers=1, retry=FAST_RETRY)), progress=False)
    assert proxy.failed == 2
    assert summary.written == 2 and summary.retries >= 2 and summary.search_errors == 0


def test_stac_api_that_stays_down_stops_the_run_with_a_clear_error(stac_catalog_factory, tmp_path):
    from satclip_cli.sampling.sources.stac import StacError

    catalog = stac_catalog_factory([ItemSpec(TILE)])
    with FlakyProxy(catalog.stac_url) as proxy:
        first = next(iter(catalog.catalog.built.values()))
        settings = SampleSettings(n=5, size=64, stac_url=proxy.url, bbox=inner_bbox(first, 400))
        options = RunOptions(
            workers=1, retry=RetryPolicy(attempts=2, base_delay=0.001), max_consecutive_search_failures=3
        )
        proxy.fail_next(10_000, path_prefix="/search")  # the API opens, then every search fails
        with pytest.raises(StacError, match="3 STAC searches in a row failed"):
            run(SampleConfig(tmp_path / "ds", settings, options), progress=False)
    assert (tmp_path / "ds" / "index.csv").read_text().strip() == "fn,lon,lat"


def test_shards_together_make_the_same_dataset_as_one_run(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    run_job(catalog, tmp_path / "whole", n=4)
    for k in (1, 2):
        run_job(catalog, tmp_path / "sharded", n=4, shard=Shard(k, 2))
    whole = pd.read_parquet(tmp_path / "whole" / "index.parquet")
    sharded = pd.read_parquet(tmp_path / "sharded" / "index.parquet")
    assert list(sharded["fn"]) == list(whole["fn"])
    pd.testing.assert_frame_equal(
        sharded[["fn", "lon", "lat", "col_off", "row_off"]], whole[["fn", "lon", "lat", "col_off", "row_off"]]
    )
    records = sorted((tmp_path / "sharded" / "sampling").glob("records-*.jsonl"))
    assert [p.name for p in records] == ["records-1-of-2.jsonl", "records-2-of-2.jsonl"]


def test_rerun_skips_done_patches_and_can_extend_the_dataset(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    run_job(catalog, tmp_path / "ds", n=2)
    first_bytes = (tmp_path / "ds" / "images" / "patch_0.tif").read_bytes()
    again = run_job(catalog, tmp_path / "ds", n=2)
    assert again.written == 0 and again.already_done == 2
    extended = run_job(catalog, tmp_path / "ds", n=3)
    assert extended.written == 1 and extended.index_rows == 3
    assert (tmp_path / "ds" / "images" / "patch_0.tif").read_bytes() == first_bytes


def test_region_file_limits_the_points(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    built = next(iter(catalog.catalog.built.values()))
    west, south, east, north = shape(built.item["geometry"]).bounds
    # the southern half of the footprint, shrunk away from the edges
    region = box(west + 0.005, south + 0.005, east - 0.005, (south + north) / 2)
    gpd.GeoDataFrame({"name": ["south"]}, geometry=[region], crs="EPSG:4326").to_file(tmp_path / "region.gpkg")
    settings = SampleSettings(n=3, size=32, stac_url=catalog.stac_url, region=str(tmp_path / "region.gpkg"))
    config = SampleConfig(tmp_path / "ds", settings, RunOptions(workers=2, retry=FAST_RETRY))
    assert run(config, progress=False).written == 3
    index = pd.read_parquet(tmp_path / "ds" / "index.parquet")
    assert (index["point_lat"] < (south + north) / 2).all()


def test_scene_list_strategy_reads_random_windows_of_listed_scenes(stac_catalog_factory, tmp_path):
    import rustac

    catalog = stac_catalog_factory(
        [ItemSpec(TILE, processing_time="20220101T000001"), ItemSpec("patch_57755", processing_time="20220101T000002")]
    )
    items_path = tmp_path / "scenes.parquet"
    rustac.write_sync(str(items_path), catalog.catalog.items)
    settings = SampleSettings(n=6, size=48, strategy="scenes", items=str(items_path), max_cloud=100.0)
    config = SampleConfig(tmp_path / "ds", settings, RunOptions(workers=2, retry=FAST_RETRY))
    lines = plan(config, preview_points=2)
    assert "random windows of 2 scenes" in lines[2] and lines[-1].startswith("  patch_1.tif: scene ")
    assert run(config, progress=False).written == 6
    index = pd.read_parquet(tmp_path / "ds" / "index.parquet")
    assert index["item_id"].nunique() == 2  # both scenes drawn (6 draws; fails with probability 1/32)
    for row in index.itertuples():
        built = catalog.catalog.item(row.item_id)
        pixels, _, _ = read_tile(tmp_path / "ds" / "images" / row.fn)
        np.testing.assert_array_equal(pixels, expected_patch(built, row.col_off, row.row_off, 48))


def test_dry_run_searches_but_reads_no_pixels(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    built = next(iter(catalog.catalog.built.values()))
    settings = SampleSettings(n=3, size=64, stac_url=catalog.stac_url, bbox=inner_bbox(built, 400))
    lines = plan(SampleConfig(tmp_path / "ds", settings))
    text = "\n".join(lines)
    assert "3 patches" in text and catalog.stac_url in text and "cloud-cover filter on the client" in text
    assert sum(built.id in line for line in lines) == 3
    assert catalog.range_server.requests_for(catalog.path_prefix) == 0
    assert not (tmp_path / "ds").exists()


def test_index_is_refreshed_during_long_runs_and_signing_passes_other_hosts_through(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    # sign=True goes through planetary_computer's signing, which leaves non-Azure URLs as they are
    summary = run_job(catalog, tmp_path / "ds", n=3, workers=1, index_refresh_seconds=0.0, sign=True)
    assert summary.written == 3 and summary.index_rows == 3
