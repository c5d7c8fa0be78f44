"""End to end: vector file -> embed_fn -> embedding file, checked row by row."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from satclip_cli.embedding.vector import embed_lonlat, embed_vector_file
from satclip_cli.errors import InputError, OutputExistsError
from satclip_cli.geo.vector import AssumedCRSWarning, open_point_source, representative_points

D = 4
N = 50


def embed_fn(lonlat: np.ndarray) -> np.ndarray:
    """A deterministic stand-in model: float64 [n, 2] (lon, lat) -> float32 [n, 4]."""
    assert lonlat.dtype == np.float64 and lonlat.ndim == 2 and lonlat.shape[1] == 2
    lon = np.radians(lonlat[:, 0])
    lat = np.radians(lonlat[:, 1])
    return np.stack([np.sin(lat), np.cos(lon), np.sin(lon) * np.cos(lat), lonlat[:, 1] / 90.0], axis=1).astype(
        np.float32
    )


def _points(n: int = N, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"site": [f"s{i:02d}" for i in range(n)], "value": np.arange(n) * 2},
        geometry=gpd.points_from_xy(rng.uniform(-179, 179, n), rng.uniform(-89, 89, n)),
        crs="EPSG:4326",
    )


def _embeddings(path: Path) -> np.ndarray:
    return np.stack(gpd.read_parquet(path)["embedding"].to_numpy()).astype(np.float32)


def _write_input(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".fgb":
        frame.to_file(path, SPATIAL_INDEX="NO")
    else:
        frame.to_file(path)
    return path


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".fgb", ".parquet"])
def test_round_trip_vector_formats(tmp_path: Path, suffix: str) -> None:
    source = _write_input(_points(), tmp_path / f"in{suffix}")
    out = tmp_path / "out.parquet"
    summary = embed_vector_file(source, out, embed_fn, D, chunk_size=16, progress=False)
    assert summary.rows == N and summary.output_path == out and not summary.crs_assumed
    assert summary.seconds > 0 and summary.points_per_second > 0
    assert summary.output_format == "geoparquet" and summary.embed_dim == D
    result = gpd.read_parquet(out)
    # each row's embedding is embed_fn of that row's own point, in file order
    expected_input = gpd.read_file(source) if suffix != ".parquet" else gpd.read_parquet(source)
    assert list(result["site"]) == list(expected_input["site"])
    lonlat = shapely.get_coordinates(result.geometry.array)
    np.testing.assert_allclose(lonlat, shapely.get_coordinates(expected_input.geometry.array), atol=1e-9)
    np.testing.assert_allclose(_embeddings(out), embed_fn(lonlat), atol=1e-6)
    assert result.crs.to_epsg() == 4326


@pytest.mark.parametrize("explicit", [False, True])
def test_round_trip_csv(tmp_path: Path, explicit: bool) -> None:
    rng = np.random.default_rng(4)
    lon_name, lat_name = ("east", "north") if explicit else ("Longitude", "Latitude")
    table = pd.DataFrame({"id": np.arange(N), lon_name: rng.uniform(-180, 180, N), lat_name: rng.uniform(-90, 90, N)})
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "out.parquet"
    columns = {"lon_col": lon_name, "lat_col": lat_name} if explicit else {}
    summary = embed_vector_file(source, out, embed_fn, D, chunk_size=9, progress=False, **columns)
    assert summary.rows == N and summary.input_format == "CSV"
    result = gpd.read_parquet(out)
    assert list(result.columns) == ["id", lon_name, lat_name, "geometry", "embedding"]
    assert list(result["id"]) == list(range(N))
    assert result.crs.to_epsg() == 4326
    np.testing.assert_array_equal(shapely.get_coordinates(result.geometry.array), table[[lon_name, lat_name]])
    np.testing.assert_allclose(_embeddings(out), embed_fn(table[[lon_name, lat_name]].to_numpy()), atol=1e-6)


def test_projected_input_embeds_reprojected_lonlat(tmp_path: Path) -> None:
    known = np.array([[10.0, 50.0], [-122.4194, 37.7749], [139.6917, 35.6895]])
    radius = 6378137.0
    xy = [
        (radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))
        for lon, lat in known
    ]
    source = tmp_path / "mercator.gpkg"
    gpd.GeoDataFrame({"i": [0, 1, 2]}, geometry=[Point(p) for p in xy], crs="EPSG:3857").to_file(source)
    out = tmp_path / "out.parquet"
    embed_vector_file(source, out, embed_fn, D, progress=False)
    np.testing.assert_allclose(_embeddings(out), embed_fn(known), atol=1e-6)
    result = gpd.read_parquet(out)
    assert result.crs.to_epsg() == 3857  # the geometry keeps its CRS
    np.testing.assert_allclose(shapely.get_coordinates(result.geometry.array), xy)


def _boxes(n: int = 12) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    corners = zip(rng.uniform(-170, 160, n), rng.uniform(-70, 60, n), strict=True)
    return gpd.GeoDataFrame(
        {"k": range(n)}, geometry=[shapely.box(x, y, x + 8, y + 6) for x, y in corners], crs="EPSG:4326"
    )


def test_polygons_representative_and_mean(tmp_path: Path) -> None:
    source = _write_input(_boxes(), tmp_path / "boxes.gpkg")
    boxes = gpd.read_file(source)
    rep = tmp_path / "rep.parquet"
    embed_vector_file(source, rep, embed_fn, D, progress=False)
    points = representative_points(np.asarray(boxes.geometry.array))
    np.testing.assert_allclose(_embeddings(rep), embed_fn(points), atol=1e-6)

    mean = tmp_path / "mean.parquet"
    summary = embed_vector_file(source, mean, embed_fn, D, polygon_mode="mean", samples=32, seed=5, progress=False)
    assert summary.samples_per_row == 32
    samples = np.concatenate(
        [c.lonlat for c in open_point_source(source, polygon_mode="mean", samples=32, seed=5).iter_chunks()]
    )
    assert samples.shape == (12, 32, 2)
    expected = embed_fn(samples.reshape(-1, 2)).reshape(12, 32, D).mean(axis=1)
    np.testing.assert_allclose(_embeddings(mean), expected, atol=1e-6)
    assert not np.allclose(_embeddings(mean), _embeddings(rep), atol=1e-3)
    # the output keeps the polygons themselves
    result = gpd.read_parquet(mean)
    assert shapely.equals(result.geometry.array, boxes.geometry.array).all()


def test_mean_mode_on_points_equals_point_embedding(tmp_path: Path) -> None:
    source = _write_input(_points(), tmp_path / "pts.gpkg")
    calls: list[int] = []

    def counting(lonlat: np.ndarray) -> np.ndarray:
        calls.append(len(lonlat))
        return embed_fn(lonlat)

    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    embed_vector_file(source, a, embed_fn, D, progress=False)
    embed_vector_file(source, b, counting, D, polygon_mode="mean", samples=8, progress=False)
    np.testing.assert_array_equal(np.load(a), np.load(b))
    assert sum(calls) == N  # identical samples are embedded once


def test_embed_lonlat_mean_over_samples() -> None:
    lonlat = np.array([[[0.0, 0.0], [90.0, 0.0]], [[10.0, 20.0], [10.0, 20.0]]])
    result = embed_lonlat(lonlat, embed_fn, D)
    np.testing.assert_allclose(result[0], embed_fn(lonlat[0]).mean(axis=0), atol=1e-7)
    np.testing.assert_array_equal(result[1], embed_fn(lonlat[1, :1])[0])
    with pytest.raises(ValueError, match="embed_fn returned shape"):
        embed_lonlat(lonlat[:, 0], lambda ll: np.zeros((len(ll), 3), np.float32), D)


def test_wide_list_npy_and_csv_outputs_agree(tmp_path: Path) -> None:
    source = _write_input(_points(), tmp_path / "pts.geojson")
    outputs = {name: tmp_path / name for name in ("list.parquet", "wide.parquet", "emb.npy", "emb.csv")}
    for name, out in outputs.items():
        embed_vector_file(source, out, embed_fn, D, wide=name == "wide.parquet", chunk_size=13, progress=False)
    reference = _embeddings(outputs["list.parquet"])
    names = [f"emb_{i:03d}" for i in range(D)]
    wide = gpd.read_parquet(outputs["wide.parquet"])
    assert "embedding" not in wide.columns
    np.testing.assert_array_equal(wide[names].to_numpy(), reference)
    array = np.load(outputs["emb.npy"])
    assert array.dtype == np.float32 and array.shape == (N, D)
    np.testing.assert_array_equal(array, reference)
    table = pd.read_csv(outputs["emb.csv"])
    assert list(table.columns) == ["site", "value", "geometry", *names]
    np.testing.assert_array_equal(table[names].to_numpy().astype(np.float32), reference)
    lonlat = shapely.get_coordinates(shapely.from_wkt(table["geometry"].to_numpy()))
    np.testing.assert_allclose(reference, embed_fn(lonlat), atol=1e-6)


@pytest.mark.parametrize("mode", ["representative", "mean"])
def test_chunking_does_not_change_output(tmp_path: Path, mode: str) -> None:
    frame = pd.concat([_points(25), _boxes(25)], ignore_index=True)  # 50 rows, points and polygons
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    source = _write_input(frame, tmp_path / "mixed.parquet")
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    embed_vector_file(source, small, embed_fn, D, chunk_size=7, polygon_mode=mode, samples=5, progress=False)
    embed_vector_file(source, big, embed_fn, D, polygon_mode=mode, samples=5, progress=False)
    np.testing.assert_array_equal(_embeddings(small), _embeddings(big))
    a, b = gpd.read_parquet(small), gpd.read_parquet(big)
    assert list(a["k"].fillna(-1)) == list(b["k"].fillna(-1))
    assert list(a["site"].fillna("")) == list(frame["site"].fillna(""))


def test_progress_stays_off_stdout_and_quiet_is_silent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write_input(_points(), tmp_path / "pts.gpkg")
    embed_vector_file(source, tmp_path / "out.npy", embed_fn, D, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""  # the (transient) bar goes to stderr only; see tests/test_progress.py
    embed_vector_file(source, tmp_path / "quiet.npy", embed_fn, D, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_warns_and_assumes_wgs84(tmp_path: Path) -> None:
    source = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"i": [0, 1]}, geometry=[Point(5, 45), Point(-60, -10)]).to_file(source)
    out = tmp_path / "out.parquet"
    with pytest.warns(AssumedCRSWarning, match="assuming EPSG:4326"):
        summary = embed_vector_file(source, out, embed_fn, D, progress=False)
    assert summary.crs_assumed
    assert gpd.read_parquet(out).crs.to_epsg() == 4326
    np.testing.assert_allclose(_embeddings(out), embed_fn(np.array([[5.0, 45.0], [-60.0, -10.0]])), atol=1e-6)
    notes: list[str] = []
    embed_vector_file(source, tmp_path / "o.npy", embed_fn, D, progress=False, on_warning=notes.append)
    assert len(notes) == 1


def test_existing_output_is_refused_and_unchanged(tmp_path: Path) -> None:
    source = _write_input(_points(), tmp_path / "pts.gpkg")
    out = tmp_path / "out.parquet"
    out.write_bytes(b"old results")
    with pytest.raises(OutputExistsError):
        embed_vector_file(source, out, embed_fn, D, progress=False)
    assert out.read_bytes() == b"old results"
    embed_vector_file(source, out, embed_fn, D, overwrite=True, progress=False)
    assert len(gpd.read_parquet(out)) == N


@pytest.mark.parametrize("name", ["out.parquet", "out.csv", "out.npy"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_on_second_chunk_leaves_no_output(tmp_path: Path, name: str, error: type[BaseException]) -> None:
    source = _write_input(_points(), tmp_path / "pts.gpkg")
    work = tmp_path / "work"
    work.mkdir()
    calls = []

    def failing(lonlat: np.ndarray) -> np.ndarray:
        calls.append(len(lonlat))
        if len(calls) == 2:
            raise error("model failed")
        return embed_fn(lonlat)

    with pytest.raises(error):
        embed_vector_file(source, work / name, failing, D, chunk_size=10, progress=False)
    assert calls == [10, 10]
    assert list(work.iterdir()) == []  # neither output nor temporary file
    # with --overwrite an existing file survives the failure untouched
    (work / name).write_bytes(b"keep me")
    calls.clear()
    with pytest.raises(error):
        embed_vector_file(source, work / name, failing, D, chunk_size=10, overwrite=True, progress=False)
    assert [p.name for p in work.iterdir()] == [name]
    assert (work / name).read_bytes() == b"keep me"


def test_bad_input_midway_leaves_no_output(tmp_path: Path) -> None:
    lines = ["lon,lat"] + [f"{i},{95 if i == 33 else 0}" for i in range(50)]
    source = tmp_path / "bad.csv"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(InputError, match="row 33 has latitude 95"):
        embed_vector_file(source, out, embed_fn, D, chunk_size=7, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_unknown_output_extension_fails_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="supported extensions"):
        embed_vector_file(tmp_path / "missing.gpkg", tmp_path / "out.shp", embed_fn, D, progress=False)
    with pytest.raises(InputError, match="does not exist"):
        embed_vector_file(tmp_path / "missing.gpkg", tmp_path / "out.npy", embed_fn, D, progress=False)


# -- real data -----------------------------------------------------------------------------------


def test_natural_earth_places_and_countries(data_dir: Path, tmp_path: Path) -> None:
    places = data_dir / "natural_earth" / "ne_50m_populated_places_simple.geojson"
    countries = data_dir / "natural_earth" / "ne_110m_admin_0_countries.geojson"
    if not (places.exists() and countries.exists()):
        pytest.skip("Natural Earth data not available")
    out = tmp_path / "places.parquet"
    summary = embed_vector_file(places, out, embed_fn, D, chunk_size=500, progress=False)
    assert summary.rows == 1249
    result = gpd.read_parquet(out)
    lonlat = shapely.get_coordinates(gpd.read_file(places).geometry.array)
    np.testing.assert_allclose(_embeddings(out), embed_fn(lonlat), atol=1e-6)
    # the file's own longitude/latitude attributes agree with the geometry (a few NE records differ)
    agree = np.abs(result[["longitude", "latitude"]].to_numpy(np.float64) - lonlat).max(axis=1) < 0.01
    assert agree.mean() > 0.95
    tokyo = result.loc[result["name"] == "Tokyo"]
    assert len(tokyo) == 1
    np.testing.assert_allclose(shapely.get_coordinates(tokyo.geometry.array)[0], [139.75, 35.69], atol=0.1)

    out = tmp_path / "countries.parquet"
    summary = embed_vector_file(countries, out, embed_fn, D, polygon_mode="mean", samples=8, progress=False)
    assert summary.rows == 177
    result = gpd.read_parquet(out)
    assert result["ADM0_A3"].is_unique and len(result) == 177
    assert np.isfinite(_embeddings(out)).all()
