"""Reading (lon, lat) points in chunks from real vector files and tables."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from satclip_cli.errors import InputError
from satclip_cli.geo.vector_input import (
    AssumedCRSWarning,
    MultipleLayersWarning,
    open_point_source,
    representative_points,
    sample_points_in_geometries,
)

N = 50


def _points_frame(n: int = N, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-179, 179, n)
    lat = rng.uniform(-89, 89, n)
    return gpd.GeoDataFrame(
        {"site": [f"s{i:02d}" for i in range(n)], "value": np.arange(n, dtype=np.int64) * 3, "w": rng.random(n)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".fgb":
        frame.to_file(path, SPATIAL_INDEX="NO")  # keep file order = frame order
    else:
        frame.to_file(path)
    return path


def _covers(geometry: object, x: object, y: object) -> np.ndarray:
    """Whether each (x, y) lies inside or on the boundary of ``geometry`` (element-wise for arrays)."""
    return shapely.covers(geometry, shapely.points(x, y))


def _read_all(path: Path, **kwargs) -> tuple[pd.DataFrame, np.ndarray]:
    source = open_point_source(path, **kwargs)
    chunks = list(source.iter_chunks())
    return pd.concat([c.attributes for c in chunks]), np.concatenate([c.lonlat for c in chunks])


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".fgb", ".parquet"])
def test_point_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = _points_frame()
    path = _write(frame, tmp_path / f"points{suffix}")
    source = open_point_source(path, chunk_size=16)
    assert source.total == N
    assert source.geometry_column == "geometry"
    assert not source.crs_assumed
    assert source.lon_col is None
    chunks = list(source.iter_chunks())
    assert [len(c) for c in chunks] == [16, 16, 16, 2]
    assert [c.start for c in chunks] == [0, 16, 32, 48]
    lonlat = np.concatenate([c.lonlat for c in chunks])
    assert lonlat.dtype == np.float64 and lonlat.shape == (N, 2)
    np.testing.assert_allclose(lonlat, shapely.get_coordinates(frame.geometry.array), atol=1e-9)
    attributes = pd.concat([c.attributes for c in chunks])
    assert list(attributes["site"].astype(str)) == list(frame["site"])
    assert list(attributes["value"].astype("int64")) == list(frame["value"])
    assert list(attributes.index) == list(range(N))
    assert isinstance(chunks[0].attributes, gpd.GeoDataFrame)
    assert chunks[0].attributes.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    ("lon_name", "lat_name", "suffix", "sep"),
    [
        ("lon", "lat", ".csv", ","),
        ("Longitude", "LATITUDE", ".csv", ","),
        ("lng", "Lat", ".csv", ";"),
        ("x", "y", ".tsv", "\t"),
        ("long", "latitude", ".txt", "|"),
    ],
)
def test_csv_auto_detects_columns(tmp_path: Path, lon_name: str, lat_name: str, suffix: str, sep: str) -> None:
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"id": np.arange(N), lat_name: rng.uniform(-90, 90, N), "name": [f"p{i}" for i in range(N)]})
    table.insert(1, lon_name, rng.uniform(-180, 180, N))
    path = tmp_path / f"pts{suffix}"
    table.to_csv(path, sep=sep, index=False)
    source = open_point_source(path, chunk_size=7)
    assert (source.lon_col, source.lat_col) == (lon_name, lat_name)
    assert source.total == N and source.geometry_column is None and not source.crs_assumed
    attributes, lonlat = _read_all(path, chunk_size=7)
    np.testing.assert_allclose(lonlat, table[[lon_name, lat_name]].to_numpy(), rtol=0, atol=1e-12)
    assert list(attributes.columns) == list(table.columns)
    assert list(attributes["id"]) == list(range(N))
    assert not isinstance(attributes, gpd.GeoDataFrame)


def test_csv_explicit_columns_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "pts.csv"
    # "x"/"y" exist but are not coordinates; the explicit names must win.
    pd.DataFrame({"x": [1, 2], "y": [3, 4], "East_Deg": [10.5, -20.25], "north_deg": [45.0, -33.5]}).to_csv(
        path, index=False
    )
    source = open_point_source(path, lon_col="east_deg", lat_col="NORTH_DEG")
    assert (source.lon_col, source.lat_col) == ("East_Deg", "north_deg")
    _, lonlat = _read_all(path, lon_col="East_Deg", lat_col="north_deg")
    np.testing.assert_array_equal(lonlat, [[10.5, 45.0], [-20.25, -33.5]])
    with pytest.raises(InputError, match="no longitude column 'easting'"):
        open_point_source(path, lon_col="easting", lat_col="north_deg")


def test_csv_wkt_column_is_geometry(tmp_path: Path) -> None:
    path = tmp_path / "shapes.csv"
    square = "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))"
    pd.DataFrame({"name": ["a", "b"], "WKT": ["POINT (5 6)", square]}).to_csv(path, index=False)
    with pytest.warns(AssumedCRSWarning):
        source = open_point_source(path)
    assert source.geometry_column == "WKT" and source.crs_assumed
    chunk = next(source.iter_chunks())
    assert isinstance(chunk.attributes, gpd.GeoDataFrame)
    assert chunk.lonlat[0].tolist() == [5.0, 6.0]
    assert shapely.contains_xy(shapely.from_wkt(square), *chunk.lonlat[1])


def test_csv_column_types_are_stable_across_chunks(tmp_path: Path) -> None:
    # "code" is an integer in the first chunks and text later; "maybe" is empty at first.
    codes = [str(i) for i in range(20)] + ["A7"]
    maybe = [""] * 15 + ["x"] * 6
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"lon": np.arange(21.0), "lat": np.zeros(21), "code": codes, "maybe": maybe}).to_csv(path, index=False)
    source = open_point_source(path, chunk_size=5)
    chunks = list(source.iter_chunks())
    dtypes = {str(c.attributes["code"].dtype) for c in chunks}
    assert len(dtypes) == 1
    assert len({str(c.attributes["maybe"].dtype) for c in chunks}) == 1
    assert chunks[-1].attributes["code"].iloc[-1] == "A7"
    assert chunks[0].attributes["code"].iloc[3] == "3"


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    radius = 6378137.0
    return radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def test_projected_input_is_reprojected_to_lonlat(tmp_path: Path) -> None:
    known = [(10.0, 50.0), (-73.9857, 40.7484), (151.2093, -33.8688)]
    geometry = [Point(*_mercator(lon, lat)) for lon, lat in known]
    path = tmp_path / "mercator.gpkg"
    gpd.GeoDataFrame({"i": [0, 1, 2]}, geometry=geometry, crs="EPSG:3857").to_file(path)
    source = open_point_source(path)
    assert source.crs.to_epsg() == 3857
    chunk = next(source.iter_chunks())
    np.testing.assert_allclose(chunk.lonlat, known, atol=1e-7)
    # the attributes keep the source geometry and CRS
    assert chunk.attributes.crs.to_epsg() == 3857
    np.testing.assert_allclose(
        shapely.get_coordinates(chunk.attributes.geometry.array), [g.coords[0] for g in geometry]
    )


def test_utm_input_central_meridian(tmp_path: Path) -> None:
    # UTM zone 33N: false easting 500 km lies on the central meridian 15 deg E; northing 0 on the equator.
    path = tmp_path / "utm.parquet"
    gpd.GeoDataFrame({"i": [0]}, geometry=[Point(500000.0, 0.0)], crs="EPSG:32633").to_parquet(path)
    _, lonlat = _read_all(path)
    np.testing.assert_allclose(lonlat, [[15.0, 0.0]], atol=1e-9)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_assumes_wgs84_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"i": [0, 1]}, geometry=[Point(12.5, 41.9), Point(-3.7, 40.4)]).to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.warns(AssumedCRSWarning, match="EPSG:4326"):
        source = open_point_source(path)
    assert source.crs_assumed
    chunk = next(source.iter_chunks())
    np.testing.assert_allclose(chunk.lonlat, [[12.5, 41.9], [-3.7, 40.4]])
    assert chunk.attributes.crs.to_epsg() == 4326
    messages: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_point_source(path, on_warning=messages.append)
    assert len(messages) == 1 and "no CRS" in messages[0]


def test_geoparquet_geoarrow_encoding(tmp_path: Path) -> None:
    square = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    frame = gpd.GeoDataFrame({"k": [1, 2, 3]}, geometry=[square, square, square], crs="EPSG:4326")
    path = tmp_path / "native.parquet"
    frame.to_parquet(path, geometry_encoding="geoarrow")
    attributes, lonlat = _read_all(path, chunk_size=2)
    assert shapely.equals(attributes.geometry.array, frame.geometry.array).all()
    assert shapely.contains_xy(square, lonlat[:, 0], lonlat[:, 1]).all()


def test_representative_point_is_inside_concave_polygon() -> None:
    # A "U": its centroid (2, ~1.6) lies in the notch, outside the polygon.
    u_shape = Polygon([(0, 0), (4, 0), (4, 4), (3, 4), (3, 1), (1, 1), (1, 4), (0, 4)])
    assert not u_shape.contains(u_shape.centroid)
    line = LineString([(0, 0), (10, 0)])
    points = representative_points(np.array([u_shape, Point(7, 8), line], dtype=object))
    assert u_shape.contains(Point(points[0]))
    assert points[1].tolist() == [7.0, 8.0]
    assert points[2].tolist() == [5.0, 0.0]


def test_mean_mode_samples_uniformly_inside_polygons() -> None:
    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (8, 2), (8, 8), (2, 8)]])  # area 64
    small = Polygon([(20, 0), (24, 0), (24, 4), (20, 4)])  # area 16
    pair = MultiPolygon([ring, small])
    geoms = np.array([ring, pair, Point(1, 2), LineString([(0, 0), (0, 3)])], dtype=object)
    rows = np.arange(4)
    samples = sample_points_in_geometries(geoms, 4000, seed=3, rows=rows)
    assert samples.shape == (4, 4000, 2)
    assert _covers(ring, samples[0, :, 0], samples[0, :, 1]).all()  # never in the hole
    assert _covers(pair, samples[1, :, 0], samples[1, :, 1]).all()
    share_small = float(np.mean(samples[1, :, 0] >= 20))
    assert abs(share_small - 16 / 80) < 0.03  # area-uniform over the parts
    assert abs(samples[0, :, 0].mean() - 5.0) < 0.2
    assert (samples[2] == [1.0, 2.0]).all()
    assert np.allclose(samples[3, :, 0], 0.0) and samples[3, :, 1].min() >= 0 and samples[3, :, 1].max() <= 3
    # depends only on (seed, row): same rows give the same samples, another seed differs
    again = sample_points_in_geometries(geoms[1:2], 4000, seed=3, rows=rows[1:2])
    np.testing.assert_array_equal(again[0], samples[1])
    other = sample_points_in_geometries(geoms[1:2], 4000, seed=4, rows=rows[1:2])
    assert not np.array_equal(other[0], samples[1])


def test_mean_mode_chunks_have_k_samples_and_ignore_chunking(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    polygons = [
        shapely.box(x, y, x + 1.5, y + 0.5)
        for x, y in zip(rng.uniform(-170, 160, 23), rng.uniform(-80, 70, 23), strict=True)
    ]
    path = tmp_path / "boxes.gpkg"
    gpd.GeoDataFrame({"i": range(23)}, geometry=polygons, crs="EPSG:4326").to_file(path)
    source = open_point_source(path, polygon_mode="mean", samples=6, chunk_size=4)
    assert source.samples_per_row == 6
    chunks = list(source.iter_chunks())
    assert chunks[0].lonlat.shape == (4, 6, 2)
    lonlat = np.concatenate([c.lonlat for c in chunks])
    _, whole = _read_all(path, polygon_mode="mean", samples=6, chunk_size=1000)
    np.testing.assert_array_equal(lonlat, whole)
    for box, pts in zip(polygons, lonlat, strict=True):
        assert _covers(box, pts[:, 0], pts[:, 1]).all()


def test_mean_mode_samples_in_source_crs_then_projects(tmp_path: Path) -> None:
    box = shapely.box(*_mercator(10, 45), *_mercator(11, 46))
    path = tmp_path / "box3857.geojson"
    gpd.GeoDataFrame({"i": [0]}, geometry=[box], crs="EPSG:3857").to_file(path)
    _, lonlat = _read_all(path, polygon_mode="mean", samples=200)
    assert lonlat.shape == (1, 200, 2)
    assert (lonlat[0, :, 0] > 10).all() and (lonlat[0, :, 0] < 11).all()
    assert (lonlat[0, :, 1] > 45).all() and (lonlat[0, :, 1] < 46).all()


def test_longitudes_are_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "wrap.csv"
    pd.DataFrame({"lon": [190.0, -181.0, 180.0], "lat": [0.0, 1.0, 2.0]}).to_csv(path, index=False)
    _, lonlat = _read_all(path)
    np.testing.assert_allclose(lonlat, [[-170.0, 0.0], [179.0, 1.0], [180.0, 2.0]])


# -- everything a user can get wrong -------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        open_point_source(tmp_path / "nope.gpkg")


@pytest.mark.parametrize("name", ["garbage.gpkg", "garbage.geojson", "garbage.parquet", "garbage.xyz"])
def test_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(InputError, match="cannot read"):
        open_point_source(path)


def test_binary_file_with_csv_extension(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(InputError):
        open_point_source(path)


def test_csv_without_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"name": ["a"], "value": [1]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"no geometry and no longitude/latitude columns \(columns: name, value\)"):
        open_point_source(path)


def test_parquet_without_geometry_or_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"name": ["a"]}).to_parquet(path)
    with pytest.raises(InputError, match="no geometry and no longitude/latitude"):
        open_point_source(path)


def test_plain_parquet_with_lonlat_columns(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"Longitude": [1.5, 2.5], "Latitude": [3.0, 4.0]}).to_parquet(path)
    _, lonlat = _read_all(path)
    np.testing.assert_array_equal(lonlat, [[1.5, 3.0], [2.5, 4.0]])


@pytest.mark.parametrize(
    ("lat_value", "match"),
    [("", r"row 23 has a missing or non-finite coordinate"), ("95", r"row 23 has latitude 95 outside \[-90, 90\]")],
)
def test_bad_coordinate_names_row_across_chunks(tmp_path: Path, lat_value: str, match: str) -> None:
    lines = ["id,lon,lat"] + [f"{i},{i},{lat_value if i == 23 else 10}" for i in range(30)]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    source = open_point_source(path, chunk_size=7)
    with pytest.raises(InputError, match=match):
        list(source.iter_chunks())


def test_non_numeric_coordinate(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("lon,lat\n1,2\nabc,3\n")
    with pytest.raises(InputError, match="row 1 has a non-numeric value 'abc' in column 'lon'"):
        list(open_point_source(path).iter_chunks())


def test_nan_point_geometry(tmp_path: Path) -> None:
    path = tmp_path / "nan.parquet"
    gpd.GeoDataFrame({"i": [0, 1]}, geometry=[Point(1, 2), Point(np.nan, 5)], crs=4326).to_parquet(path)
    with pytest.raises(InputError, match="row 1"):
        list(open_point_source(path).iter_chunks())


def test_latitude_out_of_range_in_geometry(tmp_path: Path) -> None:
    path = tmp_path / "lat.geojson"
    gpd.GeoDataFrame({"i": [0, 1]}, geometry=[Point(1, 2), Point(3, 95)], crs=4326).to_file(path)
    with pytest.raises(InputError, match=r"row 1 has latitude 95 outside"):
        list(open_point_source(path).iter_chunks())


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_coordinates_without_crs_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "utm_no_prj.shp"
    gpd.GeoDataFrame({"i": [0]}, geometry=[Point(500000.0, 5500000.0)]).to_file(path)
    with pytest.warns(AssumedCRSWarning):
        source = open_point_source(path)
    with pytest.raises(InputError, match="is the CRS projected"):
        list(source.iter_chunks())


@pytest.mark.parametrize(("geometry", "message"), [(None, "row 2 has no geometry"), (Point(), "row 2 has an empty")])
def test_null_and_empty_geometry(tmp_path: Path, geometry: object, message: str) -> None:
    path = tmp_path / "holes.gpkg"
    gpd.GeoDataFrame({"i": [0, 1, 2]}, geometry=[Point(0, 0), Point(1, 1), geometry], crs=4326).to_file(path)
    with pytest.raises(InputError, match=message):
        list(open_point_source(path, chunk_size=2).iter_chunks())


def test_empty_inputs(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("lon,lat\n")
    with pytest.raises(InputError, match="no rows"):
        open_point_source(header_only)
    zero_bytes = tmp_path / "zero.csv"
    zero_bytes.write_text("")
    with pytest.raises(InputError, match="empty"):
        open_point_source(zero_bytes)
    no_features = tmp_path / "none.geojson"
    no_features.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="no rows"):
        list(open_point_source(no_features).iter_chunks())


def test_bad_arguments(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("lon,lat\n1,2\n")
    with pytest.raises(InputError, match="polygon mode"):
        open_point_source(path, polygon_mode="centroid")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="samples"):
        open_point_source(path, polygon_mode="mean", samples=0)
    with pytest.raises(InputError, match="chunk size"):
        open_point_source(path, chunk_size=0)


# -- real data -----------------------------------------------------------------------------------


def test_natural_earth_countries_representative_points_inside(shared_data_dir: Path) -> None:
    path = shared_data_dir / "natural_earth" / "ne_110m_admin_0_countries.geojson"
    if not path.exists():
        pytest.skip("Natural Earth countries not available")
    attributes, lonlat = _read_all(path, chunk_size=50)
    assert lonlat.shape == (177, 2)
    countries = gpd.read_file(path)
    assert list(attributes["ADM0_A3"].astype(str)) == list(countries["ADM0_A3"])
    assert _covers(countries.geometry.array, lonlat[:, 0], lonlat[:, 1]).all()
    france = int(np.flatnonzero(countries["ADM0_A3"] == "FRA")[0])
    assert _covers(countries.geometry.iloc[france], *lonlat[france])


def test_multiple_layers_warn_and_layer_selects(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(1, 2)], crs=4326).to_file(path, layer="first")
    gpd.GeoDataFrame({"b": [2]}, geometry=[Point(3, 4)], crs=4326).to_file(path, layer="second")
    with pytest.warns(MultipleLayersWarning, match="2 layers"):
        _, lonlat = _read_all(path)
    assert lonlat.tolist() == [[1.0, 2.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attributes, lonlat = _read_all(path, layer="second")
    assert lonlat.tolist() == [[3.0, 4.0]] and list(attributes.columns) == ["b", "geometry"]
