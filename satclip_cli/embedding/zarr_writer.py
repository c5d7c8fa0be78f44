"""Embeddings of a raster grid as a Zarr store, written chunk by chunk (in-process or by Dask workers).

The store opens with ``xarray.open_zarr`` as one variable ``embedding`` with dims ``("band", "y", "x")``,
pixel-centre coordinates ``x``/``y`` in the grid's CRS, ``band`` (``emb_000`` ...), and the CF grid-mapping
coordinate ``spatial_ref`` (``crs_wkt``, ``spatial_ref``, ``GeoTransform``) that rioxarray and GDAL read. Every
storage chunk covers all bands of a ``chunk`` x ``chunk`` pixel block, and is embedded and written on its own
(:func:`write_chunk`), so workers never write to the same chunk. A chunk is recorded as done (an empty file
``.satclip-chunks/<row>_<col>``) only after its data are written; a re-run writes the chunks not recorded. The
root attribute ``satclip_complete`` is set once every chunk is written (:func:`mark_complete`).

Values are float32 (NaN nodata), float16, or int8 with CF ``scale_factor``/``add_offset`` and ``_FillValue``
-128 (see :mod:`satclip_cli.embedding.quantize`), so xarray decodes them to floats by itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.embedding.quantize import INT8_NODATA, OutputEncoding
from satclip_cli.embedding.raster import transpose_into
from satclip_cli.embedding.resumable import writing

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid
    from satclip_cli.models.inference import EmbedFn

VARIABLE = "embedding"
DONE_FOLDER = ".satclip-chunks"
COMPLETE_ATTRIBUTE = "satclip_complete"
DEFAULT_CHUNK = 256
"""Chunk side in pixels: 256 x 256 pixels x 256 bands is 64 MiB of float32 before compression."""

ZARR_FORMAT = 2
"""Zarr v2: consolidated metadata and xarray's dimension names are standard there, and GDAL reads it."""

ChunkWindow = tuple[int, int, int, int]
"""``(row_off, col_off, height, width)`` of one chunk, in pixels."""


def chunk_windows(grid: RasterGrid, chunk: int) -> list[ChunkWindow]:
    """The storage chunks of ``grid`` in row-major order (edge chunks are smaller)."""
    return [(int(w.row_off), int(w.col_off), int(w.height), int(w.width)) for w in grid.windows(chunk)]


def create_store(folder: Path, grid: RasterGrid, embed_dim: int, chunk: int, encoding: OutputEncoding) -> None:
    """Write the metadata and coordinates of an empty store for ``grid`` into the existing ``folder``."""
    import dask.array as da
    import rioxarray  # noqa: F401 - registers the .rio accessor
    import xarray as xr

    x, _ = grid.pixel_centers(_row(grid, 0))
    _, y = grid.pixel_centers(_column(grid, 0))
    stored = "int8" if encoding.is_int8 else encoding.dtype
    data = da.empty((embed_dim, grid.height, grid.width), chunks=(embed_dim, chunk, chunk), dtype=stored)
    array = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": ("band", np.arange(embed_dim), {"long_name": "embedding dimension (GeoTIFF band - 1)"}),
            "y": ("y", y[:, 0], {"units": _units(grid), "long_name": "y of the pixel centre"}),
            "x": ("x", x[0, :], {"units": _units(grid), "long_name": "x of the pixel centre"}),
        },
        attrs={"long_name": "SatCLIP location embedding of the pixel centre"},
    )
    dataset = xr.Dataset({VARIABLE: array}).rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    dataset.attrs[COMPLETE_ATTRIBUTE] = False
    var_encoding: dict[str, object] = {
        "chunks": (embed_dim, chunk, chunk),
        "dtype": stored,
        "grid_mapping": "spatial_ref",
    }
    if encoding.quantization is not None:
        overall = encoding.quantization
        var_encoding.update(
            scale_factor=np.float32(overall.scale[0]), add_offset=np.float32(overall.offset[0]), _FillValue=INT8_NODATA
        )
    else:
        var_encoding["_FillValue"] = np.nan
    with warnings.catch_warnings():  # the run record beside the store is not part of the Zarr hierarchy
        warnings.filterwarnings("ignore", message=".*not recognized as a component")
        dataset.to_zarr(
            folder, mode="a", compute=False, encoding={VARIABLE: var_encoding}, consolidated=True,
            zarr_format=ZARR_FORMAT,
        )  # fmt: skip
    (folder / DONE_FOLDER).mkdir(exist_ok=True)


def done_chunks(folder: Path) -> set[tuple[int, int]]:
    """``(row_off, col_off)`` of the chunks already written to the store in ``folder``."""
    done = set()
    for marker in (folder / DONE_FOLDER).glob("*_*"):
        row, _, col = marker.name.partition("_")
        if row.isdigit() and col.isdigit():
            done.add((int(row), int(col)))
    return done


def write_chunk(
    folder: Path, grid: RasterGrid, window: ChunkWindow, embed_fn: EmbedFn, embed_dim: int, encoding: OutputEncoding
) -> int:
    """Embed the pixel centres of ``window`` and write them into the store; return the valid pixel count.

    Idempotent: writing a chunk twice (a retried task) stores the same values.
    """
    import zarr
    from rasterio.windows import Window

    row, col, h, w = window
    lonlat, valid = grid.pixel_centers_lonlat(Window(col_off=col, row_off=row, width=w, height=h))
    n_valid = int(valid.sum())
    tile = np.full((embed_dim, h * w), np.nan, dtype=np.float32)  # band-major, as stored
    if n_valid:
        embeddings = np.asarray(embed_fn(lonlat[valid] if n_valid < h * w else lonlat), dtype=np.float32)
        transpose_into(tile, embeddings, None if n_valid == h * w else np.flatnonzero(valid))
    stored = encoding.encode(tile.reshape(embed_dim, h, w), band_axis=0)
    with writing(folder):
        array = zarr.open_array(store=str(folder), path=VARIABLE, mode="r+", zarr_format=ZARR_FORMAT)
        array[:, row : row + h, col : col + w] = stored
        (folder / DONE_FOLDER / f"{row}_{col}").touch()
    return n_valid


def mark_complete(folder: Path) -> None:
    """Set the root attribute ``satclip_complete`` (every chunk is written) and re-consolidate the metadata."""
    import zarr

    group = zarr.open_group(str(folder), mode="r+", zarr_format=ZARR_FORMAT)
    group.attrs[COMPLETE_ATTRIBUTE] = True
    with warnings.catch_warnings():  # the chunk records are not part of the Zarr hierarchy, which zarr notes
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(folder), zarr_format=ZARR_FORMAT)


def _row(grid: RasterGrid, row: int):
    from rasterio.windows import Window

    return Window(col_off=0, row_off=row, width=grid.width, height=1)


def _column(grid: RasterGrid, col: int):
    from rasterio.windows import Window

    return Window(col_off=col, row_off=0, width=1, height=grid.height)


def _units(grid: RasterGrid) -> str:
    return "degrees" if grid.crs.is_geographic else (grid.crs.linear_units or "metre")
