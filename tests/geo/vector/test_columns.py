"""Longitude / latitude columns (satclip_cli.geo.vector.columns): given, detected, or missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satclip_cli.errors import InputError
from satclip_cli.geo.vector import open_point_source
from satclip_cli.geo.vector.columns import LAT_NAMES, LON_NAMES
from tests.geo.vector.helpers import read_all


def test_csv_explicit_columns_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "pts.csv"
    # "x"/"y" exist but are not coordinates; the explicit names must win.
    pd.DataFrame({"x": [1, 2], "y": [3, 4], "East_Deg": [10.5, -20.25], "north_deg": [45.0, -33.5]}).to_csv(
        path, index=False
    )
    source = open_point_source(path, lon_col="east_deg", lat_col="NORTH_DEG")
    assert (source.lon_col, source.lat_col) == ("East_Deg", "north_deg")
    _, lonlat = read_all(path, lon_col="East_Deg", lat_col="north_deg")
    np.testing.assert_array_equal(lonlat, [[10.5, 45.0], [-20.25, -33.5]])
    with pytest.raises(InputError, match="no longitude column 'easting'"):
        open_point_source(path, lon_col="easting", lat_col="north_deg")


def test_csv_without_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"name": ["a"], "value": [1]}).to_csv(path, index=False)
    message = r"no geometry and no longitude/latitude columns \(columns: name, value\)"
    with pytest.raises(InputError, match=message) as info:
        open_point_source(path)
    assert str(info.value).endswith("or pass lon_col/lat_col")  # the settings; the CLI shows --lon-col/--lat-col
    only_lon = tmp_path / "lon_only.csv"
    pd.DataFrame({"Lon": [1.0], "value": [1]}).to_csv(only_lon, index=False)
    with pytest.raises(InputError, match="found no latitude column .*; pass both lon_col and lat_col"):
        open_point_source(only_lon, lon_col="Lon")


def test_non_numeric_coordinate(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("lon,lat\n1,2\nabc,3\n")
    with pytest.raises(InputError, match="row 1 has a non-numeric value 'abc' in column 'lon'"):
        list(open_point_source(path).iter_chunks())


# ------------------------------------------------------------------------------------------ properties

_KNOWN = ("lon", "lng", "long", "longitude", "x", "lat", "latitude", "y")
_OTHER = ("name", "value", "id", "elevation", "lonlat", "xy", "lat_deg")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(_KNOWN + _OTHER), min_size=1, max_size=6, unique=True),
    st.randoms(use_true_random=False),
)
def test_detection_picks_the_preferred_names_whatever_their_case(tmp_path: Path, names: list[str], random) -> None:
    columns = ["".join(c.upper() if random.random() < 0.5 else c for c in name) for name in names]
    path = tmp_path / "table.csv"
    pd.DataFrame({name: [float(i)] for i, name in enumerate(columns)}).to_csv(path, index=False)
    by_lower = {name.lower(): name for name in columns}
    lon = next((by_lower[n] for n in LON_NAMES if n in by_lower), None)
    lat = next((by_lower[n] for n in LAT_NAMES if n in by_lower), None)
    if lon is None or lat is None:
        with pytest.raises(InputError, match="no geometry and no longitude/latitude columns"):
            open_point_source(path)
    else:
        source = open_point_source(path)
        assert (source.lon_col, source.lat_col) == (lon, lat)
        _, lonlat = read_all(path)
        np.testing.assert_array_equal(lonlat, [[columns.index(lon), columns.index(lat)]])
