"""GeoParquet files (and plain Parquet tables), read with pyarrow in record batches.

The geometry column and its CRS come from the GeoParquet ``geo`` metadata (an absent ``crs`` means
OGC:CRS84), or else from a GeoArrow extension type on a column. Geometry is WKB or GeoArrow-native;
bbox covering columns and pandas index columns are left out. A Parquet file without geometry is a
table located by lon/lat columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pyproj import CRS

from satclip_cli.errors import InputError, one_line
from satclip_cli.geo.vector.arrow import GEOARROW_TYPES, arrow_batch_to_frame
from satclip_cli.geo.vector.reader import FormatReader, guarded, parse_crs

PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
"""File name suffixes (lower case) read as (Geo)Parquet."""


def open_parquet(path: Path, chunk_size: int) -> FormatReader:
    """Open a (Geo)Parquet file, ``chunk_size`` rows per batch.

    Raises:
        InputError: not a Parquet file, invalid ``geo`` metadata, a missing geometry column or an
            unsupported geometry encoding.
    """
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as error:  # ArrowInvalid, OSError
        raise InputError(f"cannot read {path} as Parquet: {one_line(error)}") from None
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
            crs = parse_crs(column["crs"], path)
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
                crs = None if extension.get("crs") is None else parse_crs(extension["crs"], path)
                break
    if geometry_name is not None and geometry_name not in schema.names:
        raise InputError(f"{path}: GeoParquet geometry column {geometry_name!r} is missing")
    if encoding.upper() != "WKB" and encoding.lower() not in GEOARROW_TYPES:
        raise InputError(f"{path}: unsupported GeoParquet geometry encoding {encoding!r}")
    columns = [name for name in schema.names if name not in drop]

    def batches() -> Iterator[pd.DataFrame]:
        stream = parquet.iter_batches(batch_size=chunk_size, columns=columns, use_pandas_metadata=False)
        for batch in guarded(stream, path):
            yield arrow_batch_to_frame(batch, geometry_name, geometry_name, encoding, path)

    fmt = "GeoParquet" if geometry_name is not None else "Parquet"
    return FormatReader(fmt, columns, geometry_name, crs, parquet.metadata.num_rows, batches)
