"""Validation of (lon, lat) coordinates in degrees."""

from __future__ import annotations

import numpy as np

from satclip_cli.errors import InputError


def wrap_longitude(lon: np.ndarray) -> np.ndarray:
    """Wrap longitudes in degrees into ``[-180, 180)``; values already in ``[-180, 180]`` are kept."""
    lon = np.asarray(lon, dtype=np.float64)
    inside = (lon >= -180.0) & (lon <= 180.0)
    return np.where(inside, lon, (lon + 180.0) % 360.0 - 180.0)


def validate_lonlat(lonlat: np.ndarray, *, what: str = "input") -> np.ndarray:
    """Check ``[N, 2]`` (lon, lat) degrees and return a float64 copy with longitudes wrapped.

    Raises:
        InputError: on NaN/infinite values or latitudes outside [-90, 90], naming the
            first offending row (0-based) of ``what``.
    """
    lonlat = np.asarray(lonlat, dtype=np.float64)
    if lonlat.ndim != 2 or lonlat.shape[1] != 2:
        raise InputError(f"{what}: expected (lon, lat) pairs, got an array of shape {lonlat.shape}")
    finite = np.isfinite(lonlat).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{what}: row {row} has a missing or non-finite coordinate {tuple(lonlat[row])}")
    lat = lonlat[:, 1]
    bad = (lat < -90.0) | (lat > 90.0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: row {row} has latitude {lat[row]:g} outside [-90, 90] "
            "(are longitude and latitude swapped, or is the CRS projected?)"
        )
    out = lonlat.copy()
    out[:, 0] = wrap_longitude(lonlat[:, 0])
    return out
