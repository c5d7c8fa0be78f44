"""Vector inputs as numbered partitions, and their embeddings as a GeoParquet dataset folder.

The input is cut into partitions of at most ``rows`` consecutive rows, in input order: chunks of a single
file (any format :func:`~satclip_cli.geo.vector.open_point_source` reads; for GeoParquet the chunks follow the
file's rows across its row groups), or, for a folder, the chunks of each ``.parquet``/``.geoparquet``/``.csv``
file in it, files in name order. Partition ``i`` becomes ``OUT.parquet/part-{i:05d}.parquet``, each written
atomically (temporary ``.part-*`` file + rename), so the part files in name order are the input rows in order,
and ``geopandas.read_parquet(OUT.parquet)`` / ``pyarrow.dataset.dataset(OUT.parquet)`` read them as one table
(both skip the hidden bookkeeping files). A part that exists is finished: a re-run skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip_cli.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from satclip_cli.geo.vector import PointSource

PART_SUFFIXES = (".parquet", ".geoparquet", ".csv")
"""Files of an input folder that are read as parts, in name order."""


def part_name(index: int) -> str:
    """``part-00000.parquet`` ... for partition ``index`` (0-based, input order)."""
    return f"part-{index:05d}.parquet"


def finished_parts(folder: Path) -> set[int]:
    """Indices of the parts already written to ``folder``."""
    done = set()
    for path in folder.glob("part-*.parquet"):
        number = path.stem.removeprefix("part-")
        if number.isdigit():
            done.add(int(number))
    return done


def input_files(path: Path) -> list[Path]:
    """``[path]`` for a file; the part files of a folder in name order.

    Raises:
        InputError: a folder without any ``.parquet``/``.geoparquet``/``.csv`` file.
    """
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in PART_SUFFIXES and not p.name.startswith((".", "_")))
    if not files:
        raise InputError(f"input folder {path} holds no {'/'.join(PART_SUFFIXES)} files")
    return files


@dataclass
class Partition:
    """Partition ``index`` of the input: its rows and their (lon, lat) degrees (``[n, 2]`` or ``[n, K, 2]``)."""

    index: int
    attributes: pd.DataFrame
    lonlat: np.ndarray

    def __len__(self) -> int:
        return len(self.attributes)


def iter_partitions(sources: list[PointSource], skip: set[int] | None = None) -> Iterator[Partition | int]:
    """Partitions of the opened input files in input order; a partition in ``skip`` is yielded as its row count.

    Each source's ``chunk_size`` is the partition size.
    """
    skip = skip or set()
    index = 0
    for source in sources:
        for chunk in source.iter_chunks():
            if index in skip:
                yield len(chunk)
            else:
                yield Partition(index=index, attributes=chunk.attributes, lonlat=chunk.lonlat)
            index += 1


def total_rows(sources: list[PointSource]) -> int | None:
    """Rows of all sources if each knows its total cheaply, else None."""
    totals = [source.total for source in sources]
    return None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
