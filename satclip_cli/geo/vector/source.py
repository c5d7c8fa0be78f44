"""The reader front: open any vector file or table of points and stream (lon, lat) points in bounded memory.

:func:`open_point_source` picks the reader by the file name's suffix (delimited text, (Geo)Parquet,
else anything GDAL/OGR reads), finds where the points come from (lon/lat columns or the geometry),
sets up the reprojection to EPSG:4326, and returns a :class:`PointSource`, whose
:meth:`PointSource.iter_chunks` yields :class:`PointChunk` objects of at most ``chunk_size`` rows.

Coordinates are always (lon, lat) in degrees, in that order. Geometries are reprojected with pyproj
using ``always_xy=True``; a file without a CRS is assumed to be EPSG:4326 and a warning
(:class:`AssumedCRSWarning`, or the ``on_warning`` callback) says so. Everything a user can get wrong
raises :class:`~satclip_cli.errors.InputError` with a one-line message; rows are numbered from 0 in
file order (header excluded).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from satclip_cli.errors import InputError, render_settings
from satclip_cli.geo.coordinates import validate_lonlat
from satclip_cli.geo.vector.columns import find_lonlat_columns, numeric_column
from satclip_cli.geo.vector.delimited import CSV_SUFFIXES, open_csv
from satclip_cli.geo.vector.geometry_points import representative_points, sample_points_in_geometries
from satclip_cli.geo.vector.geoparquet import PARQUET_SUFFIXES, open_parquet
from satclip_cli.geo.vector.ogr import multiple_layers_note, open_ogr
from satclip_cli.geo.vector.reader import crs_name, rechunk, with_geometry

PolygonMode = Literal["representative", "mean"]

WGS84 = CRS.from_epsg(4326)


class InputWarning(UserWarning):
    """Something about the input the user should know, though it can be read."""


class AssumedCRSWarning(InputWarning):
    """The input declares no CRS; its coordinates are taken as EPSG:4326 (lon, lat) degrees."""


class MultipleLayersWarning(InputWarning):
    """The input has several layers and none was chosen; the first one is read."""


@dataclass
class PointChunk:
    """A block of consecutive input rows and their (lon, lat) points.

    Attributes:
        attributes: the input rows (all columns, in file order). A
            :class:`geopandas.GeoDataFrame` with the geometry in the source CRS (EPSG:4326
            when the CRS was assumed) when the input has a geometry; a plain
            :class:`pandas.DataFrame` for tables located only by lon/lat columns. The index
            is the 0-based row number in the file.
        lonlat: float64 (lon, lat) degrees in EPSG:4326, longitudes wrapped to [-180, 180].
            Shape ``[n, 2]`` for ``polygon_mode="representative"``, ``[n, K, 2]`` for
            ``polygon_mode="mean"`` (``K`` samples per row; a point gives ``K`` copies).
        start: 0-based row number of the first row of the chunk.
    """

    attributes: pd.DataFrame
    lonlat: np.ndarray
    start: int

    def __len__(self) -> int:
        return len(self.attributes)


@dataclass
class PointSource:
    """An opened vector input; :meth:`iter_chunks` streams it.

    Attributes:
        path: the input file.
        format: short name of the reader, e.g. ``"GPKG"``, ``"GeoJSON"``, ``"GeoParquet"``, ``"CSV"``.
        total: number of rows if cheaply known (always known for CSV, counted in a first pass), else None.
        columns: the input's column names in order (including the geometry column, if any).
        geometry_column: name of the geometry column in :attr:`PointChunk.attributes` (None when the
            input has no geometry).
        lon_col, lat_col: the longitude / latitude columns the points come from, or None when they come
            from the geometry.
        crs: the CRS the points are read in before reprojection (EPSG:4326 when assumed or for lon/lat
            columns).
        crs_assumed: True when the file declared no CRS and EPSG:4326 was assumed.
        polygon_mode: ``"representative"`` or ``"mean"``.
        samples: points sampled per row in ``"mean"`` mode (``K``); 1 in representative mode.
        seed: seed of the sampling; the samples of a row depend only on (seed, row number).
        chunk_size: maximum rows per chunk.
    """

    path: Path
    format: str
    total: int | None
    columns: list[str]
    geometry_column: str | None
    lon_col: str | None
    lat_col: str | None
    crs: CRS
    crs_assumed: bool
    polygon_mode: PolygonMode
    samples: int
    seed: int
    chunk_size: int
    _batches: Callable[[], Iterator[pd.DataFrame]] = field(repr=False)
    _transformer: Transformer | None = field(repr=False, default=None)

    @property
    def samples_per_row(self) -> int:
        """``K`` in ``"mean"`` mode, otherwise 1."""
        return self.samples if self.polygon_mode == "mean" else 1

    def iter_chunks(self) -> Iterator[PointChunk]:
        """Yield :class:`PointChunk` objects in file order, each of at most ``chunk_size`` rows.

        Raises:
            InputError: on a null/empty/unreadable geometry, a non-numeric, missing, non-finite or
                out-of-range coordinate (naming the row), a read error midway, or an input without rows.
        """
        start = 0
        for frame in rechunk(self._batches(), self.chunk_size):
            n = len(frame)
            if n == 0:
                continue
            frame.index = pd.RangeIndex(start, start + n)
            if self.lon_col is None:
                lonlat = self._points_from_geometry(frame, start)
            else:
                lonlat = self._points_from_columns(frame, start)
            yield PointChunk(attributes=frame, lonlat=lonlat, start=start)
            start += n
        if start == 0:
            raise InputError(f"{self.path}: the input has no rows")

    # -- helpers ---------------------------------------------------------------------------------

    def _points_from_columns(self, frame: pd.DataFrame, start: int) -> np.ndarray:
        assert self.lon_col is not None and self.lat_col is not None
        lon = numeric_column(frame[self.lon_col], self.lon_col, start, self.path)
        lat = numeric_column(frame[self.lat_col], self.lat_col, start, self.path)
        lonlat = _checked_lonlat(np.stack([lon, lat], axis=1), start, self.path, reprojected_from=None)
        if self.polygon_mode == "mean":
            return np.repeat(lonlat[:, None, :], self.samples, axis=1)
        return lonlat

    def _points_from_geometry(self, frame: gpd.GeoDataFrame, start: int) -> np.ndarray:
        geoms = np.asarray(frame.geometry.array, dtype=object)
        missing = shapely.is_missing(geoms)
        if missing.any():
            row = start + int(np.flatnonzero(missing)[0])
            raise InputError(f"{self.path}: row {row} has no geometry (null)")
        empty = shapely.is_empty(geoms)
        if empty.any():
            row = start + int(np.flatnonzero(empty)[0])
            raise InputError(f"{self.path}: row {row} has an empty geometry")
        rows = np.arange(start, start + len(geoms), dtype=np.int64)
        if self.polygon_mode == "mean":
            xy = sample_points_in_geometries(geoms, self.samples, seed=self.seed, rows=rows)
        else:
            xy = representative_points(geoms)
        flat = xy.reshape(-1, 2)
        finite = np.isfinite(flat).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0]) // self.samples_per_row
            raise InputError(f"{self.path}: row {row} has a non-finite coordinate")
        if self._transformer is not None:
            x, y = self._transformer.transform(flat[:, 0], flat[:, 1])
            flat = np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)], axis=1)
        source_crs = None if self._transformer is None else crs_name(self.crs)
        flat = _checked_lonlat(flat, start, self.path, reprojected_from=source_crs, per_row=self.samples_per_row)
        return flat.reshape(xy.shape)


def open_point_source(
    path: str | os.PathLike,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    polygon_mode: PolygonMode = "representative",
    samples: int = 16,
    seed: int = 0,
    chunk_size: int = 65536,
    layer: str | int | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> PointSource:
    """Open a vector file or a delimited table of points for streaming.

    Args:
        path: GeoPackage, GeoJSON, Shapefile, FlatGeobuf or any other OGR vector format;
            ``.parquet``/``.geoparquet`` (GeoParquet, or plain Parquet with lon/lat columns);
            ``.csv``/``.tsv``/``.txt`` with lon/lat columns or a WKT column.
        lon_col, lat_col: longitude / latitude column names (degrees, EPSG:4326). When given they
            take precedence over a geometry. When omitted, columns named lon/lng/long/longitude/x
            and lat/latitude/y (case-insensitive) are used if the input has no geometry.
        polygon_mode: ``"representative"``: one point per row, computed in the source CRS: points
            as they are, lines their midpoint along the length, anything else shapely's
            ``point_on_surface`` (inside polygons, unlike the centroid). ``"mean"``: ``samples``
            points drawn area-uniformly (in the source CRS) inside polygons, length-uniformly
            along lines, uniformly among the points of a multipoint; chunks then carry ``[n, K, 2]``.
        samples: ``K``, points per row in ``"mean"`` mode (>= 1).
        seed: seed of the sampling in ``"mean"`` mode.
        chunk_size: maximum number of rows per chunk (>= 1).
        layer: layer name or index for multi-layer OGR datasets (default: the first layer).
        on_warning: called with a one-line message instead of :func:`warnings.warn` (category
            :class:`AssumedCRSWarning` when the input has no CRS and EPSG:4326 is assumed,
            :class:`MultipleLayersWarning` when ``layer`` is None and the file has several layers).
            The message may name a setting as a :func:`~satclip_cli.errors.setting` reference; show it
            with :func:`~satclip_cli.errors.render_settings` (the CLI shows the matching flag instead).

    Raises:
        InputError: missing or unreadable file, unknown format, no geometry and no lon/lat
            columns, unknown column names, an unusable CRS, an empty input, bad arguments.
    """
    path = Path(path)

    def notify(message: str, category: type[InputWarning]) -> None:
        if on_warning is not None:
            on_warning(message)
        else:
            warnings.warn(render_settings(message), category, stacklevel=3)

    if polygon_mode not in ("representative", "mean"):
        raise InputError(f"unknown polygon mode {polygon_mode!r}; use 'representative' or 'mean'")
    if int(samples) < 1:
        raise InputError(f"samples must be at least 1, got {samples}")
    if int(chunk_size) < 1:
        raise InputError(f"chunk size must be at least 1, got {chunk_size}")
    if not path.exists():
        raise InputError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        reader = open_csv(path, chunk_size, detect_wkt=lon_col is None and lat_col is None)
    elif suffix in PARQUET_SUFFIXES:
        reader = open_parquet(path, chunk_size)
    else:
        reader = open_ogr(path, chunk_size, layer)
        note = multiple_layers_note(path) if layer is None else None
        if note is not None:
            notify(note, MultipleLayersWarning)

    if reader.total == 0:
        raise InputError(f"{path}: the input has no rows")

    lon_used: str | None = None
    lat_used: str | None = None
    if lon_col is not None or lat_col is not None or reader.geometry_column is None:
        lon_used, lat_used = find_lonlat_columns(reader, lon_col, lat_col, path)

    crs = WGS84
    crs_assumed = False
    transformer: Transformer | None = None
    if lon_used is None:  # points come from the geometry
        if reader.crs is None:
            crs_assumed = True
            notify(
                f"{path.name} declares no CRS; assuming EPSG:4326 (longitude, latitude in degrees)", AssumedCRSWarning
            )
        else:
            crs = reader.crs
            if not crs.equals(WGS84, ignore_axis_order=True):
                try:
                    transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
                except Exception as error:  # pyproj raises ProjError / CRSError
                    raise InputError(f"{path}: cannot reproject from {crs_name(crs)} to EPSG:4326: {error}") from None
    batches = reader.batches
    if reader.geometry_column is not None:
        # the attributes keep the geometry in its own CRS; EPSG:4326 when it was assumed
        batches = with_geometry(reader, crs if lon_used is None else reader.crs)

    return PointSource(
        path=path,
        format=reader.format,
        total=reader.total,
        columns=list(reader.columns),
        geometry_column=reader.geometry_column,
        lon_col=lon_used,
        lat_col=lat_used,
        crs=crs,
        crs_assumed=crs_assumed,
        polygon_mode=polygon_mode,
        samples=int(samples),
        seed=int(seed),
        chunk_size=int(chunk_size),
        _batches=batches,
        _transformer=transformer,
    )


def _checked_lonlat(
    lonlat: np.ndarray, start: int, path: Path, *, reprojected_from: str | None, per_row: int = 1
) -> np.ndarray:
    """Validate ``[m, 2]`` (lon, lat) degrees, naming the file row ``start + index // per_row``; wrap longitudes."""
    reason = f"could not be reprojected from {reprojected_from} to EPSG:4326" if reprojected_from else None
    return validate_lonlat(lonlat, what=str(path), first_row=start, points_per_row=per_row, non_finite_reason=reason)
