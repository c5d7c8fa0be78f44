"""Smoke tests of the loopback test infrastructure: range server, fake S2 catalog, rustac STAC API, GDAL over HTTP.

The rustac assertions pin the behaviour documented in ``rustac_server.py`` (rustac 0.9.18, in-memory backend), so an
upgrade that changes it fails here first.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import rasterio
from pystac_client import Client
from pystac_client.exceptions import APIError
from rasterio.errors import RasterioIOError
from rasterio.windows import Window
from shapely.geometry import Point, shape

from tests.support.range_http_server import GDAL_LOOPBACK_ENV, RangeHTTPServer, parse_range
from tests.support.s2_stac_fixture import (
    ASSET_KEYS,
    BAND_GSD,
    CROP_PX,
    DATE_RANGE,
    SCL_CLOUD_HIGH_PROBABILITY,
    SCL_NO_DATA,
    SCL_VEGETATION,
    SOURCE_BAND_ORDER,
    ItemSpec,
)

if TYPE_CHECKING:
    from tests.support.loopback_fixtures import LoopbackCatalog, StacCatalogFactory

DATETIME = "2021-01-01/2023-05-17"
FAR_AWAY = [0.0, -60.0]  # lon, lat: Southern Ocean, no tile near it

REQUIRED_PROPERTIES = (
    "datetime",
    "platform",
    "constellation",
    "proj:epsg",
    "s2:mgrs_tile",
    "eo:cloud_cover",
    "s2:mean_solar_zenith",
    "s2:mean_solar_azimuth",
    "s2:granule_id",
    "s2:processing_baseline",
    "s2:nodata_pixel_percentage",
    "sat:relative_orbit",
)
EXPECTED_CONFORMANCE = {
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
}


def _http(url: str, body: Any = None, headers: dict[str, str] | None = None, method: str | None = None):
    """(status, headers, raw body) of one request; HTTP errors are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()


def _search(cat: LoopbackCatalog, body: dict[str, Any]) -> tuple[int, Any]:
    status, _, raw = _http(cat.stac_url + "/search", body)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _ids(page: dict[str, Any]) -> list[str]:
    return [f["id"] for f in page["features"]]


# ---------------------------------------------------------------------------------------------------------------------
# Range server
# ---------------------------------------------------------------------------------------------------------------------


def test_parse_range_resolves_the_three_single_range_forms() -> None:
    assert parse_range("bytes=10-19", 100) == (10, 19)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=95-", 100) == (95, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=-500", 100) == (0, 99)
    assert parse_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_range("bytes=-0", 100) == "unsatisfiable"
    assert parse_range("bytes=0-1,5-6", 100) is None
    assert parse_range("bytes=9-3", 100) is None
    assert parse_range("items=0-1", 100) is None


def test_range_server_answers_ranges_with_206_and_the_right_bytes(range_server: RangeHTTPServer) -> None:
    payload = bytes(range(256)) * 40  # 10240 bytes
    (range_server.root / "range-bytes").mkdir(exist_ok=True)
    (range_server.root / "range-bytes" / "blob.bin").write_bytes(payload)
    url = range_server.url + "/range-bytes/blob.bin"
    range_server.reset_counters()

    status, headers, body = _http(url, headers={"Range": "bytes=1000-1099"})
    assert status == 206
    assert body == payload[1000:1100]
    assert headers["Content-Range"] == f"bytes 1000-1099/{len(payload)}"
    assert headers["Content-Length"] == "100"
    assert headers["Accept-Ranges"] == "bytes"

    assert _http(url, headers={"Range": "bytes=10000-"})[2] == payload[10000:]
    assert _http(url, headers={"Range": "bytes=-16"})[2] == payload[-16:]

    status, headers, body = _http(url, headers={"Range": f"bytes={len(payload)}-"})
    assert (status, headers["Content-Range"], body) == (416, f"bytes */{len(payload)}", b"")

    status, _, body = _http(url, headers={"Range": "bytes=0-1,5-6"})  # multi-range -> full body
    assert (status, body) == (200, payload)

    status, headers, body = _http(url, method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, str(len(payload)), b"")

    assert _http(range_server.url + "/range-bytes/missing.bin")[0] == 404
    assert _http(range_server.url + "/../../etc/passwd")[0] == 404

    assert range_server.requests_per_path["/range-bytes/blob.bin"] == 6
    assert range_server.bytes_sent_for("/range-bytes/blob.bin") == 100 + 240 + 16 + len(payload)


def test_range_server_keeps_connections_alive(range_server: RangeHTTPServer) -> None:
    (range_server.root / "keep-alive").mkdir(exist_ok=True)
    (range_server.root / "keep-alive" / "x.txt").write_bytes(b"0123456789")
    conn = http.client.HTTPConnection("127.0.0.1", range_server.port, timeout=10)
    try:
        local_ports = set()
        for first in range(3):
            conn.request("GET", "/keep-alive/x.txt", headers={"Range": f"bytes={first}-{first + 1}"})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (206, b"0123456789"[first : first + 2])
            assert conn.sock is not None
            local_ports.add(conn.sock.getsockname()[1])
        assert len(local_ports) == 1  # one TCP connection for all three requests
    finally:
        conn.close()


def test_fail_next_injects_503_then_serves_normally(range_server: RangeHTTPServer) -> None:
    (range_server.root / "faulty").mkdir(exist_ok=True)
    (range_server.root / "faulty" / "a.txt").write_bytes(b"hello")
    url = range_server.url + "/faulty/a.txt"
    range_server.fail_next("/faulty/", count=2)
    range_server.fail_next("/faulty/", count=1, status=500)

    statuses = []
    for _ in range(4):
        status, headers, body = _http(url)
        statuses.append(status)
        if status != 200:
            assert headers["Retry-After"] == "0"
    assert statuses == [503, 503, 500, 200]
    assert body == b"hello"
    assert range_server.requests_for("/faulty/") == 4


# ---------------------------------------------------------------------------------------------------------------------
# The built catalog
# ---------------------------------------------------------------------------------------------------------------------


def test_items_follow_the_planetary_computer_layout(default_stac_catalog: LoopbackCatalog) -> None:
    cat = default_stac_catalog.catalog
    assert len(cat.items) == 5
    for item in cat.items:
        b = cat.item(item["id"])
        assert item["stac_version"] == "1.0.0"
        assert item["collection"] == "sentinel-2-l2a"
        sat, product, acq, orbit, mgrs, proc = item["id"].split("_")
        assert (sat in ("S2A", "S2B"), product, orbit[0], mgrs) == (True, "MSIL2A", "R", "T" + b.tile.mgrs_tile)
        props = item["properties"]
        for key in REQUIRED_PROPERTIES:
            assert key in props, key
        assert DATE_RANGE[0].isoformat() <= props["datetime"][:10] <= DATE_RANGE[1].isoformat()
        assert props["proj:epsg"] == b.epsg
        assert 0 < props["s2:mean_solar_zenith"] < 90
        assert set(item["assets"]) == set(ASSET_KEYS)
        for key, asset in item["assets"].items():
            gsd = BAND_GSD[key]
            n = CROP_PX * 10 // gsd
            assert asset["href"] == b.hrefs[key]
            assert asset["href"].startswith(default_stac_catalog.cog_base_url + "/")
            assert asset["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
            assert asset["gsd"] == gsd and asset["proj:shape"] == [n, n]
            assert asset["proj:transform"] == list(b.transforms[key])[:6]
            assert asset["proj:bbox"] == list(b.bounds)
            assert ("eo:bands" in asset) == (key != "SCL")
            assert b.arrays[key].shape == (n, n)
        footprint = shape(item["geometry"])
        assert footprint.is_valid and footprint.exterior.is_ccw
        assert footprint.contains(Point(*b.center_lonlat))
        assert np.allclose(footprint.bounds, item["bbox"])
        # 10 m bands are the unmodified source pixels outside the nodata columns.
        cols = b.spec.nodata_columns
        np.testing.assert_array_equal(b.arrays["B04"][:, cols:], b.source[SOURCE_BAND_ORDER.index("B04"), :, cols:])

    lo = np.min([i["bbox"][:2] for i in cat.items], axis=0)
    hi = np.max([i["bbox"][2:] for i in cat.items], axis=0)
    assert cat.collection["extent"]["spatial"]["bbox"][0] == [*lo, *hi]


def test_coarse_bands_are_block_means_and_masks_follow_the_spec(default_stac_catalog: LoopbackCatalog) -> None:
    cat = default_stac_catalog.catalog
    clear, cloudy = cat.for_tile("patch_33188")
    assert clear.spec.nodata_columns == 0 and cloudy.spec.nodata_columns == 60
    src = clear.source.astype(np.float64)
    b05 = src[SOURCE_BAND_ORDER.index("B05")].reshape(126, 2, 126, 2).mean(axis=(1, 3))
    b01 = src[SOURCE_BAND_ORDER.index("B01")].reshape(42, 6, 42, 6).mean(axis=(1, 3))
    assert np.abs(clear.arrays["B05"].astype(np.float64) - b05).max() <= 0.5
    assert np.abs(clear.arrays["B01"].astype(np.float64) - b01).max() <= 0.5
    assert (clear.arrays["SCL"] == SCL_VEGETATION).all()

    for key in ("B02", "B05", "B01"):  # 60 columns = 600 m = 60 / 30 / 10 px
        n = 60 * 10 // BAND_GSD[key]
        assert (cloudy.arrays[key][:, :n] == 0).all()
        assert (cloudy.arrays[key][:, n:] != 0).mean() > 0.99
    scl = cloudy.arrays["SCL"]
    assert (scl[:, :30] == SCL_NO_DATA).all()
    assert (scl[:, 30:50] == SCL_CLOUD_HIGH_PROBABILITY).all()
    assert (scl[:, 50:] == SCL_VEGETATION).all()
    assert cloudy.item["properties"]["eo:cloud_cover"] == 41.5
    assert cloudy.item["properties"]["s2:nodata_pixel_percentage"] == pytest.approx(100 * 60 / 252)


# ---------------------------------------------------------------------------------------------------------------------
# rustac STAC API through pystac-client
# ---------------------------------------------------------------------------------------------------------------------


def test_pystac_client_searches_by_point_and_datetime(default_stac_catalog: LoopbackCatalog) -> None:
    cat = default_stac_catalog.catalog
    client = Client.open(default_stac_catalog.stac_url)
    assert client.id == "stac-server-rs"
    for tile in ("patch_33188", "patch_57755", "patch_58000", "patch_8845"):
        expected = cat.for_tile(tile)
        lon, lat = expected[0].center_lonlat
        search = client.search(
            collections=["sentinel-2-l2a"],
            intersects={"type": "Point", "coordinates": [lon, lat]},
            datetime=DATETIME,
        )
        items = list(search.items())
        assert sorted(i.id for i in items) == sorted(b.id for b in expected), tile
        assert items[0].assets["B04"].href == cat.item(items[0].id).hrefs["B04"]

    far = client.search(collections=["sentinel-2-l2a"], intersects={"type": "Point", "coordinates": FAR_AWAY})
    assert list(far.items()) == []
    outside = client.search(collections=["sentinel-2-l2a"], datetime="2023-05-18/2024-01-01")
    assert list(outside.items()) == []


def test_pystac_client_pages_through_next_links(default_stac_catalog: LoopbackCatalog) -> None:
    client = Client.open(default_stac_catalog.stac_url)
    search = client.search(collections=["sentinel-2-l2a"], limit=2)
    pages = list(search.pages())
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [i.id for p in pages for i in p.items] == [i["id"] for i in default_stac_catalog.catalog.items]


def test_rustac_landing_page_conformance_and_links(default_stac_catalog: LoopbackCatalog) -> None:
    status, _, raw = _http(default_stac_catalog.stac_url + "/")
    landing = json.loads(raw)
    assert status == 200
    assert set(landing["conformsTo"]) == EXPECTED_CONFORMANCE
    search_links = [link for link in landing["links"] if link["rel"] == "search"]
    assert {link["method"] for link in search_links} == {"GET", "POST"}
    # --addr is written into every link
    assert all(link["href"].startswith(default_stac_catalog.stac_url + "/") for link in landing["links"])


def test_rustac_search_parameters_that_work(default_stac_catalog: LoopbackCatalog) -> None:
    cat = default_stac_catalog.catalog
    all_ids = [i["id"] for i in cat.items]
    clear, cloudy = cat.for_tile("patch_33188")
    lon, lat = clear.center_lonlat

    assert _ids(_search(default_stac_catalog, {})[1]) == all_ids  # insertion order
    assert _ids(_search(default_stac_catalog, {"collections": ["sentinel-2-l2a"]})[1]) == all_ids
    assert _ids(_search(default_stac_catalog, {"collections": ["nope"]})[1]) == []
    bbox = [lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001]
    assert sorted(_ids(_search(default_stac_catalog, {"bbox": bbox})[1])) == sorted([clear.id, cloudy.id])
    polygon = {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]],
    }
    assert len(_ids(_search(default_stac_catalog, {"intersects": polygon})[1])) == 2
    # intersects uses the footprint geometry, not the bbox: the bbox corner lies outside the (rotated) footprint
    west, south = clear.item["bbox"][:2]
    corner = {"type": "Point", "coordinates": [west + 1e-6, south + 1e-6]}
    assert _ids(_search(default_stac_catalog, {"intersects": corner})[1]) == []

    t = cloudy.item["properties"]["datetime"]
    assert _ids(_search(default_stac_catalog, {"datetime": f"{t}/{t}"})[1]) == [cloudy.id]  # inclusive bounds
    assert _ids(_search(default_stac_catalog, {"datetime": t})[1]) == [cloudy.id]
    assert cloudy.id in _ids(_search(default_stac_catalog, {"datetime": f"{t}/.."})[1])
    assert _ids(_search(default_stac_catalog, {"ids": [cloudy.id, "nope"]})[1]) == [cloudy.id]

    status, page = _search(default_stac_catalog, {"limit": 2})
    assert status == 200 and len(page["features"]) == 2 and page["numberReturned"] == 2
    assert "numberMatched" not in page and "context" not in page
    (nxt,) = [link for link in page["links"] if link["rel"] == "next"]
    assert nxt["method"] == "POST" and nxt["body"] == {"limit": 2, "skip": 2}
    assert nxt["href"] == default_stac_catalog.stac_url + "/search"

    # quirks: bbox + intersects and date-only datetimes are rejected
    assert _search(default_stac_catalog, {"bbox": bbox, "intersects": corner})[0] == 400
    assert _search(default_stac_catalog, {"datetime": "2022-09-14"})[0] == 400


def test_rustac_query_and_filter_return_nothing_sortby_and_fields_are_ignored(
    default_stac_catalog: LoopbackCatalog,
) -> None:
    all_ids = [i["id"] for i in default_stac_catalog.catalog.items]
    cc_lt_10 = {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]}

    assert _ids(_search(default_stac_catalog, {"query": {"eo:cloud_cover": {"lt": 10}}})[1]) == []
    assert _ids(_search(default_stac_catalog, {"query": {}})[1]) == []
    assert _ids(_search(default_stac_catalog, {"filter": cc_lt_10, "filter-lang": "cql2-json"})[1]) == []
    assert _ids(_search(default_stac_catalog, {"filter": "eo:cloud_cover < 10", "filter-lang": "cql2-text"})[1]) == []
    assert _ids(_search(default_stac_catalog, {"filter": cc_lt_10})[1]) == all_ids  # no filter-lang: ignored
    assert _ids(_search(default_stac_catalog, {"filter": True, "filter-lang": "cql2-json"})[1]) == all_ids

    by_cloud = {"sortby": [{"field": "properties.eo:cloud_cover", "direction": "desc"}]}
    assert _ids(_search(default_stac_catalog, by_cloud)[1]) == all_ids
    status, page = _search(default_stac_catalog, {"fields": {"include": ["id"], "exclude": ["assets"]}})
    assert status == 200 and all("assets" in f for f in page["features"])

    client = Client.open(default_stac_catalog.stac_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pystac-client warns DoesNotConformTo(QUERY/FILTER)
        assert list(client.search(collections=["sentinel-2-l2a"], query={"eo:cloud_cover": {"lt": 10}}).items()) == []
        assert list(client.search(collections=["sentinel-2-l2a"], filter=cc_lt_10).items()) == []


def test_rustac_get_search_fails_when_a_next_link_needs_list_parameters(default_stac_catalog: LoopbackCatalog) -> None:
    base = default_stac_catalog.stac_url
    assert _http(base + "/search?limit=1")[0] == 200
    assert _http(base + "/search?datetime=2021-01-01T00:00:00Z/2023-05-17T00:00:00Z&limit=1")[0] == 200
    assert _http(base + "/search?collections=sentinel-2-l2a")[0] == 200  # one page: fine
    assert _http(base + "/search?bbox=-180,-90,180,90")[0] == 200
    assert _http(base + "/search?collections=sentinel-2-l2a&limit=2")[0] == 500  # next link: "unsupported value"
    assert _http(base + "/search?bbox=-180,-90,180,90&limit=2")[0] == 500
    assert _http(base + "/collections/sentinel-2-l2a/items?bbox=-180,-90,180,90&limit=2")[0] == 500
    client = Client.open(base)
    assert len(list(client.search(collections=["sentinel-2-l2a"], method="GET").items())) == 5
    with pytest.raises(APIError, match="unsupported value"):
        list(client.search(collections=["sentinel-2-l2a"], method="GET", limit=2).items())


# ---------------------------------------------------------------------------------------------------------------------
# GDAL over HTTP
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("gdal_loopback_env")
def test_window_reads_over_http_equal_the_source_and_are_partial(stac_catalog_factory: StacCatalogFactory) -> None:
    served = stac_catalog_factory([ItemSpec("patch_58000")])
    (b,) = served.catalog.built.values()
    server = served.range_server

    server.reset_counters()
    href = b.hrefs["B04"]
    with rasterio.open(href) as ds:
        assert ds.crs.to_epsg() == b.epsg
        assert ds.transform == b.transforms["B04"]
        assert (ds.width, ds.height, ds.nodata, ds.block_shapes[0]) == (252, 252, 0, (64, 64))
        window = ds.read(1, window=Window(64, 128, 64, 64))
    np.testing.assert_array_equal(window, b.arrays["B04"][128:192, 64:128])
    path = href[len(server.url) :]
    size = b.paths["B04"].stat().st_size
    sent = server.bytes_sent_for(path)
    assert 0 < sent < size / 2, (sent, size)
    assert all(r.status in (200, 206) for r in server.request_log)
    assert any(r.range for r in server.request_log)

    # the same 640 m x 640 m ground window at 20 m and 60 m
    with rasterio.open(b.hrefs["B05"]) as ds:
        np.testing.assert_array_equal(ds.read(1, window=Window(32, 64, 32, 32)), b.arrays["B05"][64:96, 32:64])
    with rasterio.open(b.hrefs["B09"]) as ds:
        np.testing.assert_array_equal(ds.read(1, window=Window(10, 20, 12, 12)), b.arrays["B09"][20:32, 10:22])
    with rasterio.open(b.hrefs["SCL"]) as ds:
        assert ds.dtypes[0] == "uint8"
        assert (ds.read(1) == SCL_VEGETATION).all()


@pytest.mark.usefixtures("gdal_loopback_env")
def test_broken_and_missing_assets_fail_over_http(stac_catalog_factory: StacCatalogFactory) -> None:
    served = stac_catalog_factory(
        [
            ItemSpec("patch_57755", broken_band="B08"),
            ItemSpec("patch_57755", datetime="2022-07-01T09:50:00Z", broken_band="B08", broken_mode="truncated"),
            ItemSpec("patch_57755", datetime="2022-07-11T09:50:00Z", broken_band="B08", broken_mode="missing"),
        ]
    )
    for b in served.catalog.built.values():
        with pytest.raises(RasterioIOError), rasterio.open(b.hrefs["B08"]) as ds:
            ds.read(1, window=Window(0, 0, 64, 64))
        with rasterio.open(b.hrefs["B03"]) as ds:  # the other bands are fine
            np.testing.assert_array_equal(ds.read(1, window=Window(0, 0, 8, 8)), b.arrays["B03"][:8, :8])


def test_gdal_caches_a_failed_open_per_url_unless_it_retries(stac_catalog_factory: StacCatalogFactory) -> None:
    """Documents GDAL 3.10 behaviour the sampler has to live with (see range_http_server's docstring)."""
    served = stac_catalog_factory([ItemSpec("patch_8845")])
    (b,) = served.catalog.built.values()
    server = served.range_server

    with rasterio.Env(**GDAL_LOOPBACK_ENV, GDAL_HTTP_MAX_RETRY="0"):
        server.fail_next(served.path_prefix, 1)
        with pytest.raises(RasterioIOError, match="503"):
            rasterio.open(b.hrefs["B02"])
        before = server.requests_for(served.path_prefix)
        with pytest.raises(RasterioIOError, match="503"):  # cached failure, no new request
            rasterio.open(b.hrefs["B02"])
        assert server.requests_for(served.path_prefix) == before

    with rasterio.Env(**GDAL_LOOPBACK_ENV, GDAL_HTTP_MAX_RETRY="2", GDAL_HTTP_RETRY_DELAY="0.01"):
        server.fail_next(served.path_prefix, 2)
        with rasterio.open(b.hrefs["B03"]) as ds:
            np.testing.assert_array_equal(ds.read(1, window=Window(0, 0, 16, 16)), b.arrays["B03"][:16, :16])
    statuses = [r.status for r in server.request_log if r.path == b.hrefs["B03"][len(server.url) :]]
    assert statuses[:3] == [503, 503, 200]
