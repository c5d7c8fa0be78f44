"""The vision encoders ``satclip train`` knows, by name, and their official hyper-parameters.

Five kinds (see :data:`VISION_ENCODERS`):

* ``moco-resnet18``, ``moco-resnet50``, ``moco-vit-s16`` — timm ``resnet18`` / ``resnet50`` /
  ``vit_small_patch16_224`` with 13 input bands and an ``embed_dim`` linear head (``fc`` or
  ``head``). Their default weights are torchgeo's SSL4EO-S12 MoCo weights
  (:mod:`~satclip_cli.models.vision.pretrained`); the backbone is then frozen and only the head is
  trained, as for the released SatCLIP models.
* ``clip-vit`` — a CLIP-style vision transformer trained from scratch
  (:mod:`~satclip_cli.models.vision.clip_vit`; official ``vision_layers`` is an int, the depth).
* ``clip-resnet`` — CLIP's ModifiedResNet trained from scratch
  (:mod:`~satclip_cli.models.vision.modified_resnet`; official ``vision_layers`` is 4 ints).

An official SatCLIP checkpoint describes its vision encoder in ``hyper_parameters``
(``vision_layers``, ``vision_width``, ``vision_patch_size``, ``image_resolution``, ``in_channels``):
:func:`official_vision_hparams` writes them, :func:`vision_encoder_from_hparams` reads them back.
This module imports neither torch nor timm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from satclip_cli.errors import CheckpointError, SatclipError

MOCO_IN_CHANNELS = 13
"""SSL4EO-S12 Sentinel-2 L1C bands B1–B12 with B8A and B10 (the MoCo weights' input)."""

DEFAULT_CLIP_VIT = {"vision_layers": 4, "vision_width": 128, "vision_patch_size": 32}
"""From-scratch ViT defaults: the original ``configs/default.yaml`` (depth 4, width 128, 32-px patches)."""

DEFAULT_CLIP_RESNET = {"vision_layers": (3, 4, 6, 3), "vision_width": 64, "vision_patch_size": 32}
"""From-scratch ModifiedResNet defaults: CLIP's RN50 depth and width (patch size unused)."""

_PLACEHOLDER_WIDTH, _PLACEHOLDER_PATCH = 128, 32  # what released MoCo checkpoints store (unused values)


@dataclass(frozen=True)
class VisionEncoderSpec:
    """What ``satclip train`` needs to know about one vision encoder kind.

    Attributes:
        name: the name the ``vision`` training setting takes.
        description: one line for help texts.
        official_layers: the official ``vision_layers`` hyper-parameter (``'moco_resnet18'`` ...),
            or ``None`` when it is the configured depth (an int for ``clip-vit``, 4 ints for
            ``clip-resnet``).
        input_size: fixed input side in pixels (224 for the ViT-S/16), or ``None`` for the
            configured ``image_resolution``.
        in_channels: fixed number of input bands (13 for MoCo), or ``None`` if configurable.
        frozen_backbone: only the head is trained (the released models' setting).
        head: name of the head inside the module (``fc``, ``head``, ``proj``, ``attnpool.c_proj``).
        timm_model: timm architecture, or ``None`` for the CLIP-style modules of this package.
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

    def is_head_key(self, key: str) -> bool:
        """Whether the parameter or state-dict ``key`` of the module belongs to the head (``fc.weight`` ...)."""
        return key == self.head or key.startswith(self.head + ".")

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
"""The vision encoders of ``satclip train``, by name (the ``vision`` training setting)."""

_BY_OFFICIAL_LAYERS = {spec.official_layers: spec.name for spec in VISION_ENCODERS.values() if spec.official_layers}


def vision_encoder_spec(name: str) -> VisionEncoderSpec:
    """The spec of ``name``: a :data:`VISION_ENCODERS` name, or an official ``vision_layers`` (``moco_resnet18``)."""
    spec = VISION_ENCODERS.get(name) or VISION_ENCODERS.get(_BY_OFFICIAL_LAYERS.get(name, ""))
    if spec is None:
        raise SatclipError(f"unknown vision encoder {name!r}; choose one of {', '.join(VISION_ENCODERS)}")
    return spec


def parse_vision_layers(name: str, value: Any) -> Any:
    """``vision_layers`` of a ``clip-*`` encoder: an int (``clip-vit``) or a tuple of 4 ints (``clip-resnet``).

    ``None`` gives the default; strings such as ``"4"`` or ``"3,4,6,3"`` (command line / YAML) are accepted.
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
    layers = parse_vision_layers(spec.name, vision_layers)
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
