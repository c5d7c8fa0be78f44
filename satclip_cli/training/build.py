"""What a run trains: the SatCLIP model a :class:`TrainConfig` describes, wrapped in its LightningModule.

The vision encoder (with its starting weights, backbone frozen for ``moco-*``), the location encoder
(always exact spherical harmonics), the batch augmentation, and the official ``hyper_parameters`` the
checkpoints carry so that the original loader reads them. Lightning is imported only when a module is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from satclip_cli.errors import InputError, setting
from satclip_cli.models.checkpoints import official_location_hparams
from satclip_cli.models.location_encoder import LocationEncoderConfig, build_location_encoder
from satclip_cli.models.satclip import SatCLIPModel
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import frozen_backbone_eval_fn
from satclip_cli.models.vision.specs import official_vision_hparams, vision_encoder_spec
from satclip_cli.training.augmentations import BatchAugmentation
from satclip_cli.training.config import TrainConfig

if TYPE_CHECKING:
    from satclip_cli.training.lightning_module import SatCLIPLightningModule


def location_encoder_config(config: TrainConfig) -> LocationEncoderConfig:
    """The location encoder a run trains (always exact spherical harmonics)."""
    return LocationEncoderConfig(
        positional_encoding=config.positional_encoding,
        legendre_polys=config.legendre_polys,
        sh_convention=config.sh_convention,
        sh_method="exact",
        network=config.network,
        embed_dim=config.embed_dim,
        capacity=config.capacity,
        num_hidden_layers=config.num_hidden_layers,
        dropout=config.location_dropout,
    )


def check_bands(config: TrainConfig, bands: int) -> None:
    """Refuse a dataset of ``bands`` channels the configured vision encoder cannot take (InputError)."""
    if vision_encoder_spec(config.vision).in_channels is not None and bands != 12:
        raise InputError(
            f"{config.vision} takes the 12 Sentinel-2 bands, this dataset has {bands}: "
            f"use {setting('vision')} clip-vit or clip-resnet"
        )


def check_patches_fit(config: TrainConfig, bands: int, height: int, width: int) -> None:
    """Refuse, before anything is written, patches of ``bands`` x ``height`` x ``width`` px that the configured
    vision encoder cannot take, or that are smaller than its crops (InputError)."""
    check_bands(config, bands)
    crop = vision_encoder_spec(config.vision).resolve_input_size(config.image_size or 256)
    if height < crop or width < crop:
        raise InputError(
            f"patches of {height} x {width} px are smaller than the crop size {crop} px; "
            f"use a smaller {setting('image_size')}"
        )


def build_module(config: TrainConfig, bands: int = 12, pixel_scale: float = 10_000.0) -> SatCLIPLightningModule:
    """The :class:`SatCLIPLightningModule` for ``config`` (vision weights loaded, backbone frozen).

    ``bands``: channels of the dataset's patches (12 Sentinel-2 bands, or 3 for RGB); ``pixel_scale``:
    what pixel values are divided by (10,000 for reflectance, 255 for 8-bit RGB).
    """
    from satclip_cli.training.lightning_module import SatCLIPLightningModule  # imports Lightning

    spec = vision_encoder_spec(config.vision)
    check_bands(config, bands)
    in_channels = spec.in_channels or bands
    vision_kwargs = {
        "vision_layers": config.vision_layers,
        "vision_width": config.vision_width,
        "vision_patch_size": config.vision_patch_size,
    }
    image_size = spec.resolve_input_size(config.image_size or 256)
    visual = build_vision_encoder(
        config.vision,
        embed_dim=config.embed_dim,
        image_resolution=image_size,
        in_channels=in_channels,
        weights=config.vision_weights,
        **vision_kwargs,
    )
    location_config = location_encoder_config(config)
    try:
        location = build_location_encoder(location_config)
    except ValueError as error:
        raise InputError(f"cannot build the location encoder: {error}") from None
    model = SatCLIPModel(
        visual,
        location,
        location_dtype=getattr(torch, config.location_dtype),
        frozen_backbone_eval=frozen_backbone_eval_fn(config.vision),
    )
    if config.compile:
        model.compile_visual()
    hparams = {
        **official_location_hparams(location_config),
        **official_vision_hparams(config.vision, image_resolution=image_size, in_channels=in_channels, **vision_kwargs),
        "sh_embedding_dims": 32,
        "learning_rate": config.lr,
        "weight_decay": config.weight_decay,
    }
    augment = BatchAugmentation(
        crop_size=image_size, insert_b10=in_channels == 13, jitter_km=config.jitter_km, scale=pixel_scale
    )
    return SatCLIPLightningModule(
        model,
        augment,
        official_hparams=hparams,
        extra_checkpoint_info={
            "location_encoder": location_config.to_dict(),
            "vision": config.vision,
            "train_config": config.to_dict(),
        },
        lr=config.lr,
        weight_decay=config.weight_decay,
        accumulate=config.accumulate,
        seed=config.seed,
    )
