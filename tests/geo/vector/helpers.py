"""Helpers shared by the vector input tests: small point frames, writing them, reading a source whole."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from satclip_cli.geo.vector import open_point_source

N = 50


def points_frame(n: int = N, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-179, 179, n)
    lat = rng.uniform(-89, 89, n)
    return gpd.GeoDataFrame(
        {"site": [f"s{i:02d}" for i in range(n)], "value": np.arange(n, dtype=np.int64) * 3, "w": rng.random(n)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def write_frame(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".fgb":
        frame.to_file(path, SPATIAL_INDEX="NO")  # keep file order = frame order
    else:
        frame.to_file(path)
    return path


def covers(geometry: object, x: object, y: object) -> np.ndarray:
    """Whether each (x, y) lies inside or on the boundary of ``geometry`` (element-wise for arrays)."""
    return shapely.covers(geometry, shapely.points(x, y))


def read_all(path: Path, **kwargs) -> tuple[pd.DataFrame, np.ndarray]:
    source = open_point_source(path, **kwargs)
    chunks = list(source.iter_chunks())
    return pd.concat([c.attributes for c in chunks]), np.concatenate([c.lonlat for c in chunks])


def mercator(lon: float, lat: float) -> tuple[float, float]:
    radius = 6378137.0
    return radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
