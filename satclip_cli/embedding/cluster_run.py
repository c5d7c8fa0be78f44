"""``satclip embed --scheduler``: the client side of a run on a Dask cluster (vector -> GeoParquet dataset, raster
-> Zarr). The tasks are in :mod:`satclip_cli.embedding.cluster`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from satclip_cli.embedding.cluster import (
    IN_FLIGHT_PER_WORKER,
    embed_partition_task,
    embed_zarr_chunk_task,
    model_info_task,
    model_range_task,
)
from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.model import ModelSettings, model_settings
from satclip_cli.embedding.partitions import finished_parts, input_files, iter_partitions, total_rows
from satclip_cli.embedding.quantize import OutputEncoding, Quantization
from satclip_cli.embedding.raster import RasterEmbeddingSummary
from satclip_cli.embedding.resumable import finish_output_folder, open_output_folder
from satclip_cli.embedding.vector import VectorEmbeddingSummary
from satclip_cli.embedding.zarr_run import embed_zarr, grid_settings
from satclip_cli.embedding.zarr_writer import ChunkWindow
from satclip_cli.geo.vector import open_point_source
from satclip_cli.utils.dask_cluster import ClusterError, dask_client, run_tasks
from satclip_cli.utils.progress import progress_bar

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid


def vector_settings(config: EmbedConfig) -> dict[str, Any]:
    """What the parts of a vector dataset depend on (a re-run resumes only with the same values)."""
    assert config.input is not None
    return {
        "model": config.model, "sh_method": config.sh_method, "dtype": config.dtype,
        "input": str(config.input.resolve()), "lon_col": config.lon_col, "lat_col": config.lat_col,
        "layer": config.layer, "polygon_mode": config.polygon_mode, "samples": config.samples, "seed": config.seed,
        "wide": config.wide, "stored": config.stored_dtype, "partition_rows": config.partition_rows,
    }  # fmt: skip


def raster_settings(config: EmbedConfig, grid: RasterGrid) -> dict[str, Any]:
    """What the chunks of a Zarr store depend on."""
    return {
        "model": config.model, "sh_method": config.sh_method, "dtype": config.dtype, "grid": grid_settings(grid),
        "stored": config.stored_dtype, "chunk": config.zarr_chunk,
    }  # fmt: skip


def output_encoding(stored: str, model_range: Callable[[], tuple[Any, Any]]) -> OutputEncoding:
    """The encoding for the stored dtype; int8 asks ``model_range()`` for the per-band range."""
    if stored == "int8":
        return OutputEncoding(dtype="int8", quantization=Quantization.from_range(*model_range()))
    return OutputEncoding(dtype=stored)


def run_on_cluster(
    config: EmbedConfig, grid: RasterGrid | None, *, progress: bool, on_warning: Callable[[str], None] | None
) -> tuple[str, VectorEmbeddingSummary | RasterEmbeddingSummary]:
    """Run ``config`` (validated, ``scheduler`` set) on the cluster; the model description and the summary."""
    assert config.scheduler is not None
    settings = model_settings(config)
    if grid is not None:
        folder, resumed = open_output_folder(config.output, raster_settings(config, grid), overwrite=config.overwrite)
    else:
        folder, resumed = open_output_folder(config.output, vector_settings(config), overwrite=config.overwrite)
    try:
        with dask_client(config.scheduler) as client:
            return _run(config, grid, client, settings, folder, resumed, progress, on_warning)
    except ClusterError:
        if not resumed:  # the scheduler was not reached: nothing was written, leave no empty output behind
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _run(
    config: EmbedConfig,
    grid: RasterGrid | None,
    client: Any,
    settings: ModelSettings,
    folder: Path,
    resumed: bool,
    progress: bool,
    on_warning: Callable[[str], None] | None,
) -> tuple[str, VectorEmbeddingSummary | RasterEmbeddingSummary]:
    info = _load_model_on_every_worker(client, settings, prepare=_import_zarr_writers if grid is not None else None)
    encoding = output_encoding(
        config.stored_dtype, lambda: client.submit(model_range_task, settings, pure=False).result()
    )
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    if grid is not None:

        def run_chunks(store: Path, windows: list[ChunkWindow], stored: OutputEncoding, on_result: Callable) -> None:
            run_tasks(
                client, embed_zarr_chunk_task, windows, on_result=on_result, settings=settings,
                folder=str(store), grid=type(grid)(grid.crs, grid.transform, grid.width, grid.height),
                encoding=stored,
            )  # fmt: skip

        summary = embed_zarr(
            config.output, folder, resumed, grid, info.embed_dim, config.zarr_chunk, encoding, run_chunks,
            progress=progress,
        )  # fmt: skip
        return info.description, summary
    vector = _embed_partitions(
        config, folder, client, settings, encoding, workers, info.embed_dim, progress, on_warning
    )
    return info.description, vector


def _load_model_on_every_worker(client: Any, settings: ModelSettings, prepare: Callable[[], None] | None) -> Any:
    """Load the model on every worker at once (each keeps it for its tasks) and return the first one's
    :class:`ModelInfo`; ``prepare()`` runs in this process meanwhile.

    Otherwise one worker loads the model for the description while the others sit idle, and each of them
    loads it only when its first chunk arrives (on 2 local workers ~1.5 s of torch import and model load each).
    """
    from distributed import as_completed

    workers = list(client.scheduler_info().get("workers", {}))
    futures = [
        client.submit(model_info_task, settings, pure=False, workers=[address], allow_other_workers=True)
        for address in workers
    ] or [client.submit(model_info_task, settings, pure=False)]
    if prepare is not None:
        prepare()
    return next(iter(as_completed(futures, loop=client.loop))).result()


def _import_zarr_writers() -> None:
    """Import what creating a Zarr store needs (xarray, rioxarray, dask.array: ~0.5 s) while the workers load."""
    import dask.array  # noqa: F401
    import rioxarray  # noqa: F401
    import xarray  # noqa: F401


def _embed_partitions(
    config: EmbedConfig,
    folder: Path,
    client: Any,
    settings: Any,
    encoding: OutputEncoding,
    workers: int,
    embed_dim: int,
    progress: bool,
    on_warning: Callable[[str], None] | None,
) -> VectorEmbeddingSummary:
    assert config.input is not None
    started = time.perf_counter()
    sources = [
        open_point_source(
            path,
            lon_col=config.lon_col,
            lat_col=config.lat_col,
            polygon_mode=config.polygon_mode,
            samples=config.samples,
            seed=config.seed,
            chunk_size=config.partition_rows,
            layer=config.layer,
            on_warning=on_warning,
        )  # fmt: skip
        for path in input_files(config.input)
    ]
    rows = 0
    with progress_bar(progress, total_rows(sources), f"Embedding {config.input.name}") as advance:

        def tasks():  # noqa: ANN202 - a generator of partitions; finished ones only advance the bar
            nonlocal rows
            for item in iter_partitions(sources, finished_parts(folder)):
                if isinstance(item, int):
                    rows += item
                    advance(item)
                else:
                    yield item

        def on_result(count: int) -> None:
            nonlocal rows
            rows += count
            advance(count)

        run_tasks(
            client, embed_partition_task, tasks(), on_result=on_result, max_in_flight=IN_FLIGHT_PER_WORKER * workers,
            settings=settings, folder=str(folder), wide=config.wide, encoding=encoding,
        )  # fmt: skip
    finish_output_folder(folder, config.output)
    seconds = time.perf_counter() - started
    first = sources[0]
    return VectorEmbeddingSummary(
        rows=rows,
        seconds=seconds,
        points_per_second=rows / seconds if seconds > 0 else float("inf"),
        output_path=config.output,
        crs_assumed=first.crs_assumed,
        input_format=first.format,
        output_format="geoparquet dataset",
        embed_dim=embed_dim,
        samples_per_row=first.samples_per_row,
    )
