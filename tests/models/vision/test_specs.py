"""The vision encoders by name, and their official hyper-parameters (to and from checkpoints)."""

from __future__ import annotations

import pytest
import torch

from satclip_cli.errors import CheckpointError, SatclipError
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import apply_head, feature_dim
from satclip_cli.models.vision.specs import (
    VISION_ENCODERS,
    official_vision_hparams,
    vision_encoder_from_hparams,
    vision_encoder_spec,
)
from tests.models.vision.helpers import TINY


def test_registry_lists_the_five_encoders() -> None:
    specs = VISION_ENCODERS
    assert list(specs) == ["moco-resnet18", "moco-resnet50", "moco-vit-s16", "clip-vit", "clip-resnet"]
    assert [specs[n].official_layers for n in specs] == ["moco_resnet18", "moco_resnet50", "moco_vit16", None, None]
    assert [specs[n].resolve_input_size(256) for n in specs] == [256, 256, 224, 256, 256]
    assert [specs[n].in_channels for n in specs] == [13, 13, 13, None, None]
    assert [specs[n].frozen_backbone for n in specs] == [True, True, True, False, False]
    assert vision_encoder_spec("moco_vit16").name == "moco-vit-s16"
    with pytest.raises(SatclipError, match="unknown vision encoder"):
        vision_encoder_spec("resnet18")


@pytest.mark.parametrize("name", list(VISION_ENCODERS))
def test_official_hparams_round_trip(name: str) -> None:
    hparams = {"embed_dim": 64, **official_vision_hparams(name, **TINY.get(name, {}))}
    keys = {"embed_dim", "vision_layers", "vision_width", "vision_patch_size", "image_resolution", "in_channels"}
    assert set(hparams) == keys
    rebuilt, kwargs = vision_encoder_from_hparams(hparams)
    assert rebuilt == name
    embed_dim = kwargs.pop("embed_dim")
    assert {"embed_dim": embed_dim, **official_vision_hparams(rebuilt, **kwargs)} == hparams
    if name != "moco-vit-s16":  # the rebuilt encoder has the right head (the ViT-S/16 is slow to build)
        visual = build_vision_encoder(rebuilt, weights="none", embed_dim=embed_dim, **kwargs)
        assert apply_head(visual, name, torch.zeros(1, feature_dim(visual, name))).shape == (1, 64)


def test_official_hparams_values() -> None:
    assert official_vision_hparams("moco-resnet18") == {
        "vision_layers": "moco_resnet18",
        "vision_width": 128,
        "vision_patch_size": 32,
        "image_resolution": 256,
        "in_channels": 13,
    }
    assert official_vision_hparams("clip-resnet", vision_layers=(2, 2, 2, 2))["vision_layers"] == [2, 2, 2, 2]
    assert official_vision_hparams("clip-vit")["vision_layers"] == 4  # the original default config


@pytest.mark.parametrize(
    "bad",
    [{"embed_dim": 8}, {"embed_dim": 8, "vision_layers": "moco_resnet101"}, {"embed_dim": 8, "vision_layers": [1, 2]}],
)
def test_from_hparams_rejects_unknown_settings(bad: dict) -> None:
    with pytest.raises(CheckpointError):
        vision_encoder_from_hparams({"vision_width": 64, **bad})
