"""Arrow record batches -> DataFrames with shapely geometry (WKB or GeoArrow-native encodings).

Both the OGR reader (pyogrio's Arrow stream, WKB) and the GeoParquet reader (WKB or GeoArrow
``point``/``linestring``/``polygon``/``multi*`` coordinates) decode their geometry column here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from satclip_cli.errors import InputError

GEOARROW_TYPES = {
    "point": shapely.GeometryType.POINT,
    "linestring": shapely.GeometryType.LINESTRING,
    "polygon": shapely.GeometryType.POLYGON,
    "multipoint": shapely.GeometryType.MULTIPOINT,
    "multilinestring": shapely.GeometryType.MULTILINESTRING,
    "multipolygon": shapely.GeometryType.MULTIPOLYGON,
}
"""GeoArrow native encoding name -> shapely geometry type."""


def arrow_batch_to_frame(
    batch: pa.RecordBatch, source_name: str | None, geometry_name: str | None, encoding: str, path: Path
) -> pd.DataFrame:
    """Convert an Arrow batch to a DataFrame with Arrow-backed dtypes and shapely geometry.

    Args:
        batch: the record batch.
        source_name: the geometry column in ``batch`` (None when the input has no geometry).
        geometry_name: the name the geometry column gets in the DataFrame (same position).
        encoding: ``"WKB"`` or a GeoArrow native encoding (a key of :data:`GEOARROW_TYPES`).
        path: the input file, named in errors.
    """
    batch = batch.replace_schema_metadata(None)
    if source_name is None or source_name not in batch.schema.names:
        return batch.to_pandas(types_mapper=pd.ArrowDtype)
    position = batch.schema.get_field_index(source_name)
    geometry = arrow_to_shapely(batch.column(position), encoding, path)
    frame = batch.drop_columns([source_name]).to_pandas(types_mapper=pd.ArrowDtype)
    frame.insert(min(position, frame.shape[1]), geometry_name, geometry)
    return frame


def arrow_to_shapely(array: pa.Array, encoding: str, path: Path) -> np.ndarray:
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
    geometry_type = GEOARROW_TYPES[encoding.lower()]
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
