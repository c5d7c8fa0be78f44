"""Embedding on a Dask cluster: vector partitions -> GeoParquet dataset parts, raster chunks -> a Zarr store.

The client (this process) reads the input, hands out tasks and draws one progress bar; each task runs on a worker
(:func:`embed_partition_task`, :func:`embed_zarr_chunk_task`, :func:`model_range_task`) and gets the model from
:func:`~satclip_cli.embedding.model.cached_model`, so each worker process loads it once and on its own device.
Workers need the package, the model (file path or cache) and the output path, as the client sees them.
Tasks are idempotent: a task retried after its worker died rewrites the same part or chunk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.embedding.model import ModelSettings, cached_model
from satclip_cli.embedding.partitions import Partition, part_name
from satclip_cli.embedding.quantize import OutputEncoding, model_range
from satclip_cli.embedding.resumable import writing
from satclip_cli.embedding.zarr_writer import ChunkWindow, write_chunk

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid

IN_FLIGHT_PER_WORKER = 2
"""Partitions submitted per worker ahead of the results (bounds the client's and the workers' memory)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the client needs to know of the model, from a worker: its description and ``D``."""

    description: str
    embed_dim: int


def model_info_task(settings: ModelSettings) -> ModelInfo:
    """Worker task: load (or reuse) the model and describe it."""
    model = cached_model(settings)
    return ModelInfo(description=model.description, embed_dim=model.embed_dim)


def model_range_task(settings: ModelSettings) -> tuple[np.ndarray, np.ndarray]:
    """Worker task: per-band ``(low, high)`` of the model over the global sample (for int8 output)."""
    return model_range(cached_model(settings).embed_fn)


def embed_partition_task(
    partition: Partition, *, settings: ModelSettings, folder: str, wide: bool, encoding: OutputEncoding
) -> int:
    """Worker task: embed one partition and write ``folder/part-{index}.parquet`` atomically; return its rows."""
    from satclip_cli.embedding.vector import embed_lonlat
    from satclip_cli.embedding.writers import open_embedding_writer

    model = cached_model(settings)
    embeddings = embed_lonlat(partition.lonlat, model.embed_fn, model.embed_dim)
    path = Path(folder) / part_name(partition.index)
    with (
        writing(path),
        open_embedding_writer(path, model.embed_dim, wide=wide, overwrite=True, encoding=encoding) as writer,
    ):
        writer.write(embeddings, attributes=partition.attributes, lonlat=partition.lonlat)
    return len(partition)


def embed_zarr_chunk_task(
    window: ChunkWindow, *, settings: ModelSettings, folder: str, grid: RasterGrid, encoding: OutputEncoding
) -> tuple[int, int]:
    """Worker task: embed and write one Zarr chunk; return ``(pixels, valid pixels)``."""
    model = cached_model(settings)
    valid = write_chunk(Path(folder), grid, window, model.embed_fn, model.embed_dim, encoding)
    return window[2] * window[3], valid


def timed_submit(client, function, *args, **kwargs):  # noqa: ANN001, ANN201 - thin helper over client.submit
    """``client.submit(function, *args, **kwargs).result()`` with Dask's retries, and its wall time in seconds."""
    from satclip_cli.utils.dask_cluster import TASK_RETRIES

    started = time.perf_counter()
    result = client.submit(function, *args, pure=False, retries=TASK_RETRIES, **kwargs).result()
    return result, time.perf_counter() - started
