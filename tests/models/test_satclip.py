import math

import pytest
import torch

from satclip_cli.models.location_encoder import LocationEncoderConfig
from satclip_cli.models.satclip import MAX_LOGIT_SCALE, SatCLIPModel, build_location_part
from satclip_cli.models.vision.encoders import build_vision_encoder, frozen_backbone_eval_fn
from satclip_cli.training.lightning_module import no_weight_decay


def tiny_model(vision: str = "clip-vit") -> SatCLIPModel:
    kwargs = {"vision_layers": 1, "vision_width": 32, "vision_patch_size": 16} if vision == "clip-vit" else {}
    visual = build_vision_encoder(vision, embed_dim=8, image_resolution=32, in_channels=13, weights="none", **kwargs)
    location = build_location_part(LocationEncoderConfig(legendre_polys=3, capacity=16, embed_dim=8))
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


def test_weight_decay_spares_biases_norms_and_the_logit_scale():
    model = tiny_model()
    decayed = {name for name, p in model.named_parameters() if not no_weight_decay(name, p)}
    assert "logit_scale" not in decayed
    assert not any(name.endswith(".bias") or ".ln_" in name for name in decayed)
    assert "visual.conv1.weight" in decayed and "location.nnet.layers.0.weight" in decayed
