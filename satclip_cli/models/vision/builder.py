"""Build a vision encoder by name: the module, its starting weights, and its frozen backbone.

:func:`build_vision_encoder` is the one entry point: it makes the ``timm`` module of a ``moco-*``
encoder or the CLIP-style module of a ``clip-*`` one (:mod:`~satclip_cli.models.vision.clip_vit`,
:mod:`~satclip_cli.models.vision.modified_resnet`), loads its weights
(:mod:`~satclip_cli.models.vision.pretrained`) and freezes its backbone
(:mod:`~satclip_cli.models.vision.freezing`). ``timm`` is imported only when a ``moco-*`` encoder is built.

Every encoder maps images ``float32 [B, C, H, W]`` (Sentinel-2 L1C reflectance / 10000, bands in
SSL4EO-S12 order including B10) to embeddings ``float32 [B, embed_dim]``. The returned module is
what the SatCLIP model stores as ``visual``; its parameter names are those of the original code
(timm names for the MoCo encoders, CLIP names otherwise), so official ``model.visual.*`` state
dicts load strictly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from satclip_cli.errors import SatclipError
from satclip_cli.models.vision.clip_vit import ClipVisionTransformer
from satclip_cli.models.vision.freezing import freeze_backbone
from satclip_cli.models.vision.modified_resnet import ModifiedResNet
from satclip_cli.models.vision.pretrained import load_published_weights, load_vision_weights
from satclip_cli.models.vision.specs import (
    DEFAULT_CLIP_RESNET,
    DEFAULT_CLIP_VIT,
    MOCO_IN_CHANNELS,
    parse_vision_layers,
    vision_encoder_spec,
)


def build_vision_encoder(
    name: str,
    *,
    embed_dim: int = 256,
    image_resolution: int = 256,
    in_channels: int = MOCO_IN_CHANNELS,
    vision_layers: int | Sequence[int] | None = None,
    vision_width: int | None = None,
    vision_patch_size: int | None = None,
    weights: str | os.PathLike[str] = "default",
    freeze: bool | None = None,
) -> nn.Module:
    """Build the ``visual`` module: images ``float32 [B, C, H, W]`` (reflectance / 10000) -> ``[B, embed_dim]``.

    Args:
        name: a key of :data:`VISION_ENCODERS` (or an official ``vision_layers`` string).
        embed_dim: output width (the shared embedding space).
        image_resolution: input side in pixels for ``clip-*`` (fixes their positional embeddings);
            unused by the MoCo encoders (the ViT-S/16 takes 224 px).
        in_channels: input bands; must be 13 for ``moco-*``.
        vision_layers, vision_width, vision_patch_size: ``clip-vit`` depth (int), width and patch
            size; ``clip-resnet`` stage depths (4 ints) and width. ``None``: :data:`DEFAULT_CLIP_VIT`
            / :data:`DEFAULT_CLIP_RESNET`. Ignored by ``moco-*``.
        weights: ``"none"`` random init; ``"default"`` torchgeo's MoCo weights for ``moco-*`` (random
            init for ``clip-*``, which have no published weights); otherwise the path of a local
            state-dict file (see :func:`load_vision_weights`).
        freeze: freeze the backbone (train the head only); ``None``: the spec's default (``True``
            for ``moco-*``). See :func:`freeze_backbone`.

    Raises:
        SatclipError: unknown name or invalid sizes. CheckpointError: unreadable or mismatched
        weights file. OfflineError: the MoCo weights are not cached and cannot be downloaded.
    """
    spec = vision_encoder_spec(name)
    choice = _weights_choice(weights)
    if spec.timm_model is not None:
        if in_channels != MOCO_IN_CHANNELS:
            raise SatclipError(f"{spec.name} takes {MOCO_IN_CHANNELS} bands (SSL4EO-S12 order), not {in_channels}")
        import timm

        visual = timm.create_model(spec.timm_model, pretrained=False, in_chans=MOCO_IN_CHANNELS, num_classes=embed_dim)
    elif spec.name == "clip-vit":
        layers = parse_vision_layers(spec.name, vision_layers)
        width = int(vision_width or DEFAULT_CLIP_VIT["vision_width"])
        visual = ClipVisionTransformer(
            input_resolution=int(image_resolution),
            patch_size=int(vision_patch_size or DEFAULT_CLIP_VIT["vision_patch_size"]),
            width=width,
            layers=layers,
            heads=max(1, width // 64),
            output_dim=embed_dim,
            in_channels=in_channels,
        )
    else:
        layers = parse_vision_layers(spec.name, vision_layers)
        width = int(vision_width or DEFAULT_CLIP_RESNET["vision_width"])
        visual = ModifiedResNet(
            layers=layers,
            output_dim=embed_dim,
            heads=max(1, width * 32 // 64),
            input_resolution=int(image_resolution),
            width=width,
            in_channels=in_channels,
        )
    if isinstance(choice, Path):
        load_vision_weights(visual, spec.name, choice)
    elif choice == "default" and spec.has_published_weights:
        load_published_weights(visual, spec.name)
    if spec.frozen_backbone if freeze is None else freeze:
        freeze_backbone(visual, spec.name)
    return visual


def _weights_choice(weights: str | os.PathLike[str]) -> str | Path:
    """``"none"`` / ``"default"`` (strings only; a ``Path`` is always a file) or the file path."""
    if isinstance(weights, str) and weights.strip().lower() in ("none", "default"):
        return weights.strip().lower()
    return Path(weights).expanduser()
