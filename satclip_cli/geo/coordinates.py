"""Validation of (lon, lat) coordinates in degrees."""

from __future__ import annotations

import numpy as np

from satclip_cli.errors import InputError


def wrap_longitude(lon: np.ndarray) -> np.ndarray:
    """Wrap longitudes in degrees into ``[-180, 180)``; values already in ``[-180, 180]`` are kept."""
    lon = np.asarray(lon, dtype=np.float64)
    inside = (lon >= -180.0) & (lon <= 180.0)
    return np.where(inside, lon, (lon + 180.0) % 360.0 - 180.0)


def validate_lonlat(
    lonlat: np.ndarray,
    *,
    what: str = "input",
    first_row: int = 0,
    points_per_row: int = 1,
    non_finite_reason: str | None = None,
) -> np.ndarray:
    """Check ``[N, 2]`` (lon, lat) degrees and return a float64 copy with longitudes wrapped.

    Args:
        lonlat: ``[N, 2]`` longitude, latitude in degrees.
        what: what the points come from (a file name), for messages.
        first_row, points_per_row: point ``i`` belongs to input row ``first_row + i // points_per_row``
            (several points per row when polygons are sampled).
        non_finite_reason: message for a NaN/infinite point instead of "missing or non-finite"
            (e.g. "could not be reprojected").

    Raises:
        InputError: on NaN/infinite values or latitudes outside [-90, 90], naming the
            first offending input row (0-based).
    """
    lonlat = np.asarray(lonlat, dtype=np.float64)
    if lonlat.ndim != 2 or lonlat.shape[1] != 2:
        raise InputError(f"{what}: expected (lon, lat) pairs, got an array of shape {lonlat.shape}")
    finite = np.isfinite(lonlat).all(axis=1)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        row = first_row + index // points_per_row
        if non_finite_reason:
            raise InputError(f"{what}: row {row} {non_finite_reason}")
        lon, lat = lonlat[index]
        raise InputError(f"{what}: row {row} has a missing or non-finite coordinate (lon={lon:g}, lat={lat:g})")
    lat = lonlat[:, 1]
    bad = (lat < -90.0) | (lat > 90.0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: row {first_row + index // points_per_row} has latitude {lat[index]:g} outside [-90, 90] "
            "(are longitude and latitude swapped, or is the CRS projected?)"
        )
    out = lonlat.copy()
    out[:, 0] = wrap_longitude(lonlat[:, 0])
    return out
