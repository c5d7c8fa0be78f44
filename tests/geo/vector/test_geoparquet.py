"""(Geo)Parquet input (satclip_cli.geo.vector.geoparquet): GeoArrow encodings, plain Parquet tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from satclip_cli.errors import InputError
from satclip_cli.geo.vector import open_point_source
from tests.geo.vector.helpers import read_all


def test_geoparquet_geoarrow_encoding(tmp_path: Path) -> None:
    square = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    frame = gpd.GeoDataFrame({"k": [1, 2, 3]}, geometry=[square, square, square], crs="EPSG:4326")
    path = tmp_path / "native.parquet"
    frame.to_parquet(path, geometry_encoding="geoarrow")
    attributes, lonlat = read_all(path, chunk_size=2)
    assert shapely.equals(attributes.geometry.array, frame.geometry.array).all()
    assert shapely.contains_xy(square, lonlat[:, 0], lonlat[:, 1]).all()


def test_parquet_without_geometry_or_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"name": ["a"]}).to_parquet(path)
    with pytest.raises(InputError, match="no geometry and no longitude/latitude"):
        open_point_source(path)


def test_plain_parquet_with_lonlat_columns(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"Longitude": [1.5, 2.5], "Latitude": [3.0, 4.0]}).to_parquet(path)
    _, lonlat = read_all(path)
    np.testing.assert_array_equal(lonlat, [[1.5, 3.0], [2.5, 4.0]])
