"""Stream (lon, lat) points out of vector files in bounded memory.

:func:`open_point_source` opens any vector file pyogrio/GDAL reads (GeoPackage,
GeoJSON, Shapefile, FlatGeobuf, ...), a GeoParquet file (read with pyarrow in record
batches, WKB or GeoArrow-native geometry), or a delimited text file (``.csv``, ``.tsv``,
``.txt``) with longitude/latitude columns or a WKT geometry column. Its
:meth:`PointSource.iter_chunks` yields :class:`PointChunk` objects of at most
``chunk_size`` rows: the input rows as a (Geo)DataFrame plus float64 (lon, lat) degrees
in EPSG:4326, as ``[n, 2]`` (one point per row) or ``[n, K, 2]`` (``K`` points sampled
inside each geometry when ``polygon_mode="mean"``).

Coordinates are always (lon, lat) in degrees, in that order. Geometries are reprojected
with pyproj using ``always_xy=True``; a file without a CRS is assumed to be EPSG:4326
and a warning (:class:`AssumedCRSWarning`, or the ``on_warning`` callback) says so.
Everything a user can get wrong raises :class:`~satclip_cli.errors.InputError` with a
one-line message; rows are numbered from 0 in file order (header excluded).
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from satclip_cli.errors import InputError
from satclip_cli.geo.coordinates import validate_lonlat

PolygonMode = Literal["representative", "mean"]
T = TypeVar("T")
_END: Any = object()

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")

#: Column names recognised as longitude / latitude (case-insensitive), in order of preference.
LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
#: Column names recognised as WKT geometry in delimited text files (case-insensitive).
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geometry", "shape")

WGS84 = CRS.from_epsg(4326)

# shapely geometry type ids
_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3
_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 4, 5, 6, 7


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
        for frame in _rechunk(self._batches(), self.chunk_size):
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
        lon = _numeric_column(frame[self.lon_col], self.lon_col, start, self.path)
        lat = _numeric_column(frame[self.lat_col], self.lat_col, start, self.path)
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
        crs_name = None if self._transformer is None else _crs_name(self.crs)
        flat = _checked_lonlat(flat, start, self.path, reprojected_from=crs_name, per_row=self.samples_per_row)
        return flat.reshape(xy.shape)


# -- opening ------------------------------------------------------------------------------------


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

    Raises:
        InputError: missing or unreadable file, unknown format, no geometry and no lon/lat
            columns, unknown column names, an unusable CRS, an empty input, bad arguments.
    """
    path = Path(path)

    def notify(message: str, category: type[InputWarning]) -> None:
        if on_warning is not None:
            on_warning(message)
        else:
            warnings.warn(message, category, stacklevel=3)

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
        reader = _open_csv(path, chunk_size, detect_wkt=lon_col is None and lat_col is None)
    elif suffix in PARQUET_SUFFIXES:
        reader = _open_parquet(path, chunk_size)
    else:
        reader = _open_ogr(path, chunk_size, layer)
        if layer is None:
            _warn_multiple_layers(path, notify)

    if reader.total == 0:
        raise InputError(f"{path}: the input has no rows")

    lon_used: str | None = None
    lat_used: str | None = None
    if lon_col is not None or lat_col is not None or reader.geometry_column is None:
        lon_used, lat_used = _find_lonlat_columns(reader, lon_col, lat_col, path)

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
                    raise InputError(f"{path}: cannot reproject from {_crs_name(crs)} to EPSG:4326: {error}") from None
    batches = reader.batches
    if reader.geometry_column is not None:
        # the attributes keep the geometry in its own CRS; EPSG:4326 when it was assumed
        batches = _with_geometry(reader, crs if lon_used is None else reader.crs)

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


@dataclass
class _Reader:
    """Format-specific part of a source: metadata plus a factory of attribute batches.

    ``batches()`` yields DataFrames whose geometry column (if any) holds shapely geometries
    (object dtype, None for nulls).
    """

    format: str
    columns: list[str]
    geometry_column: str | None
    crs: CRS | None
    total: int | None
    batches: Callable[[], Iterator[pd.DataFrame]]


def _with_geometry(reader: _Reader, crs: CRS) -> Callable[[], Iterator[pd.DataFrame]]:
    """Wrap ``reader.batches`` so each batch becomes a GeoDataFrame with ``crs``."""
    geometry = reader.geometry_column

    def batches() -> Iterator[pd.DataFrame]:
        for frame in reader.batches():
            yield gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)

    return batches


def _rechunk(batches: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """Regroup a stream of DataFrames into consecutive blocks of exactly ``size`` rows (the last may be short)."""
    pending: list[pd.DataFrame] = []
    count = 0
    for frame in batches:
        offset = 0
        while offset < len(frame):
            take = min(size - count, len(frame) - offset)
            pending.append(frame.iloc[offset : offset + take])
            count += take
            offset += take
            if count == size:
                yield _concat(pending)
                pending, count = [], 0
    if count:
        yield _concat(pending)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a library's read error into a one-line :class:`InputError`; silence its warnings."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except (InputError, KeyboardInterrupt):
        raise
    except Exception as error:  # pyogrio, pyarrow and pandas raise many different types
        raise InputError(f"error while reading {path}: {_one_line(error)}") from None


def _guarded(stream: Iterable[T], path: Path) -> Iterator[T]:
    """Iterate ``stream``, translating errors raised while reading (not by the consumer) via :func:`_reading`."""
    iterator = iter(stream)
    while True:
        with _reading(path):
            item = next(iterator, _END)
        if item is _END:
            return
        yield item


def _crs_name(crs: CRS) -> str:
    authority = crs.to_authority(min_confidence=90)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def _parse_crs(value: object, path: Path) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as error:
        raise InputError(f"{path}: cannot understand its CRS: {error}") from None


# -- OGR (pyogrio) ------------------------------------------------------------------------------


def _open_ogr(path: Path, chunk_size: int, layer: str | int | None) -> _Reader:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(path, layer=layer)
    except Exception as error:  # pyogrio.errors.DataSourceError / DataLayerError and friends
        if path.is_dir():
            raise InputError(f"cannot read {path}: a folder without a readable vector layer") from None
        text = _one_line(error)
        if "not recognized as being in a supported file format" in text:
            raise InputError(
                f"cannot read {path}: not a recognised vector format (supported: GeoPackage, GeoJSON, Shapefile, "
                f"FlatGeobuf and other GDAL formats, GeoParquet, CSV/TSV with lon/lat columns)"
            ) from None
        raise InputError(f"cannot read {path} as a vector file: {text}") from None
    crs = None if info.get("crs") is None else _parse_crs(info["crs"], path)
    fields = [str(name) for name in info["fields"]]
    has_geometry = info.get("geometry_type") is not None
    geometry_name = None
    if has_geometry:
        geometry_name = "geometry" if "geometry" not in fields else (info.get("geometry_name") or "wkb_geometry")
    features = int(info.get("features", -1))
    driver = str(info.get("driver") or "OGR")

    def batches() -> Iterator[pd.DataFrame]:
        with _reading(path):
            context = pyogrio.open_arrow(path, layer=layer, batch_size=chunk_size, use_pyarrow=True)
            meta, stream = context.__enter__()
        try:
            wkb_name = _ogr_geometry_field(stream.schema, meta) if has_geometry else None
            for batch in _guarded(stream, path):
                yield _arrow_batch_to_frame(batch, wkb_name, geometry_name, "WKB", path)
        finally:
            context.__exit__(None, None, None)

    columns = fields + ([geometry_name] if geometry_name else [])
    return _Reader(driver, columns, geometry_name, crs, features if features >= 0 else None, batches)


def _warn_multiple_layers(path: Path, notify: Callable[[str, type[InputWarning]], None]) -> None:
    try:
        layers = pyogrio.list_layers(path)
    except Exception:  # the layer was readable; listing is only informative
        return
    if len(layers) > 1:
        names = ", ".join(repr(str(name)) for name in layers[:5, 0]) + (", ..." if len(layers) > 5 else "")
        notify(
            f"{path.name} has {len(layers)} layers ({names}); reading the first, {str(layers[0, 0])!r} "
            "(choose another with --layer)",
            MultipleLayersWarning,
        )


def _ogr_geometry_field(schema: pa.Schema, meta: dict) -> str:
    for item in schema:
        if item.metadata and item.metadata.get(b"ARROW:extension:name") == b"geoarrow.wkb":
            return item.name
    name = meta.get("geometry_name") or "wkb_geometry"
    return str(name)


# -- GeoParquet (pyarrow) -----------------------------------------------------------------------

_GEOARROW_TYPES = {
    "point": shapely.GeometryType.POINT,
    "linestring": shapely.GeometryType.LINESTRING,
    "polygon": shapely.GeometryType.POLYGON,
    "multipoint": shapely.GeometryType.MULTIPOINT,
    "multilinestring": shapely.GeometryType.MULTILINESTRING,
    "multipolygon": shapely.GeometryType.MULTIPOLYGON,
}


def _open_parquet(path: Path, chunk_size: int) -> _Reader:
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as error:  # ArrowInvalid, OSError
        raise InputError(f"cannot read {path} as Parquet: {_one_line(error)}") from None
    metadata = dict(schema.metadata or {})
    if b"geo" not in metadata:
        metadata.update(parquet.metadata.metadata or {})
    geometry_name: str | None = None
    encoding = "WKB"
    crs: CRS | None = None
    drop: set[str] = {name for name in schema.names if name.startswith("__index_level_")}
    if b"geo" in metadata:
        try:
            geo = json.loads(metadata[b"geo"])
            geometry_name = geo["primary_column"]
            column = geo["columns"][geometry_name]
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: invalid GeoParquet 'geo' metadata ({error})") from None
        encoding = str(column.get("encoding", "WKB"))
        if "crs" not in column:
            crs = CRS.from_user_input("OGC:CRS84")  # GeoParquet: an absent crs means OGC:CRS84
        elif column["crs"] is not None:
            crs = _parse_crs(column["crs"], path)
        for other in geo["columns"].values():
            covering = other.get("covering", {}).get("bbox", {}) if isinstance(other, dict) else {}
            drop.update(part[0] for part in covering.values() if isinstance(part, list) and part)
    else:
        for item in schema:
            name = (item.metadata or {}).get(b"ARROW:extension:name", b"").decode()
            if name.startswith("geoarrow."):
                geometry_name = item.name
                encoding = "WKB" if name == "geoarrow.wkb" else name.removeprefix("geoarrow.")
                extension = json.loads((item.metadata or {}).get(b"ARROW:extension:metadata", b"{}") or b"{}")
                crs = None if extension.get("crs") is None else _parse_crs(extension["crs"], path)
                break
    if geometry_name is not None and geometry_name not in schema.names:
        raise InputError(f"{path}: GeoParquet geometry column {geometry_name!r} is missing")
    if encoding.upper() != "WKB" and encoding.lower() not in _GEOARROW_TYPES:
        raise InputError(f"{path}: unsupported GeoParquet geometry encoding {encoding!r}")
    columns = [name for name in schema.names if name not in drop]

    def batches() -> Iterator[pd.DataFrame]:
        stream = parquet.iter_batches(batch_size=chunk_size, columns=columns, use_pandas_metadata=False)
        for batch in _guarded(stream, path):
            yield _arrow_batch_to_frame(batch, geometry_name, geometry_name, encoding, path)

    fmt = "GeoParquet" if geometry_name is not None else "Parquet"
    return _Reader(fmt, columns, geometry_name, crs, parquet.metadata.num_rows, batches)


def _arrow_batch_to_frame(
    batch: pa.RecordBatch, source_name: str | None, geometry_name: str | None, encoding: str, path: Path
) -> pd.DataFrame:
    """Convert an Arrow batch to a DataFrame with Arrow-backed dtypes and shapely geometry."""
    batch = batch.replace_schema_metadata(None)
    if source_name is None or source_name not in batch.schema.names:
        return batch.to_pandas(types_mapper=pd.ArrowDtype)
    position = batch.schema.get_field_index(source_name)
    geometry = _arrow_to_shapely(batch.column(position), encoding, path)
    frame = batch.drop_columns([source_name]).to_pandas(types_mapper=pd.ArrowDtype)
    frame.insert(min(position, frame.shape[1]), geometry_name, geometry)
    return frame


def _arrow_to_shapely(array: pa.Array, encoding: str, path: Path) -> np.ndarray:
    """Decode a WKB or GeoArrow-native Arrow array into an object array of shapely geometries (None for nulls)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    if encoding.upper() == "WKB":
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
        try:
            return shapely.from_wkb(values, on_invalid="raise")
        except Exception:
            decoded = shapely.from_wkb(values, on_invalid="ignore")
            bad = np.flatnonzero(shapely.is_missing(decoded) & ~pd.isna(values))
            detail = f" (row {int(bad[0])} of a batch)" if bad.size else ""
            raise InputError(f"{path}: invalid WKB geometry{detail}") from None
    geometry_type = _GEOARROW_TYPES[encoding.lower()]
    nulls = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    offsets: list[np.ndarray] = []
    level = array
    while pa.types.is_list(level.type) or pa.types.is_large_list(level.type):
        level_offsets = np.asarray(level.offsets.to_numpy(), dtype=np.int64)
        level = level.values.slice(int(level_offsets[0]), int(level_offsets[-1] - level_offsets[0]))
        offsets.append(level_offsets - level_offsets[0])
    if pa.types.is_struct(level.type):
        coords = np.stack(
            [np.asarray(level.field(i).to_numpy(zero_copy_only=False), dtype=np.float64) for i in range(2)], axis=1
        )
    elif pa.types.is_fixed_size_list(level.type):
        size = level.type.list_size
        flat = np.asarray(level.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
        coords = flat.reshape(-1, size)[:, :2]
    else:
        raise InputError(f"{path}: unsupported GeoArrow coordinate type {level.type}")
    coords = np.ascontiguousarray(coords)
    if geometry_type == shapely.GeometryType.POINT:
        result = shapely.points(coords)
    else:
        result = shapely.from_ragged_array(geometry_type, coords, tuple(reversed(offsets)))
    result = np.asarray(result, dtype=object)
    result[nulls] = None
    return result


# -- delimited text (pandas) --------------------------------------------------------------------


def _sniff_separator(path: Path) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    if counts[best] > 0:
        return best
    if path.suffix.lower() == ".tsv":
        return "\t"
    return r"\s+" if len(header.split()) > 1 else ","


def _dtype_class(series: pd.Series) -> str | None:
    """Classify a chunk's column as "int", "float", "bool" or "str" (None when entirely missing)."""
    if series.isna().all():
        return None
    kind = series.dtype.kind
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "b":
        return "bool"
    return "str"


def _merge_class(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b
    if b is None:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    return "str"


def _settled_dtype(kind: str | None, has_missing: bool) -> object:
    """The dtype a CSV column is read with, given its merged class over the file."""
    if kind == "int":
        return "Int64" if has_missing else "int64"
    if kind == "bool":
        return "boolean" if has_missing else "bool"
    if kind == "str":
        return str
    return "float64"


def _open_csv(path: Path, chunk_size: int, *, detect_wkt: bool) -> _Reader:
    sep = _sniff_separator(path)
    options = {"sep": sep, "encoding": "utf-8-sig"}
    classes: dict[str, str | None] = {}
    missing: dict[str, bool] = {}
    total = 0
    try:
        header = pd.read_csv(path, nrows=0, **options)
        columns = [str(name) for name in header.columns]
        if not columns:
            raise InputError(f"{path}: the file is empty")
        # First pass: settle each column's type over the whole file, so all chunks agree, and count rows.
        for block in pd.read_csv(path, chunksize=max(chunk_size, 1 << 18), **options):
            total += len(block)
            for name in columns:
                classes[name] = _merge_class(classes.get(name), _dtype_class(block[name]))
                missing[name] = missing.get(name, False) or bool(block[name].isna().any())
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise InputError(f"cannot read {path} as a delimited table: {_one_line(error)}") from None
    dtypes = {name: _settled_dtype(classes.get(name), missing.get(name, False)) for name in columns}

    wkt_column = None
    lowered = {name.lower() for name in columns}
    has_lonlat = bool(lowered & set(LON_NAMES)) and bool(lowered & set(LAT_NAMES))
    if detect_wkt and not has_lonlat:
        wkt_column = next((name for name in columns if name.lower() in WKT_NAMES and dtypes[name] is str), None)

    def batches() -> Iterator[pd.DataFrame]:
        start = 0
        with _reading(path):
            stream = pd.read_csv(path, chunksize=chunk_size, dtype=dtypes, **options)
        with stream:
            for block in _guarded(stream, path):
                if wkt_column is not None:
                    block[wkt_column] = _parse_wkt(block[wkt_column], wkt_column, start, path)
                start += len(block)
                yield block

    fmt = {",": "CSV", "\t": "TSV"}.get(sep, "delimited text")
    return _Reader(fmt, columns, wkt_column, None, total, batches)


def _parse_wkt(values: pd.Series, column: str, start: int, path: Path) -> np.ndarray:
    text = np.asarray(values.astype(object).where(values.notna(), None), dtype=object)
    geoms = shapely.from_wkt(text, on_invalid="ignore")
    bad = shapely.is_missing(geoms) & ~pd.isna(text)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        snippet = str(text[row])[:40]
        raise InputError(f"{path}: row {start + row} has invalid WKT in column {column!r}: {snippet!r}")
    return geoms


# -- lon/lat columns ----------------------------------------------------------------------------


def _find_lonlat_columns(
    reader: _Reader, lon_col: str | None, lat_col: str | None, path: Path
) -> tuple[str | None, str | None]:
    """Resolve the lon/lat columns: explicit names (exact, else case-insensitive) or auto-detected ones.

    Returns (None, None) when nothing is found and the reader has a geometry to fall back on.
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
        raise InputError(f"{path}: found no {missing} column (columns: {listing}); pass both --lon-col and --lat-col")
    raise InputError(
        f"{path}: no geometry and no longitude/latitude columns (columns: {listing}); "
        "name them lon/lat (or longitude/latitude, x/y) or pass --lon-col/--lat-col"
    )


def _numeric_column(series: pd.Series, name: str, start: int, path: Path) -> np.ndarray:
    """Return a column as float64, naming the first row that is not a number (missing values become NaN)."""
    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{path}: row {start + row} has a non-numeric value {series.iloc[row]!r} in column {name!r}")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _checked_lonlat(
    lonlat: np.ndarray, start: int, path: Path, *, reprojected_from: str | None, per_row: int = 1
) -> np.ndarray:
    """Validate ``[m, 2]`` (lon, lat) degrees, naming the file row ``start + index // per_row``; wrap longitudes."""
    reason = f"could not be reprojected from {reprojected_from} to EPSG:4326" if reprojected_from else None
    return validate_lonlat(lonlat, what=str(path), first_row=start, points_per_row=per_row, non_finite_reason=reason)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


# -- geometry -> points -------------------------------------------------------------------------


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """One point per geometry in its own CRS.

    Points are used as they are, lines give the point halfway along their length, anything else
    (polygons, multipoints, collections) shapely's ``point_on_surface``.

    Args:
        geoms: object array ``[n]`` of non-empty shapely geometries.

    Returns:
        float64 ``[n, 2]`` (x, y) in the geometries' CRS.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty((len(geoms), 2), dtype=np.float64)
    is_point = shapely.get_type_id(geoms) == _POINT
    if is_point.any():
        out[is_point] = shapely.get_coordinates(geoms[is_point])
    types = shapely.get_type_id(geoms)
    lineal = np.flatnonzero((types == _LINESTRING) | (types == _LINEARRING) | (types == _MULTILINESTRING))
    if lineal.size:
        out[lineal] = shapely.get_coordinates(shapely.line_interpolate_point(geoms[lineal], 0.5, normalized=True))
    rest = np.flatnonzero(~is_point & ~np.isin(types, (_LINESTRING, _LINEARRING, _MULTILINESTRING)))
    if rest.size:
        try:
            points = shapely.point_on_surface(geoms[rest])
        except shapely.errors.GEOSException:
            points = np.array([_point_on_surface_safe(g) for g in geoms[rest]], dtype=object)
        out[rest, 0] = shapely.get_x(points)
        out[rest, 1] = shapely.get_y(points)
    return out


def _point_on_surface_safe(geom: shapely.Geometry) -> shapely.Geometry:
    try:
        return shapely.point_on_surface(geom)
    except shapely.errors.GEOSException:
        return shapely.point_on_surface(shapely.make_valid(geom))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def row_uniforms(seed: int, rows: np.ndarray, samples: int, streams: int) -> np.ndarray:
    """Counter-based uniform numbers in [0, 1) that depend only on (seed, row, sample, stream).

    Makes the sampling independent of how the input is chunked. Returns float64 ``[n, samples, streams]``.
    """
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed % (1 << 64)], dtype=np.uint64))
        per_row = _splitmix64(key ^ np.asarray(rows, dtype=np.int64).astype(np.uint64))
        counter = np.arange(samples * streams, dtype=np.uint64).reshape(1, samples, streams)
        bits = _splitmix64(per_row[:, None, None] + counter * _MIX1)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def sample_points_in_geometries(geoms: np.ndarray, samples: int, *, seed: int, rows: np.ndarray) -> np.ndarray:
    """Sample ``samples`` points per geometry, in the geometries' own CRS.

    Polygons: area-uniform (constrained Delaunay triangulation, triangles chosen by area,
    uniform barycentric points). Lines: uniform along their length. Multipoints: uniform among
    their points. Points: ``samples`` copies. Collections use their highest-dimensional parts.
    Degenerate polygons (zero area) fall back to their ``point_on_surface``.

    Args:
        geoms: object array ``[n]`` of non-empty shapely geometries.
        samples: ``K`` points per geometry.
        seed: sampling seed.
        rows: int ``[n]`` file row numbers; the samples of a row depend only on (seed, row).

    Returns:
        float64 ``[n, K, 2]`` (x, y) in the geometries' CRS.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    rows = np.asarray(rows, dtype=np.int64)
    n = len(geoms)
    out = np.empty((n, samples, 2), dtype=np.float64)
    types = shapely.get_type_id(geoms)
    for index in np.flatnonzero(types == _COLLECTION):
        geoms[index] = _dominant_parts(geoms[index])
    types = shapely.get_type_id(geoms)
    uniforms = row_uniforms(seed, rows, samples, 3)

    point = types == _POINT
    if point.any():
        out[point] = shapely.get_coordinates(geoms[point])[:, None, :]
    polygonal = np.flatnonzero((types == _POLYGON) | (types == _MULTIPOLYGON))
    if polygonal.size:
        out[polygonal] = _sample_polygons(geoms[polygonal], uniforms[polygonal])
    lineal = np.flatnonzero((types == _LINESTRING) | (types == _LINEARRING) | (types == _MULTILINESTRING))
    if lineal.size:
        lines = geoms[lineal]
        distance = uniforms[lineal, :, 0] * shapely.length(lines)[:, None]
        points = shapely.line_interpolate_point(np.repeat(lines, samples), distance.ravel())
        out[lineal] = shapely.get_coordinates(points).reshape(len(lineal), samples, 2)
    multipoint = np.flatnonzero(types == _MULTIPOINT)
    if multipoint.size:
        parts, owner = shapely.get_parts(geoms[multipoint], return_index=True)
        coords = shapely.get_coordinates(parts)
        counts = np.bincount(owner, minlength=multipoint.size)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        within = np.minimum((uniforms[multipoint, :, 0] * counts[:, None]).astype(np.int64), counts[:, None] - 1)
        pick = first[:, None] + within
        out[multipoint] = coords[pick]
    return out


def _dominant_parts(collection: shapely.Geometry) -> shapely.Geometry:
    """Reduce a geometry collection to a multi-geometry of its highest-dimensional parts."""
    parts = shapely.get_parts(collection)
    while True:
        nested = shapely.get_type_id(parts) >= _MULTIPOINT
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    parts = parts[~shapely.is_empty(parts)]
    types = shapely.get_type_id(parts)
    polygons = parts[types == _POLYGON]
    if polygons.size and shapely.area(shapely.multipolygons(polygons)) > 0:
        return shapely.multipolygons(polygons)
    lines = parts[(types == _LINESTRING) | (types == _LINEARRING)]
    if lines.size:
        return shapely.multilinestrings([shapely.linestrings(shapely.get_coordinates(line)) for line in lines])
    return shapely.multipoints(shapely.get_coordinates(parts))


def _triangulate(polygons: np.ndarray) -> np.ndarray:
    """Constrained Delaunay triangulation of each polygon, repairing invalid ones; empty on failure."""
    polygons = polygons.copy()
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons[invalid] = [_polygonal_part(shapely.make_valid(g)) for g in polygons[invalid]]
    try:
        return shapely.constrained_delaunay_triangles(polygons)
    except shapely.errors.GEOSException:
        result = np.empty(len(polygons), dtype=object)
        for index, polygon in enumerate(polygons):
            try:
                result[index] = shapely.constrained_delaunay_triangles(polygon)
            except shapely.errors.GEOSException:
                result[index] = shapely.GeometryCollection()
        return result


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(geom) in (_POLYGON, _MULTIPOLYGON):
        return geom
    parts = shapely.get_parts(geom)
    polygons = [p for p in parts if shapely.get_type_id(p) in (_POLYGON, _MULTIPOLYGON)]
    polygons = [q for p in polygons for q in shapely.get_parts(p)]
    return shapely.multipolygons(polygons) if polygons else shapely.Polygon()


def _sample_polygons(polygons: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Area-uniform samples inside polygons: ``uniforms`` ``[m, K, 3]`` -> float64 ``[m, K, 2]``."""
    m, samples, _ = uniforms.shape
    triangles, owner = shapely.get_parts(_triangulate(polygons), return_index=True)
    corners = shapely.get_coordinates(triangles).reshape(-1, 4, 2)[:, :3]
    a = corners[:, 0]
    ab = corners[:, 1] - a
    ac = corners[:, 2] - a
    area = 0.5 * np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
    feature_area = np.bincount(owner, weights=area, minlength=m)
    counts = np.bincount(owner, minlength=m)
    out = np.empty((m, samples, 2), dtype=np.float64)
    good = feature_area > 0
    if good.any():
        keep = good[owner]
        owner_good = owner[keep]
        # triangle weights normalised per feature, so the running sum stays small and precise
        weights = area[keep] / feature_area[owner_good]
        cumulative = np.cumsum(weights)
        counts_good = np.bincount(owner_good, minlength=m)[good]
        last = np.cumsum(counts_good) - 1
        first = last - counts_good + 1
        base = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
        target = base[:, None] + uniforms[good, :, 0] * (cumulative[last] - base)[:, None]
        pick = np.searchsorted(cumulative, target, side="right")
        pick = np.clip(pick, first[:, None], last[:, None])
        r1 = uniforms[good, :, 1].copy()
        r2 = uniforms[good, :, 2].copy()
        flip = r1 + r2 > 1.0
        r1[flip], r2[flip] = 1.0 - r1[flip], 1.0 - r2[flip]
        a_k, ab_k, ac_k = a[keep][pick], ab[keep][pick], ac[keep][pick]
        out[good] = a_k + r1[..., None] * ab_k + r2[..., None] * ac_k
    if (~good).any():
        fallback = np.array([_point_on_surface_safe(g) for g in polygons[~good]], dtype=object)
        out[~good] = shapely.get_coordinates(fallback)[:, None, :]
    del counts
    return out
