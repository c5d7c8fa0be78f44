"""Longitude / latitude columns of a table: finding them (by name or as given) and reading them as numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from satclip_cli.errors import InputError, setting, shown
from satclip_cli.geo.vector.reader import FormatReader

LON_NAMES = ("lon", "lng", "long", "longitude", "x")
"""Column names recognised as longitude (case-insensitive), in order of preference."""
LAT_NAMES = ("lat", "latitude", "y")
"""Column names recognised as latitude (case-insensitive), in order of preference."""


def has_lonlat_names(columns: list[str]) -> bool:
    """Whether ``columns`` include a recognised longitude and a recognised latitude name."""
    lowered = {name.lower() for name in columns}
    return bool(lowered & set(LON_NAMES)) and bool(lowered & set(LAT_NAMES))


def find_lonlat_columns(
    reader: FormatReader, lon_col: str | None, lat_col: str | None, path: Path
) -> tuple[str | None, str | None]:
    """Resolve the lon/lat columns: explicit names (exact, else case-insensitive) or auto-detected ones.

    Returns (None, None) when nothing is found and the reader has a geometry to fall back on.

    Raises:
        InputError: a named column does not exist, only one of the two is found, both are the same
            column, or the input has neither a geometry nor lon/lat columns (the message lists the columns).
    """
    columns = [name for name in reader.columns if name != reader.geometry_column]
    lowered = {name.lower(): name for name in reversed(columns)}
    listing = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "") if columns else "none"

    def explicit(name: str, what: str) -> str:
        if name in columns:
            return name
        if name.lower() in lowered:
            return lowered[name.lower()]
        raise InputError(f"{path}: no {what} column {name!r} (columns: {listing})")

    def detect(candidates: tuple[str, ...]) -> str | None:
        return next((lowered[name] for name in candidates if name in lowered), None)

    lon = explicit(lon_col, "longitude") if lon_col is not None else detect(LON_NAMES)
    lat = explicit(lat_col, "latitude") if lat_col is not None else detect(LAT_NAMES)
    if lon is not None and lat is not None:
        if lon == lat:
            raise InputError(f"{path}: the longitude and latitude columns are both {lon!r}")
        return lon, lat
    if lon_col is None and lat_col is None and reader.geometry_column is not None:
        return None, None
    if lon_col is not None or lat_col is not None:
        missing = "longitude" if lon is None else "latitude"
        raise InputError(
            f"{path}: found no {missing} column (columns: {listing}); "
            f"pass both {setting('lon_col')} and {setting('lat_col')}"
        )
    raise InputError(
        f"{path}: no geometry and no longitude/latitude columns (columns: {listing}); "
        f"name them lon/lat (or longitude/latitude, x/y) or pass {setting('lon_col')}/{setting('lat_col')}"
    )


def numeric_column(series: pd.Series, name: str, start: int, path: Path) -> np.ndarray:
    """A column as float64, naming the first row that is not a number (missing values become NaN).

    ``start`` is the file row number of the series' first value (rows counted from 0, header excluded).
    """
    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = shown(series.iloc[row])
        raise InputError(f"{path}: row {start + row} has a non-numeric value {value} in column {name!r}")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
