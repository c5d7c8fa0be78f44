"""Streaming writers for embeddings, chosen by the output file's extension.

* ``.parquet`` / ``.geoparquet``: GeoParquet 1.1 with all input columns, the geometry as
  WKB with a ``geo`` metadata entry (readable by ``geopandas.read_parquet``), and the
  embedding as a ``fixed_size_list<float32>[D]`` column named ``embedding`` (or, with
  ``wide=True``, float32 columns ``emb_000 ... emb_{D-1}``). Rows without an input geometry
  (tables with lon/lat columns) get a point geometry built from (lon, lat) in EPSG:4326.
* ``.csv``: the input columns (geometry as WKT) followed by ``emb_000 ... emb_{D-1}``.
* ``.npy``: only the float32 ``[N, D]`` embedding matrix.

Every writer writes through :func:`~satclip_cli.utils.atomic_output.atomic_output`: the data go
to a temporary file beside the target, renamed over it only when everything succeeded. An
exception or Ctrl-C midway leaves no partial output and never touches an existing file.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from satclip_cli.embedding.quantize import OutputEncoding
from satclip_cli.errors import InputError, setting
from satclip_cli.utils.atomic_output import atomic_output

#: Output extensions (lower case) and the format each one writes.
OUTPUT_FORMATS: dict[str, str] = {
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
    ".csv": "csv",
    ".npy": "npy",
}

EMBEDDING_COLUMN = "embedding"
GEOPARQUET_VERSION = "1.1.0"
QUANTIZATION_METADATA_KEY = b"satclip:quantization"
"""GeoParquet schema metadata of int8 output: the JSON of :meth:`~satclip_cli.embedding.quantize.Quantization.to_json`
(``value = q * scale[band] + offset[band]``; ``q = -128`` is nodata)."""
_ARROW_TYPES = {"float32": pa.float32(), "float16": pa.float16(), "int8": pa.int8()}


def output_format(path: str | os.PathLike) -> str:
    """Return ``"geoparquet"``, ``"csv"`` or ``"npy"`` for an output path, by its extension.

    Raises:
        InputError: for any other extension, listing the supported ones.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        supported = ", ".join(OUTPUT_FORMATS)
        shown = suffix or "no extension"
        raise InputError(f"cannot write embeddings to {Path(path).name} ({shown}); supported extensions: {supported}")
    return OUTPUT_FORMATS[suffix]


def embedding_column_names(embed_dim: int) -> list[str]:
    """``["emb_000", ..., "emb_{D-1}"]``, zero-padded to at least three digits."""
    width = max(3, len(str(embed_dim - 1)))
    return [f"emb_{i:0{width}d}" for i in range(embed_dim)]


class EmbeddingWriter(ABC):
    """Appends blocks of rows and their embeddings to one output file (use :func:`open_embedding_writer`)."""

    def __init__(
        self, path: Path, embed_dim: int, *, wide: bool = False, encoding: OutputEncoding | None = None
    ) -> None:
        self.path = path
        self.embed_dim = int(embed_dim)
        self.wide = wide
        self.encoding = encoding or OutputEncoding()
        self.rows_written = 0

    def write(
        self,
        embeddings: np.ndarray,
        *,
        attributes: pd.DataFrame | None = None,
        lonlat: np.ndarray | None = None,
    ) -> None:
        """Append ``n`` rows.

        Args:
            embeddings: ``[n, D]`` embeddings (stored as float32).
            attributes: the ``n`` input rows (a GeoDataFrame keeps its active geometry and CRS).
            lonlat: float64 (lon, lat) degrees, ``[n, 2]`` (or ``[n, K, 2]``, of which sample 0
                is used); makes the point geometry when ``attributes`` has none (GeoParquet only).
        """
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.embed_dim:
            raise ValueError(f"expected embeddings of shape [n, {self.embed_dim}], got {embeddings.shape}")
        n = embeddings.shape[0]
        if attributes is not None and len(attributes) != n:
            raise ValueError(f"{len(attributes)} attribute rows for {n} embeddings")
        if lonlat is not None and len(lonlat) != n:
            raise ValueError(f"{len(lonlat)} coordinates for {n} embeddings")
        if n == 0:
            return
        self._write(embeddings.astype(np.float32, copy=False), attributes, lonlat)
        self.rows_written += n

    @abstractmethod
    def _write(self, embeddings: np.ndarray, attributes: pd.DataFrame | None, lonlat: np.ndarray | None) -> None: ...

    def finish(self) -> None:
        """Complete the file after the last block (called before it is renamed into place)."""
        if self.rows_written == 0:
            raise InputError("nothing to write: the input has no rows")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and buffers; called after :meth:`finish` or on failure."""


@contextlib.contextmanager
def open_embedding_writer(
    path: str | os.PathLike,
    embed_dim: int,
    *,
    wide: bool = False,
    overwrite: bool = False,
    encoding: OutputEncoding | None = None,
) -> Iterator[EmbeddingWriter]:
    """Open a writer for ``path`` (format from its extension); the file appears only on success.

    Args:
        path: output file, ``.parquet``/``.geoparquet``, ``.csv`` or ``.npy``.
        embed_dim: ``D``, the embedding size.
        wide: GeoParquet only: ``emb_000 ...`` float32 columns instead of one list column.
        overwrite: replace an existing ``path`` (only once the new file is complete).
        encoding: stored dtype of the embeddings (float32 by default; float16 and int8 for GeoParquet only).

    Raises:
        InputError: unknown extension, missing output folder, float16/int8 for CSV or .npy.
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
    """
    kind = output_format(path)
    if int(embed_dim) < 1:
        raise ValueError(f"embed_dim must be positive, got {embed_dim}")
    if encoding is not None and (encoding.dtype != "float32" or encoding.is_int8) and kind != "geoparquet":
        raise InputError(
            f"{setting('quantize')}/{setting('output_dtype')} apply to GeoParquet, Zarr and GeoTIFF outputs, not {kind}"
        )
    writer_class = {"geoparquet": GeoParquetEmbeddingWriter, "csv": CsvEmbeddingWriter, "npy": NpyEmbeddingWriter}
    with atomic_output(path, overwrite=overwrite) as tmp:
        writer = writer_class[kind](tmp, embed_dim, wide=wide, encoding=encoding)
        try:
            yield writer
            writer.finish()
        finally:
            writer.close()


def _geometry_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if isinstance(frame[name].dtype, gpd.array.GeometryDtype)]


def _check_conflicts(columns: list[str], new: list[str]) -> None:
    clash = sorted(set(map(str, columns)) & set(new))
    if clash:
        raise InputError(
            f"the input already has a column named {clash[0]!r}, which the embedding output needs; rename or drop it"
        )


def _first_sample(lonlat: np.ndarray) -> np.ndarray:
    lonlat = np.asarray(lonlat, dtype=np.float64)
    return lonlat[:, 0, :] if lonlat.ndim == 3 else lonlat


class GeoParquetEmbeddingWriter(EmbeddingWriter):
    """GeoParquet 1.1 output: input columns, WKB geometry with ``geo`` metadata, embeddings."""

    def __init__(
        self, path: Path, embed_dim: int, *, wide: bool = False, encoding: OutputEncoding | None = None
    ) -> None:
        super().__init__(path, embed_dim, wide=wide, encoding=encoding)
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def _write(self, embeddings: np.ndarray, attributes: pd.DataFrame | None, lonlat: np.ndarray | None) -> None:
        table, geo = self._table(embeddings, attributes, lonlat)
        if self._writer is None:
            metadata = {b"geo": json.dumps(geo).encode()}
            if self.encoding.quantization is not None:
                metadata[QUANTIZATION_METADATA_KEY] = self.encoding.quantization.to_json().encode()
            self._schema = table.schema.with_metadata(metadata)
            self._writer = pq.ParquetWriter(self.path, self._schema)
        assert self._schema is not None
        table = table.replace_schema_metadata(self._schema.metadata)
        if not table.schema.equals(self._schema, check_metadata=False):
            table = self._conform(table)
        self._writer.write_table(table)

    def _conform(self, table: pa.Table) -> pa.Table:
        """Cast a later block to the schema fixed by the first block."""
        assert self._schema is not None
        if table.schema.names != self._schema.names:
            raise ValueError(f"columns changed between blocks: {table.schema.names} vs {self._schema.names}")
        columns = []
        for column, target in zip(table.columns, self._schema, strict=True):
            if column.type.equals(target.type):
                columns.append(column)
                continue
            try:
                columns.append(column.cast(target.type, safe=True))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(
                    f"column {target.name!r} holds {column.type} values after having held {target.type}; "
                    "give it a consistent type"
                ) from None
        return pa.Table.from_arrays(columns, schema=self._schema)

    def _table(
        self, embeddings: np.ndarray, attributes: pd.DataFrame | None, lonlat: np.ndarray | None
    ) -> tuple[pa.Table, dict[str, Any]]:
        n = embeddings.shape[0]
        frame = attributes if attributes is not None else pd.DataFrame(index=pd.RangeIndex(n))
        primary = frame.active_geometry_name if isinstance(frame, gpd.GeoDataFrame) else None
        geometry_columns = _geometry_columns(frame)
        if primary not in geometry_columns:
            primary = None
        names: list[str] = []
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for name in frame.columns:
            names.append(str(name))
            if name in geometry_columns:
                values = np.asarray(frame[name].array, dtype=object)
                arrays.append(pa.array(shapely.to_wkb(values, flavor="iso"), type=pa.binary()))
            else:
                arrays.append(_to_arrow(frame[name]))
        if primary is not None:
            geometry_name = str(primary)
            crs = frame.crs
            geometry_types: list[str] = []
        else:
            if lonlat is None:
                raise ValueError("GeoParquet output needs lon/lat for rows without a geometry")
            geometry_name = "geometry"
            while geometry_name in names:
                geometry_name += "_point"
            points = _first_sample(lonlat)
            names.append(geometry_name)
            arrays.append(pa.array(shapely.to_wkb(shapely.points(points), flavor="iso"), type=pa.binary()))
            crs = CRS.from_epsg(4326)
            geometry_types = ["Point"]
        new = embedding_column_names(self.embed_dim) if self.wide else [EMBEDDING_COLUMN]
        _check_conflicts(names, new)
        stored = self.encoding.encode(embeddings)
        arrow_type = _ARROW_TYPES[str(stored.dtype)]
        if self.wide:
            names.extend(new)
            arrays.extend(pa.array(stored[:, i], type=arrow_type) for i in range(self.embed_dim))
        else:
            values = pa.array(np.ascontiguousarray(stored).reshape(-1), type=arrow_type)
            names.append(EMBEDDING_COLUMN)
            arrays.append(pa.FixedSizeListArray.from_arrays(values, self.embed_dim))
        geo = {
            "version": GEOPARQUET_VERSION,
            "primary_column": geometry_name,
            "columns": {
                geometry_name: {
                    "encoding": "WKB",
                    "geometry_types": geometry_types,
                    "crs": None if crs is None else CRS.from_user_input(crs).to_json_dict(),
                }
            },
            "creator": {"library": "satclip"},
        }
        return pa.Table.from_arrays(arrays, names=names), geo

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


def _to_arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """One pandas column as Arrow (NaN in float/object columns becomes null)."""
    if isinstance(series.dtype, pd.ArrowDtype):
        return pa.array(series)
    return pa.Array.from_pandas(series)


class CsvEmbeddingWriter(EmbeddingWriter):
    """CSV output: input columns (geometry as WKT) followed by ``emb_000 ... emb_{D-1}``."""

    def __init__(
        self, path: Path, embed_dim: int, *, wide: bool = False, encoding: OutputEncoding | None = None
    ) -> None:
        super().__init__(path, embed_dim, wide=wide, encoding=encoding)
        self._handle: IO[str] | None = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._names = embedding_column_names(self.embed_dim)

    def _write(self, embeddings: np.ndarray, attributes: pd.DataFrame | None, lonlat: np.ndarray | None) -> None:
        assert self._handle is not None
        n = embeddings.shape[0]
        if attributes is None:
            frame = pd.DataFrame(index=pd.RangeIndex(n))
        else:
            frame = pd.DataFrame(attributes).copy()
            for name in _geometry_columns(attributes):
                values = np.asarray(attributes[name].array, dtype=object)
                frame[name] = shapely.to_wkt(values, rounding_precision=-1)
            frame.columns = [str(name) for name in frame.columns]
            _check_conflicts(list(frame.columns), self._names)
        frame = frame.reset_index(drop=True)
        emb = pd.DataFrame(embeddings, columns=self._names)
        block = pd.concat([frame, emb], axis=1)
        block.to_csv(self._handle, header=self.rows_written == 0, index=False, lineterminator="\n")

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()


class NpyEmbeddingWriter(EmbeddingWriter):
    """``.npy`` output: the float32 ``[N, D]`` embedding matrix only (NPY format version 1.0).

    Blocks are appended sequentially after a fixed-size header, which is rewritten with the
    final row count at the end: memory stays bounded and ``N`` need not be known upfront.
    """

    HEADER_BYTES = 128  # magic + version + length + dict, padded; fits any (N, D) shape

    def __init__(
        self, path: Path, embed_dim: int, *, wide: bool = False, encoding: OutputEncoding | None = None
    ) -> None:
        super().__init__(path, embed_dim, wide=wide, encoding=encoding)
        self._handle: IO[bytes] | None = open(path, "wb")  # noqa: SIM115
        self._handle.write(npy_header((0, self.embed_dim), self.HEADER_BYTES))

    def _write(self, embeddings: np.ndarray, attributes: pd.DataFrame | None, lonlat: np.ndarray | None) -> None:
        assert self._handle is not None
        self._handle.write(np.ascontiguousarray(embeddings, dtype="<f4").tobytes())

    def finish(self) -> None:
        super().finish()
        assert self._handle is not None
        self._handle.seek(0)
        self._handle.write(npy_header((self.rows_written, self.embed_dim), self.HEADER_BYTES))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()


def npy_header(shape: tuple[int, ...], size: int) -> bytes:
    """An NPY 1.0 header for a C-order little-endian float32 array of ``shape``, padded to ``size`` bytes."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}"
    body = size - 10  # magic (6) + version (2) + header length (2)
    if len(text) + 1 > body:
        raise ValueError(f"shape {shape} does not fit an NPY header of {size} bytes")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", body) + (text.ljust(body - 1) + "\n").encode("latin1")
