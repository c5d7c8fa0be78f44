"""The reader front (satclip_cli.geo.vector.source): any format in, chunks of (lon, lat) points out."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from satclip_cli.errors import InputError
from satclip_cli.geo.vector import AssumedCRSWarning, open_point_source
from tests.geo.vector.helpers import N, covers, mercator, points_frame, read_all, write_frame


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".fgb", ".parquet"])
def test_point_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = points_frame()
    path = write_frame(frame, tmp_path / f"points{suffix}")
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


def test_projected_input_is_reprojected_to_lonlat(tmp_path: Path) -> None:
    known = [(10.0, 50.0), (-73.9857, 40.7484), (151.2093, -33.8688)]
    geometry = [Point(*mercator(lon, lat)) for lon, lat in known]
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
    _, lonlat = read_all(path)
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
    _, whole = read_all(path, polygon_mode="mean", samples=6, chunk_size=1000)
    np.testing.assert_array_equal(lonlat, whole)
    for box, pts in zip(polygons, lonlat, strict=True):
        assert covers(box, pts[:, 0], pts[:, 1]).all()


def test_mean_mode_samples_in_source_crs_then_projects(tmp_path: Path) -> None:
    box = shapely.box(*mercator(10, 45), *mercator(11, 46))
    path = tmp_path / "box3857.geojson"
    gpd.GeoDataFrame({"i": [0]}, geometry=[box], crs="EPSG:3857").to_file(path)
    _, lonlat = read_all(path, polygon_mode="mean", samples=200)
    assert lonlat.shape == (1, 200, 2)
    assert (lonlat[0, :, 0] > 10).all() and (lonlat[0, :, 0] < 11).all()
    assert (lonlat[0, :, 1] > 45).all() and (lonlat[0, :, 1] < 46).all()


def test_longitudes_are_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "wrap.csv"
    pd.DataFrame({"lon": [190.0, -181.0, 180.0], "lat": [0.0, 1.0, 2.0]}).to_csv(path, index=False)
    _, lonlat = read_all(path)
    np.testing.assert_allclose(lonlat, [[-170.0, 0.0], [179.0, 1.0], [180.0, 2.0]])


# -- everything a user can get wrong ---------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        open_point_source(tmp_path / "nope.gpkg")


@pytest.mark.parametrize("name", ["garbage.gpkg", "garbage.geojson", "garbage.parquet", "garbage.xyz"])
def test_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(InputError, match="cannot read"):
        open_point_source(path)


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


# -- real data -------------------------------------------------------------------------------------


def test_natural_earth_countries_representative_points_inside(data_dir: Path) -> None:
    path = data_dir / "natural_earth" / "ne_110m_admin_0_countries.geojson"
    if not path.exists():
        pytest.skip("Natural Earth countries not available")
    attributes, lonlat = read_all(path, chunk_size=50)
    assert lonlat.shape == (177, 2)
    countries = gpd.read_file(path)
    assert list(attributes["ADM0_A3"].astype(str)) == list(countries["ADM0_A3"])
    assert covers(countries.geometry.array, lonlat[:, 0], lonlat[:, 1]).all()
    france = int(np.flatnonzero(countries["ADM0_A3"] == "FRA")[0])
    assert covers(countries.geometry.iloc[france], *lonlat[france])
