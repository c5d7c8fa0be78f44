"""A raster grid embedded into a Zarr store, chunk by chunk, in this process or by Dask tasks; resumable.

The chunks run through a ``run_chunks(windows, on_result)`` function: in-process, a loop over
:func:`~satclip_cli.embedding.zarr_writer.write_chunk`; on a cluster, :func:`~satclip_cli.utils.dask_cluster.run_tasks`
of :func:`~satclip_cli.embedding.cluster.embed_zarr_chunk_task`. The store is built in place (or, replacing a
complete store with ``overwrite``, beside it and swapped in at the end); see :mod:`satclip_cli.embedding.resumable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from satclip_cli.embedding.quantize import OutputEncoding
from satclip_cli.embedding.raster import RasterEmbeddingSummary
from satclip_cli.embedding.resumable import finish_output_folder, folder_bytes, open_output_folder
from satclip_cli.embedding.zarr_writer import ChunkWindow, chunk_windows, create_store, done_chunks, mark_complete
from satclip_cli.utils.progress import progress_bar

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid

ChunkRunner = Callable[[Path, list[ChunkWindow], OutputEncoding, Callable[[tuple[int, int]], None]], None]
"""``run_chunks(folder, windows, encoding, on_result)``: embed and write every window into the store at ``folder``
with ``encoding`` (the store's); ``on_result((pixels, valid_pixels))`` after each."""


def grid_settings(grid: RasterGrid) -> dict[str, Any]:
    """The grid as JSON-able settings (CRS WKT, transform, size), for the resume check."""
    return {"crs": grid.crs.to_wkt(), "transform": list(grid.transform)[:6], "width": grid.width, "height": grid.height}


def open_zarr_output(output: Path, settings: dict[str, Any], overwrite: bool) -> tuple[Path, bool]:
    """The folder to build the store in and whether it resumes one (see :func:`resumable.open_output_folder`)."""
    return open_output_folder(output, settings, overwrite=overwrite)


def embed_zarr(
    output: Path,
    folder: Path,
    resumed: bool,
    grid: RasterGrid,
    embed_dim: int,
    chunk: int,
    encoding: OutputEncoding,
    run_chunks: ChunkRunner,
    *,
    progress: bool = True,
) -> RasterEmbeddingSummary:
    """Create (or resume) the store in ``folder``, write the chunks not yet written, mark it complete.

    Args:
        output: the ``.zarr`` path the user asked for (``folder`` is swapped in there when it differs).
        folder: from :func:`open_zarr_output`; ``resumed`` says whether it already holds a store.
        grid: the pixel grid; embed_dim: ``D`` bands; chunk: chunk side in pixels.
        encoding: float32, float16 or int8 (CF scale_factor/add_offset, one for the whole variable).
        run_chunks: embeds and writes windows (in-process loop or Dask tasks).
        progress: one progress bar over all pixels.
    """
    started = time.perf_counter()
    if encoding.quantization is not None:
        encoding = OutputEncoding(dtype="int8", quantization=encoding.quantization.overall())
    if not resumed:
        create_store(folder, grid, embed_dim, chunk, encoding)
    done = done_chunks(folder)
    windows = chunk_windows(grid, chunk)
    todo = [w for w in windows if (w[0], w[1]) not in done]
    skipped_pixels = sum(w[2] * w[3] for w in windows if (w[0], w[1]) in done)
    valid_pixels = 0
    with progress_bar(progress, grid.n_pixels, f"Embedding {output.name}", unit="pixels") as advance:
        advance(skipped_pixels)

        def on_result(result: tuple[int, int]) -> None:
            nonlocal valid_pixels
            pixels, valid = result
            valid_pixels += valid
            advance(pixels)

        run_chunks(folder, todo, encoding, on_result)
    mark_complete(folder)
    finish_output_folder(folder, output)
    seconds = time.perf_counter() - started
    return RasterEmbeddingSummary.of_grid(
        grid,
        output_path=output,
        preview_path=None,
        bands=embed_dim,
        valid_pixels=valid_pixels,
        seconds=seconds,
        embed_seconds=seconds,
        output_bytes=folder_bytes(output),
    )
