"""Synthetic tasks that test a location encoder everywhere on the sphere: ``land-ocean`` and ``checkerboard``.

Both draw area-uniform points anywhere (ocean included). ``land-ocean`` labels them with the packaged 5'
land mask and is scored on a fixed test set, the cell centres of the regular 1° grid (with area
weights); ``checkerboard`` alternates two classes on 30° lon/lat cells, stressing the poles and the dateline.
"""

from __future__ import annotations

import math

import numpy as np

from satclip_cli.errors import InputError
from satclip_cli.probing.tasks.data import TaskData
from satclip_cli.probing.tasks.points import sample_points
from satclip_cli.probing.tasks.spec import DataDir, TaskSpec

CHECKERBOARD_CELL_DEG = 30.0
"""Side of a checkerboard cell in degrees of longitude and latitude (see :func:`checkerboard_classes`)."""

LAND_OCEAN_GRID_DEG = 1.0
"""Spacing in degrees of the land-ocean test grid (cell centres of a regular lon/lat grid)."""


def load_land_ocean(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """Land (1) or ocean (0) at ``n`` area-uniform points; the test set is the 1° grid with area weights."""
    from satclip_cli.geo.land_mask import load_land_mask

    mask = load_land_mask()
    lonlat = sample_points(spec.name, n, seed, land_only=False)
    test_lonlat, test_weight = regular_grid(LAND_OCEAN_GRID_DEG)
    return TaskData(
        name=spec.name,
        type="classification",
        lonlat=lonlat,
        target=mask.is_land(lonlat[:, 0], lonlat[:, 1]).astype(np.int64),
        classes=["ocean", "land"],
        test_lonlat=test_lonlat,
        test_target=mask.is_land(test_lonlat[:, 0], test_lonlat[:, 1]).astype(np.int64),
        test_weight=test_weight,
        description=f"{n:,} area-uniform points anywhere (seed {seed}); test: {len(test_lonlat):,} "
        f"{LAND_OCEAN_GRID_DEG:g}° grid cell centres; labels from the 5' land mask",
    )


def load_checkerboard(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """The checkerboard colour at ``n`` area-uniform points anywhere."""
    lonlat = sample_points(spec.name, n, seed, land_only=False)
    return TaskData(
        name=spec.name,
        type="classification",
        lonlat=lonlat,
        target=checkerboard_classes(lonlat, CHECKERBOARD_CELL_DEG),
        classes=["even", "odd"],
        description=f"{n:,} area-uniform points anywhere (seed {seed}), {CHECKERBOARD_CELL_DEG:g}° checkerboard",
    )


def regular_grid(step_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the regular lon/lat grid with ``step_deg`` cells and their area weights.

    Returns:
        ``lonlat`` float64 ``[M, 2]`` (lon, lat) degrees, latitude rows from south to north, longitudes
        west to east within a row (``M = (360 / step) * (180 / step)``), and ``weight`` float64 ``[M]``,
        each cell's share of the sphere's area (sums to 1).

    Raises:
        InputError: if ``step_deg`` does not divide 180.
    """
    rows = 180.0 / step_deg
    if not (step_deg > 0 and math.isclose(rows, round(rows))):
        raise InputError(f"the grid step must divide 180 degrees, got {step_deg:g}")
    rows = round(rows)
    lat_edges = np.linspace(-90.0, 90.0, rows + 1)
    lon_centres = -180.0 + step_deg * (np.arange(2 * rows) + 0.5)
    lat_centres = 0.5 * (lat_edges[:-1] + lat_edges[1:])
    band = np.diff(np.sin(np.radians(lat_edges)))  # area of a latitude band, up to a constant
    lon, lat = np.meshgrid(lon_centres, lat_centres)
    weight = np.repeat(band / band.sum() / (2 * rows), 2 * rows)
    return np.column_stack([lon.ravel(), lat.ravel()]), weight


def checkerboard_classes(lonlat: np.ndarray, cell_deg: float = CHECKERBOARD_CELL_DEG) -> np.ndarray:
    """Colour (0 or 1) of the lon/lat checkerboard cell of each point.

    Cells are ``cell_deg`` x ``cell_deg`` degrees. Latitude rows start at the equator (a row edge), so
    the polar rows are rings of ``360 / cell_deg`` wedges that alternate in colour and meet at the pole:
    near a pole the class flips within a few kilometres, which an encoder with a singularity or too little
    resolution there gets wrong. Longitude columns are shifted by half a cell, so one cell straddles the
    dateline (``179.9`` and ``-179.9`` share a colour): an encoder that is discontinuous at +-180 must
    split that cell. ``360 / cell_deg`` is even, so the board alternates consistently all the way round
    and the two colours cover exactly half the sphere each.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        cell_deg: cell side; ``180 / cell_deg`` must be an integer.

    Returns:
        int64 ``[N]``: ``(column + row) mod 2``.

    Raises:
        InputError: if ``cell_deg`` does not divide 180.
    """
    rows = 180.0 / cell_deg
    if not (cell_deg > 0 and math.isclose(rows, round(rows))):
        raise InputError(f"the checkerboard cell must divide 180 degrees, got {cell_deg:g}")
    lonlat = np.asarray(lonlat, dtype=np.float64)
    column = np.floor((lonlat[:, 0] + cell_deg / 2.0) / cell_deg).astype(np.int64)
    row = np.floor(lonlat[:, 1] / cell_deg).astype(np.int64)
    row = np.clip(row, -round(rows) // 2, round(rows) // 2 - 1)  # the poles belong to the polar rows
    return (column + row) % 2
