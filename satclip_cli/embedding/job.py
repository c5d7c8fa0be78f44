"""The work behind ``satclip embed``: load a model once, then embed a vector file or a raster grid."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from satclip_cli.models.inference import EmbedFn, make_embed_fn, select_device, select_dtype
from satclip_cli.models.location_encoder import LocationEncoder
from satclip_cli.models.registry import load_model


@dataclass
class EmbeddingRunner:
    """A loaded location encoder and the function that embeds numpy (lon, lat) arrays with it."""

    encoder: LocationEncoder
    embed_fn: EmbedFn
    description: str

    @classmethod
    def create(
        cls,
        model: str,
        *,
        sh_method: str | None = None,
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 16384,
    ) -> EmbeddingRunner:
        """Load ``model`` (name or file) and prepare it on ``device`` in ``dtype``."""
        torch_device = select_device(device)
        torch_dtype = select_dtype(dtype, torch_device)
        encoder = load_model(model, sh_method=sh_method)
        embed_fn = make_embed_fn(encoder, torch_device, torch_dtype, batch_size)
        config = encoder.config
        description = (
            f"{model} ({config.positional_encoding} L={config.legendre_polys} {config.sh_method}, "
            f"{config.network}, {config.embed_dim}-d) on {torch_device.type} in {dtype}"
        )
        return cls(encoder=encoder, embed_fn=embed_fn, description=description)

    @property
    def embed_dim(self) -> int:
        return self.encoder.embed_dim

    def embed_vector(
        self,
        input_path: str | os.PathLike,
        output_path: str | os.PathLike,
        *,
        lon_col: str | None = None,
        lat_col: str | None = None,
        layer: str | None = None,
        polygon_mode: str = "representative",
        samples: int = 16,
        wide: bool = False,
        seed: int = 0,
        overwrite: bool = False,
        progress: bool = True,
        on_warning: Callable[[str], None] | None = None,
    ) -> str:
        """Embed every feature of a vector file into ``output_path``; returns a one-line summary."""
        from satclip_cli.embedding.vector import embed_vector_file

        summary = embed_vector_file(
            input_path, output_path, self.embed_fn, self.embed_dim, lon_col=lon_col, lat_col=lat_col,
            layer=layer, polygon_mode=polygon_mode, samples=samples, wide=wide, overwrite=overwrite,
            seed=seed, progress=progress, on_warning=on_warning,
        )  # fmt: skip
        return (
            f"Embedded {summary.rows:,} features with {self.description} in {summary.seconds:.1f} s "
            f"({summary.points_per_second:,.0f} points/s) -> {summary.output_path}"
        )

    def embed_raster(
        self,
        output_path: str | os.PathLike,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        resolution: float | None = None,
        like: str | os.PathLike | None = None,
        crs: str | None = None,
        preview: str | os.PathLike | None = None,
        overwrite: bool = False,
        progress: bool = True,
    ) -> str:
        """Embed the pixel centres of a grid into a Cloud-Optimized GeoTIFF; returns a one-line summary."""
        from satclip_cli.embedding.raster import embed_raster
        from satclip_cli.errors import InputError
        from satclip_cli.geo.raster_grid import RasterGrid

        if like is not None:
            if bbox is not None or resolution is not None or crs is not None:
                raise InputError("--like copies the whole grid; do not combine it with --bbox/--resolution/--crs")
            grid = RasterGrid.from_like(like)
        else:
            if bbox is None or resolution is None:
                raise InputError("a raster needs both --bbox W S E N and --resolution (or --like FILE)")
            grid = RasterGrid.from_bbox(bbox, resolution, crs=crs)
        summary = embed_raster(
            output_path, grid, self.embed_fn, self.embed_dim, overwrite=overwrite,
            preview_path=Path(preview) if preview else None, progress=progress,
        )  # fmt: skip
        return (
            f"Embedded {summary.pixels:,} pixels with {self.description} in {summary.seconds:.1f} s "
            f"({summary.pixels_per_second:,.0f} pixels/s) -> {output_path}"
        )
