"""The embedding stage's job: ``run(config)`` loads the model and embeds a vector file or a raster grid.

:class:`EmbeddingModel` is a location encoder loaded once with the function that embeds numpy (lon, lat)
arrays; :func:`run` loads one per call, or reuses one given to it, so several outputs (the demo's points and
world raster) cost one model load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.raster import RasterEmbeddingSummary, embed_raster
from satclip_cli.embedding.vector import VectorEmbeddingSummary, embed_vector_file
from satclip_cli.geo.raster_grid import RasterGrid
from satclip_cli.models.inference import EmbedFn, make_embed_fn, select_device, select_dtype
from satclip_cli.models.location_encoder import LocationEncoder
from satclip_cli.models.registry import load_model

ModelSettings = tuple[str, str | None, str, str, int]
"""``(model, sh_method, device, dtype, batch_size)`` of an :class:`EmbedConfig`: what loading a model depends on."""


@dataclass(frozen=True)
class EmbeddingModel:
    """A loaded location encoder and the function that embeds float64 ``[n, 2]`` (lon, lat) degrees with it.

    Attributes:
        encoder: the location encoder, on its device in its dtype.
        embed_fn: float64 ``[n, 2]`` (lon, lat) degrees -> float32 ``[n, embed_dim]``, in batches.
        description: one line for summaries: the model, its encoding, network, size, device and dtype.
        settings: the model settings of the :class:`EmbedConfig` it was loaded for (see :meth:`fits`).
    """

    encoder: LocationEncoder
    embed_fn: EmbedFn
    description: str
    settings: ModelSettings

    @classmethod
    def load(cls, config: EmbedConfig) -> EmbeddingModel:
        """Load ``config.model`` with ``config.sh_method`` on ``config.device`` in ``config.dtype``."""
        torch_device = select_device(config.device)
        torch_dtype = select_dtype(config.dtype, torch_device)
        encoder = load_model(config.model, sh_method=config.sh_method)
        embed_fn = make_embed_fn(encoder, torch_device, torch_dtype, config.batch_size)
        model = encoder.config
        description = (
            f"{config.model} ({model.positional_encoding} L={model.legendre_polys} {model.sh_method}, "
            f"{model.network}, {model.embed_dim}-d) on {torch_device.type} in {config.dtype}"
        )
        return cls(encoder=encoder, embed_fn=embed_fn, description=description, settings=_model_settings(config))

    @property
    def embed_dim(self) -> int:
        """``D``, the length of each embedding."""
        return self.encoder.embed_dim

    def fits(self, config: EmbedConfig) -> bool:
        """Whether this is the model ``config`` asks for (same model, SH method, device, dtype, batch size)."""
        return self.settings == _model_settings(config)


def _model_settings(config: EmbedConfig) -> ModelSettings:
    return (config.model, config.sh_method, config.device, config.dtype, config.batch_size)


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
        raise ValueError(f"the model given was loaded for {model.settings}, not for {_model_settings(config)}")
    if model is None:
        model = EmbeddingModel.load(config)
    if config.is_raster:
        return EmbedSummary(model=model.description, raster=_embed_raster(config, model, progress))
    return EmbedSummary(model=model.description, vector=_embed_vector(config, model, progress, on_warning))


def _embed_vector(
    config: EmbedConfig, model: EmbeddingModel, progress: bool, on_warning: Callable[[str], None] | None
) -> VectorEmbeddingSummary:
    assert config.input is not None
    return embed_vector_file(
        config.input, config.output, model.embed_fn, model.embed_dim, lon_col=config.lon_col,
        lat_col=config.lat_col, layer=config.layer, polygon_mode=config.polygon_mode, samples=config.samples,
        wide=config.wide, overwrite=config.overwrite, seed=config.seed, progress=progress, on_warning=on_warning,
    )  # fmt: skip


def _embed_raster(config: EmbedConfig, model: EmbeddingModel, progress: bool) -> RasterEmbeddingSummary:
    if config.like is not None:
        grid = RasterGrid.from_like(config.like)
    else:
        assert config.bbox is not None and config.resolution is not None
        grid = RasterGrid.from_bbox(config.bbox, config.resolution, crs=config.crs)
    return embed_raster(
        config.output, grid, model.embed_fn, model.embed_dim, overwrite=config.overwrite,
        preview_path=config.preview, progress=progress,
    )  # fmt: skip
