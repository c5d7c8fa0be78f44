"""The image side of SatCLIP: vision encoders by name, built, loaded, frozen and split into backbone and head.

``specs`` (the known encoders and their official hyper-parameters), ``builder`` (:func:`build_vision_encoder`),
``clip_vit`` and ``modified_resnet`` (the CLIP-style modules trained from scratch), ``pretrained`` (local weight
files and the published SSL4EO-S12 MoCo weights), ``freezing`` (backbone / head split, frozen backbones).
"""

from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import apply_head, backbone_features, frozen_backbone_eval_fn
from satclip_cli.models.vision.specs import (
    VISION_ENCODERS,
    VisionEncoderSpec,
    official_vision_hparams,
    vision_encoder_from_hparams,
    vision_encoder_spec,
)

__all__ = [
    "VISION_ENCODERS",
    "VisionEncoderSpec",
    "apply_head",
    "backbone_features",
    "build_vision_encoder",
    "frozen_backbone_eval_fn",
    "official_vision_hparams",
    "vision_encoder_from_hparams",
    "vision_encoder_spec",
]
