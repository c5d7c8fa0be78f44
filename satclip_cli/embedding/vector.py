"""Embed every row of a vector file or point table and stream the result to an output file.

:func:`embed_vector_file` wires :mod:`satclip_cli.geo.vector` (chunks of (lon, lat) points)
to :mod:`satclip_cli.embedding.writers` (GeoParquet / CSV / .npy) through a model given as a
plain function ``embed_fn: float64 [n, 2] (lon, lat) degrees -> float32 [n, D]``, so this
module does not depend on torch. Memory stays bounded by ``chunk_size`` rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.embedding.quantize import OutputEncoding
from satclip_cli.embedding.writers import open_embedding_writer, output_format
from satclip_cli.geo.vector import PolygonMode, open_point_source
from satclip_cli.utils.atomic_output import check_output_path
from satclip_cli.utils.progress import progress_bar

if TYPE_CHECKING:  # the model as a plain function; this module does not need torch
    from satclip_cli.models.inference import EmbedFn


@dataclass(frozen=True)
class VectorEmbeddingSummary:
    """What :func:`embed_vector_file` did.

    Attributes:
        rows: rows (features) embedded and written.
        seconds: wall-clock time of the whole run (reading, embedding, writing).
        points_per_second: ``rows / seconds``.
        output_path: the file written.
        crs_assumed: the input had no CRS and EPSG:4326 was assumed.
        input_format: reader used, e.g. ``"GPKG"``, ``"GeoParquet"``, ``"CSV"``.
        output_format: ``"geoparquet"``, ``"csv"`` or ``"npy"``.
        embed_dim: ``D``.
        samples_per_row: points averaged per row (``samples`` in ``"mean"`` mode, else 1).
    """

    rows: int
    seconds: float
    points_per_second: float
    output_path: Path
    crs_assumed: bool
    input_format: str
    output_format: str
    embed_dim: int
    samples_per_row: int


def embed_lonlat(lonlat: np.ndarray, embed_fn: EmbedFn, embed_dim: int) -> np.ndarray:
    """Embed ``[n, 2]`` (lon, lat) degrees, or average over the samples of ``[n, K, 2]``.

    In the ``[n, K, 2]`` case ``embed_fn`` sees the flattened ``[n*K, 2]`` points, except for rows
    whose ``K`` samples are all the same point (points in ``"mean"`` mode), which are embedded once.

    Returns:
        float32 ``[n, embed_dim]``.

    Raises:
        ValueError: ``embed_fn`` returned an array of the wrong shape.
    """
    lonlat = np.asarray(lonlat, dtype=np.float64)
    if lonlat.ndim == 2:
        return _call(embed_fn, lonlat, embed_dim)
    if lonlat.ndim != 3 or lonlat.shape[2] != 2:
        raise ValueError(f"expected (lon, lat) of shape [n, 2] or [n, K, 2], got {lonlat.shape}")
    n, samples, _ = lonlat.shape
    out = np.empty((n, embed_dim), dtype=np.float32)
    single = (lonlat == lonlat[:, :1, :]).all(axis=(1, 2))
    if single.any():
        out[single] = _call(embed_fn, lonlat[single, 0, :], embed_dim)
    spread = np.flatnonzero(~single)
    if spread.size:
        flat = lonlat[spread].reshape(-1, 2)
        embedded = _call(embed_fn, flat, embed_dim).reshape(spread.size, samples, embed_dim)
        out[spread] = embedded.mean(axis=1, dtype=np.float64)
    return out


def _call(embed_fn: EmbedFn, lonlat: np.ndarray, embed_dim: int) -> np.ndarray:
    result = np.asarray(embed_fn(np.ascontiguousarray(lonlat, dtype=np.float64)))
    expected = (lonlat.shape[0], embed_dim)
    if result.shape != expected:
        raise ValueError(f"embed_fn returned shape {result.shape} for {lonlat.shape[0]} points; expected {expected}")
    return result.astype(np.float32, copy=False)


def embed_vector_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    embed_fn: EmbedFn,
    embed_dim: int,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    polygon_mode: PolygonMode = "representative",
    samples: int = 16,
    wide: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    chunk_size: int = 65536,
    progress: bool = True,
    layer: str | int | None = None,
    on_warning: Callable[[str], None] | None = None,
    encoding: OutputEncoding | None = None,
) -> VectorEmbeddingSummary:
    """Embed each row of ``input_path`` and write the rows with their embeddings to ``output_path``.

    Args:
        input_path: any vector file pyogrio reads, GeoParquet, or CSV/TSV/TXT with lon/lat (or WKT) columns.
        output_path: ``.parquet``/``.geoparquet``, ``.csv`` or ``.npy`` (see :mod:`satclip_cli.embedding.writers`).
        embed_fn: the model: float64 ``[n, 2]`` (lon, lat) degrees -> float32 ``[n, embed_dim]``.
        embed_dim: ``D``.
        lon_col, lat_col: longitude/latitude columns (degrees); auto-detected when the input has no geometry.
        polygon_mode: ``"representative"`` (one point per row) or ``"mean"`` (embeddings of ``samples``
            points sampled in each geometry, averaged).
        samples: ``K`` for ``"mean"`` mode.
        wide: GeoParquet: ``emb_000...`` columns instead of a single ``embedding`` list column.
        overwrite: replace an existing output (only once the new one is complete).
        seed: sampling seed for ``"mean"`` mode.
        chunk_size: rows read, embedded and written at a time.
        progress: show a progress bar with points/s on stderr.
        layer: layer of a multi-layer input (GeoPackage etc.).
        on_warning: receives one-line warnings (no CRS -> EPSG:4326 assumed); default: :func:`warnings.warn`.
        encoding: stored dtype of the embeddings (GeoParquet: float16 or int8 possible); default float32.

    Raises:
        InputError: bad input (see :func:`~satclip_cli.geo.vector.open_point_source`) or unknown output extension.
        OutputExistsError: the output exists and ``overwrite`` is False (checked before any work).
    """
    started = time.perf_counter()
    fmt = output_format(output_path)
    check_output_path(output_path, overwrite)
    source = open_point_source(
        input_path,
        lon_col=lon_col,
        lat_col=lat_col,
        polygon_mode=polygon_mode,
        samples=samples,
        seed=seed,
        chunk_size=chunk_size,
        layer=layer,
        on_warning=on_warning,
    )
    rows = 0
    with (
        progress_bar(progress, source.total, f"Embedding {Path(input_path).name}") as advance,
        open_embedding_writer(output_path, embed_dim, wide=wide, overwrite=overwrite, encoding=encoding) as writer,
    ):
        for chunk in source.iter_chunks():
            embeddings = embed_lonlat(chunk.lonlat, embed_fn, embed_dim)
            writer.write(embeddings, attributes=chunk.attributes, lonlat=chunk.lonlat)
            rows += len(chunk)
            advance(len(chunk))
    seconds = time.perf_counter() - started
    return VectorEmbeddingSummary(
        rows=rows,
        seconds=seconds,
        points_per_second=rows / seconds if seconds > 0 else float("inf"),
        output_path=Path(output_path),
        crs_assumed=source.crs_assumed,
        input_format=source.format,
        output_format=fmt,
        embed_dim=int(embed_dim),
        samples_per_row=source.samples_per_row,
    )
