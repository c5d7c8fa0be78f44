"""The raster-sampled ``elevation`` task: surface relief from a global 20' grid at area-uniform land points."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from satclip_cli.errors import InputError, one_line
from satclip_cli.probing.downloads import fetch
from satclip_cli.probing.tasks.data import TaskData, regression_data
from satclip_cli.probing.tasks.points import sample_points
from satclip_cli.probing.tasks.spec import DataDir, TaskSpec

RELIEF_GRID = ("elevation", "etopo20.cdf")
"""The ETOPO5-derived 20' global relief grid (NetCDF 3), read by :func:`relief_at`."""


def load_elevation(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """Relief (m) at ``n`` area-uniform land points."""
    lonlat = sample_points(spec.name, n, seed, land_only=True)
    target = relief_at(lonlat, data_dir=data_dir)
    return regression_data(
        spec.name, spec.units, lonlat, target, 0, f"{n:,} area-uniform land points (seed {seed}), ETOPO5 20' relief"
    )


def relief_at(lonlat: np.ndarray, *, data_dir: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Surface relief (elevation on land, bathymetry at sea) from the 20' ETOPO5-derived grid.

    The grid ``ROSE(ETOPO20Y=540, ETOPO20X1_1081=1081)`` has cell centres every 1/3 degree, longitudes
    from 20.1667 to 380.1667 degrees east (shifted, with a repeated wrap column, so the longitude is
    taken modulo 360) and latitudes -89.83..89.83. Values are interpolated bilinearly between the four
    surrounding centres (across the dateline too); beyond the outermost latitude rows the nearest row is used.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        data_dir: local copies (``data_dir/elevation/etopo20.cdf``), else downloaded once.

    Returns:
        float64 ``[N]`` metres above (or below, negative) sea level.
    """
    lon_axis, lat_axis, grid = _etopo20(fetch(*RELIEF_GRID, data_dir))
    lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    step = lon_axis[1] - lon_axis[0]
    x = np.mod(lonlat[:, 0] - lon_axis[0], 360.0) / step
    x0 = np.minimum(np.floor(x).astype(np.int64), len(lon_axis) - 2)
    fx = x - x0
    lat_step = lat_axis[1] - lat_axis[0]
    y = np.clip((lonlat[:, 1] - lat_axis[0]) / lat_step, 0.0, len(lat_axis) - 1.0)
    y0 = np.minimum(np.floor(y).astype(np.int64), len(lat_axis) - 2)
    fy = y - y0
    low = grid[y0, x0] * (1 - fx) + grid[y0, x0 + 1] * fx
    high = grid[y0 + 1, x0] * (1 - fx) + grid[y0 + 1, x0 + 1] * fx
    return low * (1 - fy) + high * fy


def _etopo20(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon axis [1081], lat axis [540], relief float64 [540, 1081]) of ``etopo20.cdf``."""
    from scipy.io import netcdf_file

    try:
        with netcdf_file(path, "r", mmap=False) as data:
            lon = np.array(data.variables["ETOPO20X1_1081"][:], dtype=np.float64)
            lat = np.array(data.variables["ETOPO20Y"][:], dtype=np.float64)
            grid = np.array(data.variables["ROSE"][:], dtype=np.float64)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"cannot read the relief grid {path}: {one_line(error)}") from None
    if grid.shape != (len(lat), len(lon)) or not np.isclose(lon[-1] - lon[0], 360.0) or (grid < -1e30).any():
        raise InputError(f"{path} is not the expected 20' global relief grid (ROSE {grid.shape})")
    return lon, lat, grid
