"""Delimited text tables (``.csv``, ``.tsv``, ``.txt``), read with pandas in chunks.

The separator is sniffed from the header (comma, tab, semicolon, pipe, else white space). A first pass
settles each column's type over the whole file (so every chunk agrees) and counts the rows. A table
without recognised lon/lat column names may carry its geometry as WKT in a column named like
:data:`WKT_NAMES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from satclip_cli.errors import InputError, one_line
from satclip_cli.geo.vector.columns import has_lonlat_names
from satclip_cli.geo.vector.reader import FormatReader, guarded, reading

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
"""File name suffixes (lower case) read as delimited text."""

WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geometry", "shape")
"""Column names recognised as WKT geometry in delimited text files (case-insensitive)."""


def open_csv(path: Path, chunk_size: int, *, detect_wkt: bool) -> FormatReader:
    """Open a delimited text file, ``chunk_size`` rows per batch.

    Args:
        path: the file (UTF-8, an optional BOM).
        chunk_size: rows per batch.
        detect_wkt: look for a WKT geometry column when the table has no lon/lat column names.

    Raises:
        InputError: an empty or non-UTF-8 file, a parse error, invalid WKT (naming the row).
    """
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
        raise InputError(f"cannot read {path} as a delimited table: {one_line(error)}") from None
    dtypes = {name: _settled_dtype(classes.get(name), missing.get(name, False)) for name in columns}

    wkt_column = None
    if detect_wkt and not has_lonlat_names(columns):
        wkt_column = next((name for name in columns if name.lower() in WKT_NAMES and dtypes[name] is str), None)

    def batches() -> Iterator[pd.DataFrame]:
        start = 0
        with reading(path):
            stream = pd.read_csv(path, chunksize=chunk_size, dtype=dtypes, **options)
        with stream:
            for block in guarded(stream, path):
                if wkt_column is not None:
                    block[wkt_column] = _parse_wkt(block[wkt_column], wkt_column, start, path)
                start += len(block)
                yield block

    fmt = {",": "CSV", "\t": "TSV"}.get(sep, "delimited text")
    return FormatReader(fmt, columns, wkt_column, None, total, batches)


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


def _parse_wkt(values: pd.Series, column: str, start: int, path: Path) -> np.ndarray:
    """WKT text -> shapely geometries (None where missing), naming the first row with invalid WKT."""
    text = np.asarray(values.astype(object).where(values.notna(), None), dtype=object)
    geoms = shapely.from_wkt(text, on_invalid="ignore")
    bad = shapely.is_missing(geoms) & ~pd.isna(text)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        snippet = str(text[row])[:40]
        raise InputError(f"{path}: row {start + row} has invalid WKT in column {column!r}: {snippet!r}")
    return geoms
