"""Settings of one embedding run (``satclip embed``): the model, the input or raster grid, the output.

An :class:`EmbedConfig` describes either a *vector* run (``input`` is a file of points or polygons) or a
*raster* run (no ``input``; the grid is ``bbox`` + ``resolution`` [+ ``crs``], or copied from the raster
``like``). :meth:`EmbedConfig.validate` checks that the settings fit together before any model is loaded;
:func:`satclip_cli.embedding.job.run` runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip_cli.errors import InputError, setting

if TYPE_CHECKING:
    from satclip_cli.geo.vector import PolygonMode


@dataclass(frozen=True, kw_only=True)
class EmbedConfig:
    """What to embed, with which model, into which file.

    Attributes:
        model: a released model name, an official SatCLIP ``.ckpt``, or our ``.safetensors``/``.json`` model.
        output: the file to write. Vector runs: ``.parquet``/``.geoparquet``, ``.csv`` or ``.npy``
            (by extension; on a cluster a GeoParquet dataset folder ``OUT.parquet/part-00000.parquet`` ...);
            raster runs: a ``.tif`` (Cloud-Optimized GeoTIFF, one band per dimension) or a ``.zarr`` store.
        input: points or polygons to embed (any vector file GDAL reads, GeoParquet, or a CSV with lon/lat
            columns; on a cluster also a folder of GeoParquet/CSV parts); None for a raster run.
        sh_method: ``"exact"`` or ``"legacy"`` spherical harmonics; None: what reproduces the model.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        dtype: model precision, ``"float32"`` or ``"float64"``.
        batch_size: points per model call.
        lon_col, lat_col: longitude/latitude columns (degrees) of a table; auto-detected when None.
        layer: layer of a multi-layer input (default: the first).
        polygon_mode: non-point geometries: ``"representative"`` (one point inside) or ``"mean"``
            (embeddings of ``samples`` points sampled inside, averaged).
        samples: points per geometry in ``"mean"`` mode.
        wide: GeoParquet output: one float32 column per dimension (``emb_000`` ...) instead of a list column.
        seed: seed of the polygon sampling.
        bbox: raster extent ``(west, south, east, north)`` in the units of ``crs`` (lon/lat degrees by default).
        resolution: raster pixel side, in the units of ``crs``.
        crs: CRS of ``bbox``/``resolution`` (e.g. ``"EPSG:3035"``); None: EPSG:4326.
        like: a raster whose grid (CRS, extent, size) the output copies; excludes ``bbox``/``resolution``/``crs``.
        preview: also write a PNG of the first three PCA components of a raster output as RGB.
        overwrite: replace existing outputs (only once the new file is complete).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler or ``local:N`` (N local worker processes); None runs
            in this process.
        output_dtype: stored dtype of the embeddings, ``"float32"`` or ``"float16"`` (GeoParquet, Zarr).
        quantize: ``"int8"``: store int8 levels with per-band scale/offset (GeoParquet, Zarr, GeoTIFF); None.
        partition_rows: rows per partition of a vector run on a cluster (one task, one part file each).
        zarr_chunk: side in pixels of the Zarr chunks (one task each on a cluster).
    """

    model: str
    output: Path
    input: Path | None = None

    sh_method: str | None = None
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int = 16384

    lon_col: str | None = None
    lat_col: str | None = None
    layer: str | None = None
    polygon_mode: PolygonMode = "representative"
    samples: int = 16
    wide: bool = False
    seed: int = 0

    bbox: tuple[float, float, float, float] | None = None
    resolution: float | None = None
    crs: str | None = None
    like: Path | None = None
    preview: Path | None = None

    overwrite: bool = False

    scheduler: str | None = None
    output_dtype: str = "float32"
    quantize: str | None = None
    partition_rows: int = 65536
    zarr_chunk: int = 256

    def __post_init__(self) -> None:
        for name in ("output", "input", "like", "preview"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(os.fspath(value)))

    @property
    def is_raster(self) -> bool:
        """True for a raster run: a grid setting (``bbox``, ``resolution`` or ``like``) is given."""
        return self.bbox is not None or self.resolution is not None or self.like is not None

    @property
    def is_zarr(self) -> bool:
        """True when the output is a Zarr store (``.zarr``)."""
        return self.output.suffix.lower() == ".zarr"

    @property
    def stored_dtype(self) -> str:
        """``"float32"``, ``"float16"`` or ``"int8"``: what :attr:`output_dtype` and :attr:`quantize` ask for."""
        from satclip_cli.embedding.quantize import check_output_encoding

        return check_output_encoding(self.output_dtype, self.quantize)

    def validate(self) -> None:
        """Check that the settings describe one run, before a model is loaded.

        Raises:
            InputError: both an input and a raster grid, neither, a missing input file, ``like`` combined
                with ``bbox``/``resolution``/``crs``, or only one of ``bbox`` and ``resolution``.
        """
        grid = f"{setting('bbox')}/{setting('resolution')}/{setting('like')}"
        if self.is_raster and self.input is not None:
            raise InputError(f"give either {setting('input')} (vector) or {grid} (raster), not both")
        if not self.is_raster and self.input is None:
            raise InputError(
                f"give an {setting('input')} file, or {setting('bbox')} W S E N with {setting('resolution')} "
                f"(or {setting('like')}) for a raster"
            )
        if self.input is not None and not self.input.exists():
            raise InputError(f"input file {self.input} not found")
        if self.input is not None and self.input.is_dir() and self.scheduler is None:
            raise InputError(f"an input folder of parts needs {setting('scheduler')}; give one file in-process")
        if self.is_zarr and not self.is_raster:
            raise InputError("a .zarr output is for raster grids; write vector embeddings to .parquet, .csv or .npy")
        if (
            self.scheduler is not None
            and not self.is_raster
            and self.output.suffix.lower() not in (".parquet", ".geoparquet")
        ):
            raise InputError(
                f"on a cluster ({setting('scheduler')}) vector embeddings are written as a GeoParquet dataset "
                f"folder: give an {setting('output')} ending in .parquet"
            )
        if self.scheduler is not None and self.is_raster and not self.is_zarr:
            raise InputError(
                f"on a cluster ({setting('scheduler')}) a raster is written as a Zarr store: give an "
                f"{setting('output')} ending in .zarr"
            )
        if self.preview is not None and self.is_zarr:
            raise InputError(f"{setting('preview')} is made from a GeoTIFF output; it is not available for .zarr")
        if self.partition_rows < 1 or self.zarr_chunk < 16:
            raise InputError(f"{setting('partition_rows')} must be >= 1 and {setting('zarr_chunk')} >= 16")
        self.stored_dtype  # noqa: B018 - checks output_dtype and quantize
        if self.like is not None:
            if self.bbox is not None or self.resolution is not None or self.crs is not None:
                raise InputError(
                    f"{setting('like')} copies the whole grid; do not combine it with "
                    f"{setting('bbox')}/{setting('resolution')}/{setting('crs')}"
                )
        elif self.is_raster and (self.bbox is None or self.resolution is None):
            raise InputError(
                f"a raster needs both {setting('bbox')} W S E N and {setting('resolution')} (or {setting('like')} FILE)"
            )
