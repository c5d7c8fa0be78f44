"""Building encoders by name: sizes from settings, official checkpoints' weights load strictly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from satclip_cli.errors import SatclipError
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import head_parameter_names
from satclip_cli.models.vision.specs import vision_encoder_from_hparams
from tests.models.vision.helpers import tiny_input, visual_state


def test_moco_encoders_take_13_bands() -> None:
    with pytest.raises(SatclipError, match="13 bands"):
        build_vision_encoder("moco-resnet18", in_channels=4, weights="none")


def test_vision_layers_from_cli_strings() -> None:
    small = {"vision_width": 16, "image_resolution": 64, "weights": "none"}
    resnet = build_vision_encoder("clip-resnet", vision_layers="1,2,1,1", **small)
    assert [len(stage) for stage in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)] == [1, 2, 1, 1]
    assert len(build_vision_encoder("clip-vit", vision_layers="3", **small).transformer.resblocks) == 3
    with pytest.raises(SatclipError, match="4 ints"):
        build_vision_encoder("clip-resnet", vision_layers=4, **small)
    with pytest.raises(SatclipError, match="one int"):
        build_vision_encoder("clip-vit", vision_layers=(1, 1, 1, 1), **small)


@pytest.mark.shared_data  # the full ResNet-18 vision tower (45 MB)
def test_fixture_resnet18_loads_strictly(shared_fixtures_dir: Path) -> None:
    hparams, state = visual_state(shared_fixtures_dir / "satclip_resnet18_l10.ckpt")
    name, kwargs = vision_encoder_from_hparams(hparams)
    assert name == "moco-resnet18"
    visual = build_vision_encoder(name, weights="none", **kwargs)
    visual.load_state_dict(state, strict=True)
    assert head_parameter_names(visual, name) == ["fc.weight", "fc.bias"]
    visual.eval()
    with torch.no_grad():
        assert visual(tiny_input(name, batch=1)).shape == (1, 256)
