"""Delimited text tables (satclip_cli.geo.vector.delimited): separators, column types, WKT."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from satclip_cli.errors import InputError
from satclip_cli.geo.vector import AssumedCRSWarning, open_point_source
from tests.geo.vector.helpers import N, read_all


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
    attributes, lonlat = read_all(path, chunk_size=7)
    np.testing.assert_allclose(lonlat, table[[lon_name, lat_name]].to_numpy(), rtol=0, atol=1e-12)
    assert list(attributes.columns) == list(table.columns)
    assert list(attributes["id"]) == list(range(N))
    assert not isinstance(attributes, gpd.GeoDataFrame)


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


def test_binary_file_with_csv_extension(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(InputError):
        open_point_source(path)


@pytest.mark.parametrize("phase", ["open", "batches"])
def test_ctrl_c_while_reading_is_not_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    """KeyboardInterrupt raised inside pandas passes through unchanged (the CLI reports it as exit 130)."""
    from pandas.io.parsers.readers import TextFileReader

    path = tmp_path / "points.csv"
    pd.DataFrame({"lon": np.arange(N) % 360 - 180.0, "lat": np.zeros(N)}).to_csv(path, index=False)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if phase == "open":
        monkeypatch.setattr(pd, "read_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        source = open_point_source(path)
        monkeypatch.setattr(TextFileReader, "__next__", interrupted)
        list(source.iter_chunks())
