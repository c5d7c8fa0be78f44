"""Labelled polygons: read a vector file's polygons with one attribute, and find which polygon holds a point.

Used to label points by country, biome or ecoregion (probe tasks) and by continent (hold-out splits).
Geometries are in EPSG:4326 (lon, lat) degrees; a file without a CRS is taken to be in EPSG:4326.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from satclip_cli.errors import InputError, one_line

if TYPE_CHECKING:
    import geopandas as gpd


def read_polygons(
    path: str | os.PathLike[str], column: str, *, encoding: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of a vector file and one attribute of each.

    Args:
        path: any vector file geopandas reads (GeoJSON, Shapefile, GeoPackage, ...).
        column: the attribute to return (e.g. ``"ADM0_A3"``).
        encoding: attribute encoding for files that do not declare one (``"latin1"`` for RESOLVE).

    Returns:
        ``geoms`` object ``[P]`` of valid shapely geometries in EPSG:4326 (lon, lat) degrees (invalid ones
        repaired with ``make_valid``; a missing geometry becomes an empty polygon), and ``labels`` str
        ``[P]`` (``""`` where the attribute is missing).

    Raises:
        InputError: an unreadable file, or one without a geometry or without ``column``.
    """
    frame = read_features(path, [column], encoding=encoding)
    values = frame[column]
    labels = np.array([str(v).strip() if ok else "" for v, ok in zip(values, values.notna(), strict=True)], dtype=str)
    return valid_polygons(frame.geometry.to_numpy()), labels


def read_features(path: str | os.PathLike[str], columns: list[str], *, encoding: str | None = None) -> gpd.GeoDataFrame:
    """A GeoDataFrame with ``columns`` and the geometry, in EPSG:4326 (a file without a CRS is taken as such).

    Raises:
        InputError: an unreadable file, or one without a geometry or without one of ``columns``.
    """
    import geopandas as gpd
    from pyproj import CRS

    path = Path(path)
    options = {} if encoding is None else {"encoding": encoding}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, columns=columns, **options)
    except Exception as error:  # pyogrio raises several error types
        raise InputError(f"cannot read {path}: {one_line(error)}") from None
    missing = [name for name in columns if name not in frame.columns]
    if missing or not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{path} has no geometry or no column {', '.join(map(repr, missing))}")
    if frame.crs is not None and not frame.crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        frame = frame.to_crs(4326)
    return frame


def valid_polygons(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons (``make_valid``) so point-in-polygon tests are reliable; empty for missing."""
    geoms = np.asarray(geoms, dtype=object).copy()
    missing = shapely.is_missing(geoms)
    geoms[missing] = shapely.Polygon()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def polygon_index(lonlat: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Which polygon contains each point (boundary included): the first in ``polygons`` order, or -1.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        polygons: object ``[P]`` of valid shapely (Multi)Polygons in lon/lat degrees.

    Returns:
        int64 ``[N]`` polygon indices, -1 for points in none.
    """
    points = shapely.points(np.asarray(lonlat, dtype=np.float64))
    hit_point, hit_polygon = shapely.STRtree(polygons).query(points, predicate="intersects")
    out = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, hit_point, hit_polygon.astype(np.int64))
    out[out == np.iinfo(np.int64).max] = -1
    return out
