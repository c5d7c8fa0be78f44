"""What every vector format reader provides, and the plumbing they share.

A format module (:mod:`~satclip_cli.geo.vector.ogr`, :mod:`~satclip_cli.geo.vector.geoparquet`,
:mod:`~satclip_cli.geo.vector.delimited`) opens a file into a :class:`FormatReader`: the file's metadata
plus a factory of attribute batches. This module also regroups batches into chunks of a fixed size,
turns any library's read error into a one-line :class:`~satclip_cli.errors.InputError`, and names and
parses coordinate reference systems.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from satclip_cli.errors import InputError, one_line

T = TypeVar("T")
_END: Any = object()


@dataclass
class FormatReader:
    """Format-specific part of a point source: metadata plus a factory of attribute batches.

    Attributes:
        format: short name of the reader, e.g. ``"GPKG"``, ``"GeoParquet"``, ``"CSV"``.
        columns: the input's column names in order (including the geometry column, if any).
        geometry_column: name of the geometry column in the batches, None when the input has none.
        crs: the CRS the file declares, None when it declares none (or for tables without geometry).
        total: number of rows if cheaply known, else None.
        batches: yields DataFrames whose geometry column (if any) holds shapely geometries (object
            dtype, None for nulls).
    """

    format: str
    columns: list[str]
    geometry_column: str | None
    crs: CRS | None
    total: int | None
    batches: Callable[[], Iterator[pd.DataFrame]]


def with_geometry(reader: FormatReader, crs: CRS) -> Callable[[], Iterator[pd.DataFrame]]:
    """Wrap ``reader.batches`` so each batch becomes a GeoDataFrame with ``crs``."""
    geometry = reader.geometry_column

    def batches() -> Iterator[pd.DataFrame]:
        for frame in reader.batches():
            yield gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)

    return batches


def rechunk(batches: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
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
def reading(path: Path) -> Iterator[None]:
    """Turn a library's read error into a one-line :class:`InputError`; silence its warnings."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except (InputError, KeyboardInterrupt):
        raise
    except Exception as error:  # pyogrio, pyarrow and pandas raise many different types
        raise InputError(f"error while reading {path}: {one_line(error)}") from None


def guarded(stream: Iterable[T], path: Path) -> Iterator[T]:
    """Iterate ``stream``, translating errors raised while reading (not by the consumer) via :func:`reading`."""
    iterator = iter(stream)
    while True:
        with reading(path):
            item = next(iterator, _END)
        if item is _END:
            return
        yield item


def crs_name(crs: CRS) -> str:
    """``AUTHORITY:CODE`` of ``crs`` when it has one (e.g. ``EPSG:3857``), else its name."""
    authority = crs.to_authority(min_confidence=90)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def parse_crs(value: object, path: Path) -> CRS:
    """The CRS ``value`` (WKT, PROJJSON, ``EPSG:...``) declared by ``path``.

    Raises:
        InputError: if pyproj cannot understand it.
    """
    try:
        return CRS.from_user_input(value)
    except CRSError as error:
        raise InputError(f"{path}: cannot understand its CRS: {error}") from None
