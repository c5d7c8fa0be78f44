"""Vision encoders for ``satclip train``: the image side of the contrastive model.

Five kinds (see :data:`VISION_ENCODERS`):

* ``moco-resnet18``, ``moco-resnet50``, ``moco-vit-s16`` — timm ``resnet18`` / ``resnet50`` /
  ``vit_small_patch16_224`` with 13 input bands and an ``embed_dim`` linear head (``fc`` or
  ``head``). ``weights="default"`` loads torchgeo's SSL4EO-S12 MoCo weights
  (``ResNet18_Weights.SENTINEL2_ALL_MOCO`` etc.); the backbone is then frozen and only the head is
  trained, as for the released SatCLIP models.
* ``clip-vit`` — a CLIP-style vision transformer trained from scratch (official ``vision_layers``
  is an int, the depth).
* ``clip-resnet`` — CLIP's ModifiedResNet (3-convolution stem, anti-aliased strided bottlenecks,
  attention pooling) trained from scratch (official ``vision_layers`` is 4 ints).

Every encoder maps images ``float32 [B, C, H, W]`` (Sentinel-2 L1C reflectance / 10000, bands in
SSL4EO-S12 order including B10) to embeddings ``float32 [B, embed_dim]``. The returned module is
what the SatCLIP model stores as ``visual``; its parameter names are those of the original code
(timm names for the MoCo encoders, CLIP names otherwise), so official ``model.visual.*`` state
dicts load strictly.

For a feature-cache fast path each encoder splits into a backbone and a head:
``apply_head(visual, name, backbone_features(visual, name, x)) == visual(x)``.

Weight downloads go through torchgeo, i.e. ``torch.hub.load_state_dict_from_url``: the file is
cached as ``torch.hub.get_dir()/checkpoints/<basename of the URL>`` (``$TORCH_HOME/hub/...``) and a
cached file is used without any network access. Downloads are verified against the SHA-256 prefix
in the file name (``check_hash=True``; torchgeo itself does not ask for it); torch.hub does not
re-verify a file already in the cache. ``timm`` and ``torchgeo`` are imported only when needed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from satclip_cli.errors import CheckpointError, OfflineError, SatclipError

MOCO_IN_CHANNELS = 13
"""SSL4EO-S12 Sentinel-2 L1C bands B1–B12 with B8A and B10 (the MoCo weights' input)."""

DOWNLOAD_TIMEOUT_S = 30.0
"""Socket timeout (seconds, per connect/read) while torchgeo downloads weights, so a blackholed
network fails instead of hanging. Applied only if no global default timeout is set."""

VERIFY_DOWNLOAD_HASH = True
"""Ask torch.hub to check a downloaded file against the SHA-256 prefix in its name."""

DEFAULT_CLIP_VIT = {"vision_layers": 4, "vision_width": 128, "vision_patch_size": 32}
"""From-scratch ViT defaults: the original ``configs/default.yaml`` (depth 4, width 128, 32-px patches)."""

DEFAULT_CLIP_RESNET = {"vision_layers": (3, 4, 6, 3), "vision_width": 64, "vision_patch_size": 32}
"""From-scratch ModifiedResNet defaults: CLIP's RN50 depth and width (patch size unused)."""

_PLACEHOLDER_WIDTH, _PLACEHOLDER_PATCH = 128, 32  # what released MoCo checkpoints store (unused values)


@dataclass(frozen=True)
class VisionEncoderSpec:
    """What ``satclip train`` needs to know about one vision encoder kind.

    Attributes:
        name: CLI name (``--vision``).
        description: one line for help texts.
        official_layers: the official ``vision_layers`` hyper-parameter (``'moco_resnet18'`` ...),
            or ``None`` when it is the configured depth (an int for ``clip-vit``, 4 ints for
            ``clip-resnet``).
        input_size: fixed input side in pixels (224 for the ViT-S/16), or ``None`` for the
            configured ``image_resolution``.
        in_channels: fixed number of input bands (13 for MoCo), or ``None`` if configurable.
        frozen_backbone: only the head is trained (the released models' setting).
        head: name of the head inside the module (``fc``, ``head``, ``proj``, ``attnpool.c_proj``).
        timm_model: timm architecture, or ``None`` for the CLIP-style modules defined here.
        torchgeo_weights: ``(enum class in torchgeo.models, member)`` of the published weights.
    """

    name: str
    description: str
    official_layers: str | None
    input_size: int | None
    in_channels: int | None
    frozen_backbone: bool
    head: str
    timm_model: str | None = None
    torchgeo_weights: tuple[str, str] | None = None

    def resolve_input_size(self, image_resolution: int) -> int:
        """Side length in pixels of the images this encoder takes."""
        return self.input_size if self.input_size is not None else int(image_resolution)

    @property
    def has_published_weights(self) -> bool:
        """Whether ``weights='default'`` downloads pretrained weights (else it means random init)."""
        return self.torchgeo_weights is not None


VISION_ENCODERS: dict[str, VisionEncoderSpec] = {
    spec.name: spec
    for spec in (
        VisionEncoderSpec(
            "moco-resnet18",
            "timm ResNet-18, SSL4EO-S12 MoCo weights, frozen backbone, trained linear head",
            official_layers="moco_resnet18",
            input_size=None,
            in_channels=MOCO_IN_CHANNELS,
            frozen_backbone=True,
            head="fc",
            timm_model="resnet18",
            torchgeo_weights=("ResNet18_Weights", "SENTINEL2_ALL_MOCO"),
        ),
        VisionEncoderSpec(
            "moco-resnet50",
            "timm ResNet-50, SSL4EO-S12 MoCo weights, frozen backbone, trained linear head",
            official_layers="moco_resnet50",
            input_size=None,
            in_channels=MOCO_IN_CHANNELS,
            frozen_backbone=True,
            head="fc",
            timm_model="resnet50",
            torchgeo_weights=("ResNet50_Weights", "SENTINEL2_ALL_MOCO"),
        ),
        VisionEncoderSpec(
            "moco-vit-s16",
            "timm ViT-S/16 (224 px), SSL4EO-S12 MoCo weights, frozen backbone, trained linear head",
            official_layers="moco_vit16",
            input_size=224,
            in_channels=MOCO_IN_CHANNELS,
            frozen_backbone=True,
            head="head",
            timm_model="vit_small_patch16_224",
            torchgeo_weights=("ViTSmall16_Weights", "SENTINEL2_ALL_MOCO"),
        ),
        VisionEncoderSpec(
            "clip-vit",
            "CLIP-style vision transformer trained from scratch",
            official_layers=None,
            input_size=None,
            in_channels=None,
            frozen_backbone=False,
            head="proj",
        ),
        VisionEncoderSpec(
            "clip-resnet",
            "CLIP ModifiedResNet (attention pooling) trained from scratch",
            official_layers=None,
            input_size=None,
            in_channels=None,
            frozen_backbone=False,
            head="attnpool.c_proj",
        ),
    )
}
"""The vision encoders of ``satclip train --vision``, by CLI name."""

_BY_OFFICIAL_LAYERS = {spec.official_layers: spec.name for spec in VISION_ENCODERS.values() if spec.official_layers}


def vision_encoder_spec(name: str) -> VisionEncoderSpec:
    """The spec of ``name`` (a CLI name, or an official ``vision_layers`` string like ``moco_resnet18``)."""
    spec = VISION_ENCODERS.get(name) or VISION_ENCODERS.get(_BY_OFFICIAL_LAYERS.get(name, ""))
    if spec is None:
        raise SatclipError(f"unknown vision encoder {name!r}; choose one of {', '.join(VISION_ENCODERS)}")
    return spec


# --------------------------------------------------------------------------------------------------
# CLIP-style modules (from scratch). Attribute names are those of the original checkpoints.
# --------------------------------------------------------------------------------------------------


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 whatever the input dtype (output in the input dtype)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block on sequence-first tokens ``[L, B, D]`` -> ``[L, B, D]``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)  # batch_first=False: [L, B, D]
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [("c_fc", nn.Linear(width, 4 * width)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(4 * width, width))]
            )
        )
        self.ln_2 = LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``layers`` residual attention blocks (``resblocks.{i}``) on ``[L, B, width]`` tokens."""

    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*(ResidualAttentionBlock(width, heads) for _ in range(layers)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class ClipVisionTransformer(nn.Module):
    """CLIP-style ViT: images ``[B, C, R, R]`` -> ``[B, output_dim]``.

    Non-overlapping ``patch_size`` patches are projected to ``width`` (``conv1``, no bias), a class
    token is prepended, learned positional embeddings added, then ``ln_pre``, the transformer
    (sequence-first), ``ln_post`` on the class token (the backbone features ``[B, width]``) and the
    head ``@ proj`` (``[width, output_dim]``).
    """

    def __init__(
        self,
        input_resolution: int,
        patch_size: int,
        width: int,
        layers: int,
        heads: int,
        output_dim: int,
        in_channels: int = MOCO_IN_CHANNELS,
    ) -> None:
        super().__init__()
        if patch_size < 1 or input_resolution < patch_size:
            raise SatclipError(
                f"clip-vit needs image_resolution ({input_resolution}) >= patch size ({patch_size}) >= 1"
            )
        if layers < 1 or width < 1 or width % heads:
            raise SatclipError(f"clip-vit needs layers >= 1 and a width ({width}) divisible by its {heads} heads")
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width**-0.5
        grid = input_resolution // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    @property
    def num_features(self) -> int:
        """Width of the backbone features (before ``proj``)."""
        return self.class_embedding.shape[0]

    def backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> layer-normed class token ``[B, width]``."""
        x = self.conv1(images.to(self.conv1.weight.dtype))  # [B, width, g, g]
        x = x.flatten(2).transpose(1, 2)  # [B, g*g, width]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)  # [B, g*g+1, width]
        x = self.ln_pre(x).transpose(0, 1)  # [L, B, width]
        x = self.transformer(x)
        return self.ln_post(x[0])

    def apply_head(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``[B, width]`` -> embeddings ``[B, output_dim]``."""
        return features @ self.proj

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> embeddings ``[B, output_dim]``."""
        return self.apply_head(self.backbone_features(images))


class Bottleneck(nn.Module):
    """Anti-aliased bottleneck ``[B, inplanes, H, W]`` -> ``[B, 4 planes, H/stride, W/stride]``.

    Convolutions all have stride 1; a stride > 1 is an average pool after the 3x3 convolution
    (and before the 1x1 projection of the shortcut, ``downsample`` = ``-1`` pool, ``0`` conv,
    ``1`` batch norm).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu3 = nn.ReLU(inplace=True)
        self.downsample: nn.Sequential | None = None
        if stride > 1 or inplanes != out:
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("-1", nn.AvgPool2d(stride)),
                        ("0", nn.Conv2d(inplanes, out, 1, stride=1, bias=False)),
                        ("1", nn.BatchNorm2d(out)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + shortcut)


class AttentionPool2d(nn.Module):
    """Attention pooling ``[B, C, S, S]`` -> ``[B, output_dim]``.

    The spatial mean is prepended to the ``S*S`` tokens, positional embeddings are added and the
    mean token attends (``num_heads`` heads) to all tokens; ``c_proj`` maps the result to
    ``output_dim``. :meth:`pool` stops before ``c_proj`` (``[B, C]``).
    """

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads: int, output_dim: int | None = None) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise SatclipError(f"attention pooling width {embed_dim} is not divisible by {num_heads} heads")
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``[B, C, S, S]`` -> attention-pooled features ``[B, C]`` (before ``c_proj``)."""
        tokens = x.flatten(2).transpose(1, 2)  # [B, S*S, C]
        tokens = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
        tokens = tokens + self.positional_embedding.to(tokens.dtype)  # [B, L, C]
        B, L, C = tokens.shape
        h = self.num_heads

        def heads(t: torch.Tensor) -> torch.Tensor:  # [B, n, C] -> [B, h, n, C/h]
            return t.reshape(B, t.shape[1], h, C // h).transpose(1, 2)

        q = heads(self.q_proj(tokens[:, :1]))
        k, v = heads(self.k_proj(tokens)), heads(self.v_proj(tokens))
        pooled = F.scaled_dot_product_attention(q, k, v)  # [B, h, 1, C/h]; scale 1/sqrt(C/h)
        return pooled.transpose(1, 2).reshape(B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.pool(x))


class ModifiedResNet(nn.Module):
    """CLIP's ModifiedResNet: images ``[B, C, R, R]`` -> ``[B, output_dim]``.

    Stem of three 3x3 convolutions (the first with stride 2) and a 2x2 average pool, four stages of
    :class:`Bottleneck` blocks (``layers`` blocks each, widths ``width .. 8 width``, x4 expansion),
    and :class:`AttentionPool2d` over the ``R/32 x R/32`` map of ``32 width`` channels.
    Initialised like CLIP: attention-pool projections ~ N(0, (32 width)^-1/2), every bottleneck's
    last batch-norm weight zero (blocks start as identities).
    """

    def __init__(
        self,
        layers: Sequence[int],
        output_dim: int,
        heads: int,
        input_resolution: int = 224,
        width: int = 64,
        in_channels: int = MOCO_IN_CHANNELS,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or min(layers) < 1 or width < 2 or input_resolution < 32:
            raise SatclipError(
                f"clip-resnet needs 4 stage depths >= 1 (got {tuple(layers)}), width >= 2 and image_resolution >= 32"
            )
        self.output_dim = output_dim
        self.input_resolution = input_resolution
        half = width // 2
        self.conv1 = nn.Conv2d(in_channels, half, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(half, half, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(half, width, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        stages = []
        for index, (blocks, stride) in enumerate(zip(layers, (1, 2, 2, 2), strict=True)):
            planes = width * 2**index
            stage = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            stage += [Bottleneck(inplanes, planes) for _ in range(1, blocks)]
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.attnpool = AttentionPool2d(input_resolution // 32, width * 32, heads, output_dim)
        self._init_like_clip()

    def _init_like_clip(self) -> None:
        std = self.attnpool.c_proj.in_features**-0.5
        for proj in (self.attnpool.q_proj, self.attnpool.k_proj, self.attnpool.v_proj, self.attnpool.c_proj):
            nn.init.normal_(proj.weight, std=std)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                nn.init.zeros_(block.bn3.weight)

    @property
    def num_features(self) -> int:
        """Width of the backbone features (before ``attnpool.c_proj``): 32 x width."""
        return self.attnpool.c_proj.in_features

    def backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> attention-pooled features ``[B, 32 width]``."""
        x = images.to(self.conv1.weight.dtype)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.avgpool(self.relu3(self.bn3(self.conv3(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.attnpool.pool(x)

    def apply_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, 32 width]`` -> embeddings ``[B, output_dim]``."""
        return self.attnpool.c_proj(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> embeddings ``[B, output_dim]``."""
        return self.apply_head(self.backbone_features(images))


# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------


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
        layers = _parse_layers(spec.name, vision_layers)
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
        layers = _parse_layers(spec.name, vision_layers)
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
        _load_matching(visual, spec, download_published_weights(spec.name), source=torchgeo_weights_url(spec.name))
    if spec.frozen_backbone if freeze is None else freeze:
        freeze_backbone(visual, spec.name)
    return visual


def _parse_layers(name: str, value: Any) -> Any:
    """``vision_layers`` of a ``clip-*`` encoder: an int (``clip-vit``) or a tuple of 4 ints (``clip-resnet``).

    ``None`` gives the default; strings such as ``"4"`` or ``"3,4,6,3"`` (CLI / YAML) are accepted.
    """
    vit = name == "clip-vit"
    if value is None:
        return (DEFAULT_CLIP_VIT if vit else DEFAULT_CLIP_RESNET)["vision_layers"]
    try:
        if isinstance(value, str):
            parts = [int(part) for part in value.strip("()[] ").replace(",", " ").split()]
        elif isinstance(value, Sequence):
            parts = [int(part) for part in value]
        elif isinstance(value, int) and not isinstance(value, bool):
            parts = [value]
        else:
            raise TypeError(value)
    except (TypeError, ValueError):
        parts = []
    if vit and len(parts) == 1:
        return parts[0]
    if not vit and len(parts) == 4:
        return tuple(parts)
    wanted = "one int (its depth)" if vit else "4 ints (blocks per stage)"
    raise SatclipError(f"{name} needs vision_layers to be {wanted}, got {value!r}")


def _weights_choice(weights: str | os.PathLike[str]) -> str | Path:
    """``"none"`` / ``"default"`` (strings only; a ``Path`` is always a file) or the file path."""
    if isinstance(weights, str) and weights.strip().lower() in ("none", "default"):
        return weights.strip().lower()
    return Path(weights).expanduser()


# --------------------------------------------------------------------------------------------------
# Official hyper-parameters
# --------------------------------------------------------------------------------------------------


def official_vision_hparams(
    name: str,
    *,
    image_resolution: int = 256,
    in_channels: int = MOCO_IN_CHANNELS,
    vision_layers: int | Sequence[int] | None = None,
    vision_width: int | None = None,
    vision_patch_size: int | None = None,
) -> dict[str, Any]:
    """The vision part of an official checkpoint's ``hyper_parameters`` for this encoder.

    Returns ``vision_layers, vision_width, vision_patch_size, image_resolution, in_channels`` as
    the original trainer stores them: ``vision_layers`` is ``'moco_resnet18'`` / ``'moco_resnet50'``
    / ``'moco_vit16'`` for the MoCo encoders (width and patch size are then unused placeholders,
    128 and 32 like the released checkpoints), the depth (int) for ``clip-vit`` and a list of 4
    ints for ``clip-resnet``. ``embed_dim`` is shared with the location encoder and not included.
    """
    spec = vision_encoder_spec(name)
    if spec.official_layers is not None:
        return {
            "vision_layers": spec.official_layers,
            "vision_width": int(vision_width or _PLACEHOLDER_WIDTH),
            "vision_patch_size": int(vision_patch_size or _PLACEHOLDER_PATCH),
            "image_resolution": int(image_resolution),
            "in_channels": MOCO_IN_CHANNELS,
        }
    defaults = DEFAULT_CLIP_VIT if spec.name == "clip-vit" else DEFAULT_CLIP_RESNET
    layers = _parse_layers(spec.name, vision_layers)
    return {
        "vision_layers": layers if spec.name == "clip-vit" else list(layers),
        "vision_width": int(vision_width or defaults["vision_width"]),
        "vision_patch_size": int(vision_patch_size or defaults["vision_patch_size"]),
        "image_resolution": int(image_resolution),
        "in_channels": int(in_channels),
    }


def vision_encoder_from_hparams(hparams: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Inverse of :func:`official_vision_hparams`: ``(name, kwargs)`` for :func:`build_vision_encoder`.

    ``hparams`` is an official checkpoint's ``hyper_parameters`` (needs ``embed_dim`` and
    ``vision_layers``). The kwargs carry no ``weights``: pass ``weights="none"`` when the
    checkpoint's own ``model.visual.*`` weights will be loaded (no download needed).

    Raises:
        CheckpointError: missing or unrecognised vision hyper-parameters.
    """
    try:
        layers = hparams["vision_layers"]
        embed_dim = int(hparams["embed_dim"])
        image_resolution = int(hparams.get("image_resolution", 224))
        in_channels = int(hparams.get("in_channels", MOCO_IN_CHANNELS))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint hyper_parameters lack valid vision settings ({error!r})") from None
    if isinstance(layers, str) and layers.strip().isdigit():
        layers = int(layers)
    if isinstance(layers, str):
        if layers not in _BY_OFFICIAL_LAYERS:
            known = ", ".join(repr(k) for k in _BY_OFFICIAL_LAYERS)
            raise CheckpointError(f"checkpoint uses vision_layers={layers!r}; supported: {known}, an int or 4 ints")
        return _BY_OFFICIAL_LAYERS[layers], {
            "embed_dim": embed_dim,
            "image_resolution": image_resolution,
            "in_channels": MOCO_IN_CHANNELS,
        }
    try:
        width = int(hparams["vision_width"])
        patch = int(hparams.get("vision_patch_size") or DEFAULT_CLIP_VIT["vision_patch_size"])
        if isinstance(layers, bool):
            raise TypeError(layers)
        if isinstance(layers, int):
            name, parsed = "clip-vit", int(layers)
        elif isinstance(layers, Sequence) and len(layers) == 4:
            name, parsed = "clip-resnet", tuple(int(n) for n in layers)
        else:
            raise TypeError(layers)
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint has unrecognised vision settings vision_layers={layers!r}") from None
    return name, {
        "embed_dim": embed_dim,
        "image_resolution": image_resolution,
        "in_channels": in_channels,
        "vision_layers": parsed,
        "vision_width": width,
        "vision_patch_size": patch,
    }


# --------------------------------------------------------------------------------------------------
# Backbone / head
# --------------------------------------------------------------------------------------------------


def _is_head_key(key: str, head: str) -> bool:
    return key == head or key.startswith(head + ".")


def head_parameter_names(visual: nn.Module, name: str) -> list[str]:
    """Names of the head parameters (``fc.weight, fc.bias``; ``head.*``; ``proj``; ``attnpool.c_proj.*``)."""
    head = vision_encoder_spec(name).head
    return [key for key, _ in visual.named_parameters() if _is_head_key(key, head)]


def split_backbone_head(visual: nn.Module, name: str) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """``(backbone parameters, head parameters)`` of ``visual``, e.g. for optimizer parameter groups."""
    head = vision_encoder_spec(name).head
    backbone, head_params = [], []
    for key, param in visual.named_parameters():
        (head_params if _is_head_key(key, head) else backbone).append(param)
    return backbone, head_params


def feature_dim(visual: nn.Module, name: str) -> int:
    """Width ``F`` of :func:`backbone_features` (512 / 2048 / 384 for the MoCo encoders)."""
    vision_encoder_spec(name)
    return int(visual.num_features)


def backbone_features(visual: nn.Module, name: str, images: torch.Tensor) -> torch.Tensor:
    """Images ``float32 [B, C, H, W]`` -> pooled features before the head ``[B, F]``.

    A frozen backbone is put in eval mode first (as a forward pass would), so cached features are
    the ones a training step sees.
    """
    spec = vision_encoder_spec(name)
    if visual.training and is_backbone_frozen(visual, name):
        set_frozen_backbone_eval(visual, name)
    if spec.timm_model is not None:
        return visual.forward_head(visual.forward_features(images), pre_logits=True)
    return visual.backbone_features(images)


def apply_head(visual: nn.Module, name: str, features: torch.Tensor) -> torch.Tensor:
    """Backbone features ``[B, F]`` -> embeddings ``[B, embed_dim]`` (the trained head only)."""
    spec = vision_encoder_spec(name)
    if spec.timm_model is not None:
        return visual.get_classifier()(features)
    return visual.apply_head(features)


def is_backbone_frozen(visual: nn.Module, name: str) -> bool:
    """Whether ``name`` is a frozen-backbone kind and no backbone parameter requires grad."""
    spec = vision_encoder_spec(name)
    if not spec.frozen_backbone:
        return False
    backbone, _ = split_backbone_head(visual, name)
    return not any(param.requires_grad for param in backbone)


def freeze_backbone(visual: nn.Module, name: str) -> None:
    """Freeze everything but the head (``fc`` / ``head``) of a ``moco-*`` encoder; no-op for ``clip-*``.

    Also keeps the frozen backbone in eval mode from now on: a forward pre-hook switches the
    backbone's submodules to eval whenever ``visual`` is in training mode, so BatchNorm running
    statistics never drift, whoever calls ``.train()``. (The original code froze the parameters
    only, so its BatchNorm statistics did move during training.) Call
    :func:`set_frozen_backbone_eval` from a ``train()`` override to make the modes visible at once.
    """
    spec = vision_encoder_spec(name)
    if not spec.frozen_backbone:
        return
    visual.requires_grad_(False)
    visual.get_submodule(spec.head).requires_grad_(True)
    if not getattr(visual, "_satclip_keep_eval_hook", False):
        visual.register_forward_pre_hook(_KeepBackboneEval(spec.name))
        visual._satclip_keep_eval_hook = True
    if visual.training:
        set_frozen_backbone_eval(visual, name)


def set_frozen_backbone_eval(visual: nn.Module, name: str) -> None:
    """Put a frozen backbone's submodules in eval mode, leaving the head's mode and ``visual.training`` as is.

    No-op unless :func:`is_backbone_frozen`. Meant to be called after ``model.train()``;
    ``functools.partial(set_frozen_backbone_eval, name=name)`` is a ``Callable[[nn.Module], None]``.
    """
    if not is_backbone_frozen(visual, name):
        return
    head = vision_encoder_spec(name).head
    for child_name, child in visual.named_children():
        if child_name != head:
            child.eval()


class _KeepBackboneEval:
    """Forward pre-hook: a training-mode ``visual`` with a frozen backbone runs that backbone in eval mode."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if module.training:
            set_frozen_backbone_eval(module, self.name)


# --------------------------------------------------------------------------------------------------
# Weights: local files and torchgeo downloads
# --------------------------------------------------------------------------------------------------

_KNOWN_PREFIXES = (
    "",
    "model.visual.",
    "visual.",
    "module.encoder_q.",
    "encoder_q.",
    "module.base_encoder.",
    "base_encoder.",
    "module.backbone.",
    "backbone.",
    "module.",
    "model.",
    "encoder.",
)


def load_vision_weights(visual: nn.Module, name: str, path: str | os.PathLike[str]) -> list[str]:
    """Load a local state-dict file into ``visual``; return the head keys left at their initial values.

    Accepted files: ``.safetensors``, or a torch file read with ``torch.load(weights_only=True)``
    holding a state dict, or a dict with one under ``state_dict`` / ``model`` (Lightning
    checkpoints, the original SSL4EO-S12 files). Keys may be in timm/CLIP layout or carry a
    prefix such as ``model.visual.`` (SatCLIP checkpoints), ``module.encoder_q.`` (MoCo v2) or
    ``module.base_encoder.`` (MoCo v3); the prefix matching most parameters wins. Head weights are
    loaded only if their shapes fit ``embed_dim``; every other parameter must be present with the
    right shape (BatchNorm ``num_batches_tracked`` may be missing).

    Raises:
        CheckpointError: unreadable file, or missing / unexpected / mis-shaped non-head keys (listed).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"vision weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path), device="cpu")
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read vision weights {path} ({_one_line(error)})") from None
    return _load_matching(visual, vision_encoder_spec(name), _unwrap_state_dict(data, path), source=str(path))


def _unwrap_state_dict(data: Any, source: Path | str) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
            break
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{source} does not hold a state dict (found {type(data).__name__})")
    tensors = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{source} holds no tensors")
    return tensors


def _load_matching(
    visual: nn.Module, spec: VisionEncoderSpec, state: Mapping[str, torch.Tensor], *, source: str
) -> list[str]:
    """Load ``state`` (any known prefix) into ``visual``; non-head tensors must all fit. Returns skipped head keys."""
    target = visual.state_dict()

    def stripped(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

    prefix = max(_KNOWN_PREFIXES, key=lambda p: sum(k in target for k in stripped(p)))
    found = stripped(prefix)
    if not any(k in target for k in found):
        sample = ", ".join(list(state)[:3])
        raise CheckpointError(f"{source} has no {spec.name} weights (keys look like: {sample})")
    missing = [k for k in target if k not in found and not _is_head_key(k, spec.head)]
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    unexpected = [k for k in found if k not in target and not _is_head_key(k, spec.head)]
    shapes = [
        f"{k} {tuple(v.shape)} vs {tuple(target[k].shape)}"
        for k, v in found.items()
        if k in target and v.shape != target[k].shape and not _is_head_key(k, spec.head)
    ]
    if missing or unexpected or shapes:
        problems = [
            f"{label} {len(keys)}: {', '.join(keys[:4])}{', …' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
            if keys
        ]
        where = f" under prefix {prefix!r}" if prefix else ""
        raise CheckpointError(f"{source} does not fit a {spec.name} encoder{where}: {'; '.join(problems)}")
    selected = {k: v for k, v in found.items() if k in target and v.shape == target[k].shape}
    visual.load_state_dict(selected, strict=False)
    return [k for k in target if _is_head_key(k, spec.head) and k not in selected]


def torchgeo_weights(name: str) -> Any:
    """The torchgeo weights enum member of a ``moco-*`` encoder (imports torchgeo)."""
    spec = vision_encoder_spec(name)
    if spec.torchgeo_weights is None:
        raise SatclipError(f"{spec.name} has no published weights")
    import torchgeo.models

    enum_name, member = spec.torchgeo_weights
    return getattr(getattr(torchgeo.models, enum_name), member)


def torchgeo_weights_url(name: str) -> str:
    """Download URL of a ``moco-*`` encoder's weights."""
    return str(torchgeo_weights(name).url)


def torchgeo_cache_path(name: str) -> Path:
    """Where torch.hub caches those weights: ``torch.hub.get_dir()/checkpoints/<URL basename>``.

    ``torch.hub.get_dir()`` is ``$TORCH_HOME/hub`` (default ``~/.cache/torch/hub``). Copying the
    file there (from a machine with internet access) makes ``weights="default"`` work offline.
    """
    url = torchgeo_weights_url(name)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def download_published_weights(name: str) -> dict[str, torch.Tensor]:
    """The MoCo state dict of a ``moco-*`` encoder: from the torch.hub cache, else downloaded by torchgeo.

    Reads with ``weights_only=True``. Downloads are verified (:data:`VERIFY_DOWNLOAD_HASH`), time
    out after :data:`DOWNLOAD_TIMEOUT_S` of silence, and print torch.hub's ``Downloading: ...`` line
    to stderr (not stdout). With ``HF_HUB_OFFLINE=1`` nothing is downloaded.

    Raises:
        OfflineError: not cached and the download failed (one line naming the URL).
        CheckpointError: the download failed its hash check, or the cached file is unreadable.
    """
    spec = vision_encoder_spec(name)
    weights = torchgeo_weights(name)
    url, cached = str(weights.url), torchgeo_cache_path(name)
    was_cached = cached.is_file()
    if not was_cached and os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
        raise _offline_error(spec, url, cached, "HF_HUB_OFFLINE is set and the file is not cached")
    try:
        with _default_socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(sys.stderr):
            data = weights.get_state_dict(
                progress=True, map_location="cpu", weights_only=True, check_hash=VERIFY_DOWNLOAD_HASH
            )
    except Exception as error:
        if was_cached:
            raise CheckpointError(
                f"cannot read the cached {spec.name} weights {cached} ({_one_line(error)}); delete it to download again"
            ) from None
        if isinstance(error, OSError):  # URLError, HTTPError, timeouts, connection errors
            raise _offline_error(spec, url, cached, _one_line(error)) from None
        if "hash" in str(error).lower():
            raise CheckpointError(
                f"the {spec.name} weights downloaded from {url} failed their SHA-256 check ({_one_line(error)}); "
                "try again, or download the file yourself and pass --vision-weights PATH"
            ) from None
        raise CheckpointError(f"cannot load the {spec.name} weights from {url} ({_one_line(error)})") from None
    return _unwrap_state_dict(data, url)


def _offline_error(spec: VisionEncoderSpec, url: str, cached: Path, reason: str) -> OfflineError:
    return OfflineError(
        f"cannot download the {spec.name} weights from {url} ({reason}); pass --vision-weights PATH with a local "
        f"copy of that file (or copy it to {cached}), or --vision-weights none for random weights"
    )


@contextlib.contextmanager
def _default_socket_timeout(seconds: float) -> Iterator[None]:
    """Temporarily set a global socket timeout if none is set (urllib's urlopen uses it)."""
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        if previous is None:
            socket.setdefaulttimeout(None)


def _one_line(error: BaseException, limit: int = 160) -> str:
    """An exception as a short single line: ``Type: message``."""
    message = " ".join(str(error).split())
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def frozen_backbone_eval_fn(name: str) -> Callable[[nn.Module], None]:
    """``set_frozen_backbone_eval`` bound to ``name`` (picklable): a callable for a model's ``train()`` override."""
    vision_encoder_spec(name)
    return functools.partial(set_frozen_backbone_eval, name=name)
