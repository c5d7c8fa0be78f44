"""The two-tower SatCLIP model: the original layout, the logit scale, float64 locations, a frozen backbone."""

import math

import pytest
import torch

from satclip_cli.models.location_encoder import LocationEncoderConfig, build_location_encoder
from satclip_cli.models.satclip import MAX_LOGIT_SCALE, SatCLIPModel
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import frozen_backbone_eval_fn


def tiny_model(vision: str = "clip-vit") -> SatCLIPModel:
    kwargs = {"vision_layers": 1, "vision_width": 32, "vision_patch_size": 16} if vision == "clip-vit" else {}
    visual = build_vision_encoder(vision, embed_dim=8, image_resolution=32, in_channels=13, weights="none", **kwargs)
    location = build_location_encoder(LocationEncoderConfig(legendre_polys=3, capacity=16, embed_dim=8))
    return SatCLIPModel(visual, location, frozen_backbone_eval=frozen_backbone_eval_fn(vision))


def test_layout_matches_the_original_model():
    model = tiny_model()
    keys = set(model.state_dict())
    location = {k for k in keys if k.startswith("location.nnet.")}
    assert location and {"nnet." + k[len("location.nnet.") :] for k in location} <= keys  # registered twice
    assert "logit_scale" in keys and any(k.startswith("visual.") for k in keys)
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07), rel=1e-7)
    assert all(p.dtype == torch.float64 for p in model.location.parameters())
    # the duplicate is the same module: one set of parameters to optimise
    assert len(list(model.parameters())) == len({id(p) for p in model.parameters()})


def test_logit_scale_is_clamped_like_clip():
    model = tiny_model()
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE, rel=1e-7) and math.log(100) == MAX_LOGIT_SCALE


def test_location_features_are_float32_from_float64_points():
    model = tiny_model().eval()
    features = model.encode_location(torch.tensor([[12.5, 41.9], [-70.0, -33.0]], dtype=torch.float64))
    assert features.dtype == torch.float32 and features.shape == (2, 8)


def test_a_frozen_backbone_stays_in_eval_mode_in_training():
    model = tiny_model("moco-resnet18").train()
    assert not model.visual.bn1.training and not model.visual.layer1[0].bn1.training
    assert model.visual.fc.training and model.location.training
