"""Embed every pixel of a :class:`~satclip_cli.geo.raster_grid.RasterGrid` into a multi-band Cloud-Optimized GeoTIFF.

Pixel ``(row, col)`` of band ``k`` holds component ``k`` of ``embed_fn`` applied to the (lon, lat) of the pixel's
centre. The grid is processed tile by tile (``block_size`` x ``block_size`` pixels), so memory stays bounded by
one tile's embeddings (``block_size**2 * embed_dim * 4`` bytes, 256 MiB for 512 px and 256 bands) whatever the
raster size. Tiles go to an uncompressed, band-interleaved tiled GeoTIFF in a temporary folder beside the
output; GDAL adds overviews to it, then its COG driver compresses it into the final file through
:func:`~satclip_cli.utils.atomic_output.atomic_output`, so an error or Ctrl-C leaves neither a partial output nor
temporary files, and never touches an existing output. Both temporaries carry the writer's ``pid@host``; those of
a run killed with SIGKILL are removed by the next run writing the same output
(:func:`~satclip_cli.utils.temporary_files.remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.embedding.quantize import INT8_NODATA, OutputEncoding
from satclip_cli.errors import DiskFullError, InputError, setting
from satclip_cli.utils.atomic_output import atomic_output, check_output_path
from satclip_cli.utils.disk_space import format_bytes, free_bytes
from satclip_cli.utils.progress import progress_bar
from satclip_cli.utils.temporary_files import remove_leftovers, temporary_dir_beside

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid  # the model as a plain function; this module does not need torch
    from satclip_cli.models.inference import EmbedFn

#: Internal tile size of the output COG, in pixels. Tiles are pixel-interleaved (GDAL 3.10's COG driver has
#: no band interleaving), so one tile holds all bands: 256 x 256 x 256 bands x 4 B = 64 MiB uncompressed.
COG_BLOCKSIZE = 256
#: Resampling used for the COG's overviews (NaN nodata is excluded from averages). Overviews are built while
#: the side is larger than COG_BLOCKSIZE, with factors 2, 4, 8, ...
OVERVIEW_RESAMPLING = "AVERAGE"
#: Compression methods accepted by :func:`embed_raster`, all used with the floating-point predictor. (GDAL 3.10's
#: COG driver with COMPRESS=NONE writes a band-interleaved file without the COG layout, so that is not offered.)
COMPRESSIONS = ("zstd", "deflate", "lzw")


def band_description(index: int) -> str:
    """Description of 0-based band ``index``: ``emb_000``, ``emb_001``, ... (band ``index + 1`` in GDAL)."""
    return f"emb_{index:03d}"


@dataclass(frozen=True)
class RasterEmbeddingSummary:
    """What :func:`embed_raster` wrote and how fast.

    Attributes:
        output_path: the COG written.
        preview_path: the PCA preview PNG, or None.
        width, height: grid size in pixels.
        bands: number of bands (``embed_dim``).
        pixels: ``width * height``.
        valid_pixels: pixels with a valid (lon, lat) centre, i.e. not nodata.
        seconds: wall time of the whole call (embedding, COG conversion and preview).
        embed_seconds: wall time of the tile loop (pixel centres, ``embed_fn``, writing the tiles).
        pixels_per_second: ``pixels / seconds``.
        output_bytes: size of the COG file.
    """

    output_path: Path
    preview_path: Path | None
    width: int
    height: int
    bands: int
    pixels: int
    valid_pixels: int
    seconds: float
    embed_seconds: float
    pixels_per_second: float
    output_bytes: int

    @classmethod
    def of_grid(
        cls,
        grid: RasterGrid,
        *,
        output_path: Path,
        preview_path: Path | None,
        bands: int,
        valid_pixels: int,
        seconds: float,
        embed_seconds: float,
        output_bytes: int,
    ) -> RasterEmbeddingSummary:
        """The summary of a run over ``grid``: its size and the rate follow from the grid and ``seconds``."""
        return cls(
            output_path=output_path,
            preview_path=preview_path,
            width=grid.width,
            height=grid.height,
            bands=bands,
            pixels=grid.n_pixels,
            valid_pixels=valid_pixels,
            seconds=seconds,
            embed_seconds=embed_seconds,
            pixels_per_second=grid.n_pixels / seconds if seconds > 0 else math.inf,
            output_bytes=output_bytes,
        )


def embed_raster(
    output_path: str | os.PathLike,
    grid: RasterGrid,
    embed_fn: EmbedFn,
    embed_dim: int,
    *,
    overwrite: bool = False,
    block_size: int = 512,
    preview_path: str | os.PathLike | None = None,
    progress: bool = True,
    compress: str = "zstd",
    encoding: OutputEncoding | None = None,
) -> RasterEmbeddingSummary:
    """Write the embedding of every pixel centre of ``grid`` as a float32 COG with ``embed_dim`` bands.

    Args:
        output_path: the ``.tif`` to write; refused if it exists unless ``overwrite``.
        grid: the pixel grid; the output has exactly its CRS, transform, width and height.
        embed_fn: maps float64 ``[n, 2]`` (lon, lat) degrees to ``[n, embed_dim]`` embeddings (cast to float32).
            Called once per tile with the tile's valid pixel centres in row-major order, ``n <= block_size**2``;
            batch inside ``embed_fn`` if the model needs smaller batches.
        embed_dim: number of bands ``D``; band ``k + 1`` is described ``emb_{k:03d}``.
        overwrite: replace existing ``output_path`` / ``preview_path``.
        block_size: tile side in pixels for the processing loop (memory ~ ``block_size**2 * D * 8`` bytes).
        preview_path: if given, also write a PCA RGB preview PNG there
            (:func:`satclip_cli.embedding.pca_preview.write_pca_preview`).
        progress: show a rich progress bar with pixels/s on stderr.
        compress: ``"zstd"`` (default, fastest), ``"deflate"`` or ``"lzw"``, all with the floating-point
            predictor.
        encoding: float32 (default) or int8 levels (band scale/offset set, nodata -128; GDAL and rasterio's
            ``scales``/``offsets`` give ``value = q * scale + offset``). float16 is refused: GDAL 3.10 has no
            Float16 GeoTIFF.

    Pixels whose centre has no valid (lon, lat) (see :meth:`RasterGrid.pixel_centers_lonlat`) are NaN in all
    bands; the nodata value is NaN.

    Raises:
        OutputExistsError: ``output_path`` or ``preview_path`` exists and not ``overwrite`` (checked first).
        InputError: bad ``embed_dim``/``block_size``/``compress``, output folder missing.
        SatclipError: not enough free disk space for the temporary raster.
        ValueError: ``embed_fn`` returned an array of the wrong shape.
    """
    started = time.perf_counter()
    output_path = check_output_path(output_path, overwrite)
    if preview_path is not None:
        preview_path = check_output_path(preview_path, overwrite)
        if preview_path.resolve() == output_path.resolve():
            raise InputError("the preview PNG and the output raster must be different files")
    if isinstance(embed_dim, bool) or int(embed_dim) != embed_dim or embed_dim < 1:
        raise InputError(f"embed_dim must be a positive integer, got {embed_dim!r}")
    embed_dim = int(embed_dim)
    if isinstance(block_size, bool) or int(block_size) != block_size or block_size < 16:
        raise InputError(f"block_size must be an integer >= 16, got {block_size!r}")
    block_size = int(block_size)
    compress = compress.lower()
    if compress not in COMPRESSIONS:
        raise InputError(f"compress must be one of {', '.join(COMPRESSIONS)}, got {compress!r}")
    encoding = encoding or OutputEncoding()
    if encoding.dtype == "float16":
        raise InputError(
            f"GeoTIFF output cannot hold float16 (GDAL 3.10 has no Float16 GeoTIFF); write .zarr or use "
            f"{setting('quantize')} int8"
        )
    remove_leftovers(output_path)  # of a killed run, before the free space is measured
    _check_disk_space(output_path, temporary_raster_bytes(grid.width, grid.height, embed_dim, encoding))

    with atomic_output(output_path, overwrite) as tmp_path:
        workdir = temporary_dir_beside(output_path)
        try:
            intermediate = workdir / "embedding.tif"
            loop_start = time.perf_counter()
            with progress_bar(progress, grid.n_pixels, "Embedding pixels", unit="pixels") as advance:
                valid_pixels = _write_tiles(intermediate, grid, embed_fn, embed_dim, block_size, advance, encoding)
            embed_seconds = time.perf_counter() - loop_start
            with progress_bar(progress, None, "Overviews and COG", unit="pixels"):
                _build_overviews(intermediate)
                _to_cog(intermediate, tmp_path, compress, predictor="2" if encoding.is_int8 else "3")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            _remove_sidecars(tmp_path)

    if preview_path is not None:
        from satclip_cli.embedding.pca_preview import write_pca_preview

        with progress_bar(progress, None, "PCA preview", unit="pixels"):
            write_pca_preview(output_path, preview_path, overwrite=overwrite)

    seconds = time.perf_counter() - started
    return RasterEmbeddingSummary.of_grid(
        grid,
        output_path=output_path,
        preview_path=preview_path,
        bands=embed_dim,
        valid_pixels=valid_pixels,
        seconds=seconds,
        embed_seconds=embed_seconds,
        output_bytes=output_path.stat().st_size,
    )


def _write_tiles(
    path: Path,
    grid: RasterGrid,
    embed_fn: EmbedFn,
    embed_dim: int,
    block_size: int,
    advance: Callable[[int], None],
    encoding: OutputEncoding,
) -> int:
    """Embed the grid tile by tile into an uncompressed tiled GTiff at ``path``; return the valid pixel count."""
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": embed_dim,
        "dtype": "int8" if encoding.is_int8 else "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": INT8_NODATA if encoding.is_int8 else float("nan"),
        "tiled": True,
        "blockxsize": COG_BLOCKSIZE,
        "blockysize": COG_BLOCKSIZE,
        "interleave": "band",
        "compress": "none",
        # Always BigTIFF: IF_NEEDED does not count the overviews added later, which can pass 4 GiB.
        "BIGTIFF": "YES",
    }
    valid_pixels = 0
    import rasterio

    with rasterio.open(path, "w", **profile) as dst:
        for band in range(embed_dim):
            dst.set_band_description(band + 1, band_description(band))
        if encoding.quantization is not None:
            q = encoding.quantization
            dst.scales = tuple(np.broadcast_to(q.scale, (embed_dim,)).tolist())
            dst.offsets = tuple(np.broadcast_to(q.offset, (embed_dim,)).tolist())
        for window in grid.windows(block_size):
            h, w = int(window.height), int(window.width)
            lonlat, valid = grid.pixel_centers_lonlat(window)
            n_valid = int(valid.sum())
            tile = np.full((embed_dim, h * w), np.nan, dtype=np.float32)
            if n_valid:
                emb = np.asarray(embed_fn(lonlat if n_valid == h * w else lonlat[valid]))
                if emb.shape != (n_valid, embed_dim):
                    raise ValueError(
                        f"embed_fn returned an array of shape {emb.shape} for {n_valid} points; "
                        f"expected ({n_valid}, {embed_dim})"
                    )
                transpose_into(tile, emb, None if n_valid == h * w else np.flatnonzero(valid))
                del emb
            dst.write(encoding.encode(tile.reshape(embed_dim, h, w), band_axis=0), window=window)
            valid_pixels += n_valid
            advance(h * w)
    return valid_pixels


def transpose_into(tile: np.ndarray, emb: np.ndarray, columns: np.ndarray | None, chunk: int = 1024) -> None:
    """``tile[:, columns] = emb.T`` (all columns when None), in chunks of rows that stay in the CPU cache.

    ``tile`` is float32 ``[D, n_pixels]``, ``emb`` is ``[n, D]``. A plain strided ``emb.T`` copy of a 512 px,
    256-band tile takes ~4x longer than this chunked copy.
    """
    for start in range(0, emb.shape[0], chunk):
        part = emb[start : start + chunk].T
        if columns is None:
            tile[:, start : start + chunk] = part
        else:
            tile[:, columns[start : start + chunk]] = part


def overview_factors(width: int, height: int, blocksize: int = COG_BLOCKSIZE) -> list[int]:
    """Overview decimation factors 2, 4, 8, ... the COG driver would choose: halve until both sides <= blocksize."""
    factors = []
    factor = 2
    while width > blocksize or height > blocksize:
        factors.append(factor)
        factor *= 2
        width //= 2
        height //= 2
    return factors


def _build_overviews(path: Path) -> None:
    """Add internal overviews (NaN-aware average) to the band-interleaved intermediate GTiff ``path``.

    GDAL's COG driver could generate them itself, but for many pixel-interleaved bands it rewrites partial
    compressed tiles of its temporary overview file over and over (a 1024 x 512 x 256-band raster took
    minutes and a 15 GB temporary file). Building them per band on the uncompressed band-interleaved
    intermediate takes seconds, and the COG driver copies existing overviews as they are.
    """
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path, "r+") as ds:
        factors = overview_factors(ds.width, ds.height)
        if factors:
            ds.build_overviews(factors, Resampling[OVERVIEW_RESAMPLING.lower()])


def _to_cog(src: Path, dst: Path, compress: str, predictor: str = "3") -> None:
    """Convert the tiled GTiff ``src`` (with its overviews) into a compressed COG at ``dst``."""
    options: dict[str, str] = {
        "BLOCKSIZE": str(COG_BLOCKSIZE),
        "OVERVIEWS": "FORCE_USE_EXISTING",
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "ALL_CPUS",
        "COMPRESS": compress.upper(),
        "PREDICTOR": predictor,
    }
    if compress == "zstd":
        options["LEVEL"] = "3"
    import rasterio
    import rasterio.shutil

    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        rasterio.shutil.copy(src, dst, driver="COG", **options)


def _remove_sidecars(path: Path) -> None:
    """Delete files GDAL may leave beside ``path`` (``<path>.ovr.tmp``, ``<path>.aux.xml``, ...)."""
    prefix = path.name + "."
    with contextlib.suppress(OSError):
        for sidecar in path.parent.iterdir():
            if sidecar.name.startswith(prefix):
                with contextlib.suppress(OSError):
                    sidecar.unlink()


def temporary_raster_bytes(width: int, height: int, bands: int, encoding: OutputEncoding) -> int:
    """Bytes on disk while a ``width`` x ``height`` px raster of ``bands`` is made: the uncompressed temporary
    GTiff and its overviews, each level padded to whole :data:`COG_BLOCKSIZE` tiles (a 30 x 30 px grid takes
    one 256 x 256 px tile per band: 64 MiB for 256 float32 bands), plus the COG being written beside it
    (counted uncompressed: noisy float embeddings compress little)."""
    itemsize = 1 if encoding.is_int8 else 4
    tiles = cog = 0
    for factor in (1, *overview_factors(width, height)):
        level_w, level_h = math.ceil(width / factor), math.ceil(height / factor)
        tiles += math.ceil(level_w / COG_BLOCKSIZE) * math.ceil(level_h / COG_BLOCKSIZE)
        cog += level_w * level_h
    return (tiles * COG_BLOCKSIZE**2 + cog) * bands * itemsize


def _check_disk_space(output_path: Path, needed: int) -> None:
    """Refuse to start when the output's folder cannot hold the temporary raster and the COG (``needed`` bytes)."""
    free = free_bytes(output_path.parent)
    if free is not None and needed > free:
        raise DiskFullError(
            f"not enough disk space for {output_path}: its temporary raster and the COG need about "
            f"{format_bytes(needed)}, {format_bytes(free)} free in {output_path.parent}; "
            "use a coarser resolution, a smaller bbox or fewer bands"
        )
