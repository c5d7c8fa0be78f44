"""The embedding stage's job: ``run(config)`` loads the model and embeds a vector file or a raster grid.

:class:`EmbeddingModel` is a location encoder loaded once with the function that embeds numpy (lon, lat)
arrays; :func:`run` loads one per call, or reuses one given to it, so several outputs (the demo's points and
world raster) cost one model load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip_cli.embedding.cluster_run import output_encoding, raster_settings
from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.model import EmbeddingModel, ModelSettings, model_settings
from satclip_cli.embedding.quantize import OutputEncoding, model_range
from satclip_cli.embedding.raster import RasterEmbeddingSummary, embed_raster
from satclip_cli.embedding.resumable import open_output_folder
from satclip_cli.embedding.vector import VectorEmbeddingSummary, embed_vector_file
from satclip_cli.embedding.zarr_run import embed_zarr
from satclip_cli.embedding.zarr_writer import ChunkWindow, write_chunk

if TYPE_CHECKING:
    from satclip_cli.geo.raster_grid import RasterGrid

__all__ = ["EmbedSummary", "EmbeddingModel", "ModelSettings", "run"]


@dataclass(frozen=True)
class EmbedSummary:
    """What :func:`run` wrote: exactly one of ``vector`` and ``raster`` is set.

    Attributes:
        model: the description of the model used (:attr:`EmbeddingModel.description`).
        vector: rows, timings and formats of a vector run.
        raster: size, timings and file size of a raster run.
    """

    model: str
    vector: VectorEmbeddingSummary | None = None
    raster: RasterEmbeddingSummary | None = None

    def lines(self) -> list[str]:
        """The one-line human summary: what was embedded, with which model, how fast, into which file."""
        if self.vector is not None:
            v = self.vector
            return [
                f"Embedded {v.rows:,} features with {self.model} in {v.seconds:.1f} s "
                f"({v.points_per_second:,.0f} points/s) -> {v.output_path}"
            ]
        assert self.raster is not None
        r = self.raster
        return [
            f"Embedded {r.pixels:,} pixels with {self.model} in {r.seconds:.1f} s "
            f"({r.pixels_per_second:,.0f} pixels/s) -> {r.output_path}"
        ]


def run(
    config: EmbedConfig,
    *,
    progress: bool = True,
    on_warning: Callable[[str], None] | None = None,
    model: EmbeddingModel | None = None,
) -> EmbedSummary:
    """Embed ``config.input`` (vector run) or every pixel centre of the configured grid (raster run).

    Args:
        config: the run's settings; checked with :meth:`EmbedConfig.validate` before the model is loaded.
        progress: show progress bars on stderr.
        on_warning: receives one-line warnings of a vector run (no CRS -> EPSG:4326 assumed);
            default: :func:`warnings.warn`.
        model: an already loaded model to reuse; it must :meth:`~EmbeddingModel.fits` ``config``.

    Raises:
        InputError: settings that do not fit together, a bad input or grid, an unknown output extension.
        OutputExistsError: an output exists and ``config.overwrite`` is off.
        CheckpointError: the model cannot be loaded.
        ValueError: ``model`` was loaded for other model settings.
    """
    config.validate()
    if model is not None and not model.fits(config):
        raise ValueError(f"the model given was loaded for {model.settings}, not for {model_settings(config)}")
    grid = _grid(config) if config.is_raster else None
    if config.scheduler is not None:
        from satclip_cli.embedding.cluster_run import run_on_cluster

        description, result = run_on_cluster(config, grid, progress=progress, on_warning=on_warning)
        if isinstance(result, RasterEmbeddingSummary):
            return EmbedSummary(model=description, raster=result)
        return EmbedSummary(model=description, vector=result)
    if config.is_zarr:
        assert grid is not None
        folder, resumed = open_output_folder(config.output, raster_settings(config, grid), overwrite=config.overwrite)
    if model is None:
        model = EmbeddingModel.load(config)
    encoding = output_encoding(config.stored_dtype, lambda: model_range(model.embed_fn))
    if config.is_zarr:
        assert grid is not None
        embed_fn, embed_dim = model.embed_fn, model.embed_dim

        def run_chunks(store: Path, windows: list[ChunkWindow], stored: OutputEncoding, on_result: Callable) -> None:
            for window in windows:
                on_result((window[2] * window[3], write_chunk(store, grid, window, embed_fn, embed_dim, stored)))

        raster = embed_zarr(
            config.output, folder, resumed, grid, embed_dim, config.zarr_chunk, encoding, run_chunks,
            progress=progress,
        )  # fmt: skip
        return EmbedSummary(model=model.description, raster=raster)
    if grid is not None:
        return EmbedSummary(model=model.description, raster=_embed_raster(config, grid, model, encoding, progress))
    vector = _embed_vector(config, model, encoding, progress, on_warning)
    return EmbedSummary(model=model.description, vector=vector)


def _grid(config: EmbedConfig) -> RasterGrid:
    from satclip_cli.geo.raster_grid import RasterGrid

    if config.like is not None:
        return RasterGrid.from_like(config.like)
    assert config.bbox is not None and config.resolution is not None
    return RasterGrid.from_bbox(config.bbox, config.resolution, crs=config.crs)


def _embed_vector(
    config: EmbedConfig,
    model: EmbeddingModel,
    encoding: OutputEncoding,
    progress: bool,
    on_warning: Callable[[str], None] | None,
) -> VectorEmbeddingSummary:
    assert config.input is not None
    return embed_vector_file(
        config.input, config.output, model.embed_fn, model.embed_dim, lon_col=config.lon_col,
        lat_col=config.lat_col, layer=config.layer, polygon_mode=config.polygon_mode, samples=config.samples,
        wide=config.wide, overwrite=config.overwrite, seed=config.seed, progress=progress, on_warning=on_warning,
        encoding=encoding,
    )  # fmt: skip


def _embed_raster(
    config: EmbedConfig, grid: RasterGrid, model: EmbeddingModel, encoding: OutputEncoding, progress: bool
) -> RasterEmbeddingSummary:
    return embed_raster(
        config.output, grid, model.embed_fn, model.embed_dim, overwrite=config.overwrite,
        preview_path=config.preview, progress=progress, encoding=encoding,
    )  # fmt: skip
