"""Backbone / head split of every encoder, and frozen backbones that stay frozen and in eval mode."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.freezing import (
    apply_head,
    backbone_features,
    feature_dim,
    freeze_backbone,
    frozen_backbone_eval_fn,
    head_parameter_names,
    is_backbone_frozen,
    set_frozen_backbone_eval,
    split_backbone_head,
)
from satclip_cli.models.vision.specs import VISION_ENCODERS
from tests.models.vision.helpers import TINY, tiny_input

_BUILT: dict[str, nn.Module] = {}


def _built(name: str) -> nn.Module:
    """One random-init encoder per kind for the whole module (the ViT-S/16 takes ~2 s to build)."""
    if name not in _BUILT:
        _BUILT[name] = build_vision_encoder(name, weights="none", embed_dim=32, **TINY.get(name, {}))
    return _BUILT[name]


@pytest.mark.parametrize("name", list(VISION_ENCODERS))
def test_head_of_backbone_features_is_forward(name: str) -> None:
    visual = _built(name).eval()
    images = tiny_input(name, batch=1 if name == "moco-vit-s16" else 2)
    with torch.no_grad():
        features = backbone_features(visual, name, images)
        embedded = visual(images)
        composed = apply_head(visual, name, features)
    assert features.shape == (images.shape[0], feature_dim(visual, name))
    assert embedded.shape == (images.shape[0], 32)
    torch.testing.assert_close(composed, embedded, atol=1e-6, rtol=1e-5)
    backbone, head = split_backbone_head(visual, name)
    assert len(backbone) + len(head) == len(list(visual.parameters()))
    assert sum(p.numel() for p in head) == sum(
        p.numel() for n, p in visual.named_parameters() if n in head_parameter_names(visual, name)
    )


def test_feature_dims_of_moco_encoders() -> None:
    assert [feature_dim(_built(n), n) for n in ("moco-resnet18", "moco-resnet50", "moco-vit-s16")] == [
        512,
        2048,
        384,
    ]
    assert head_parameter_names(_built("moco-vit-s16"), "moco-vit-s16") == ["head.weight", "head.bias"]
    assert head_parameter_names(_built("clip-vit"), "clip-vit") == ["proj"]
    assert head_parameter_names(_built("clip-resnet"), "clip-resnet") == [
        "attnpool.c_proj.weight",
        "attnpool.c_proj.bias",
    ]


@pytest.mark.parametrize("name", ["moco-resnet18", "moco-vit-s16"])
def test_moco_encoders_train_only_the_head(name: str) -> None:
    visual = _built(name)
    trainable = [n for n, p in visual.named_parameters() if p.requires_grad]
    assert trainable == head_parameter_names(visual, name)
    assert is_backbone_frozen(visual, name)


def test_freeze_is_a_no_op_for_clip_encoders() -> None:
    for name in ("clip-vit", "clip-resnet"):
        visual = build_vision_encoder(name, weights="none", embed_dim=8, **TINY[name])
        freeze_backbone(visual, name)
        assert all(p.requires_grad for p in visual.parameters())
        assert not is_backbone_frozen(visual, name)


def _bn_state(visual: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in visual.state_dict().items() if "running" in k or "num_batches" in k}


def test_frozen_batchnorm_statistics_do_not_drift_after_train() -> None:
    visual = build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    visual.train()  # what Lightning does at the start of every epoch
    before = _bn_state(visual)
    images = tiny_input("moco-resnet18") * 5 + 3  # far from the initial running mean 0 / var 1
    out = visual(images)
    out.sum().backward()
    for key, value in visual.state_dict().items():
        if key in before:
            assert torch.equal(value, before[key]), key
    assert visual.training and visual.fc.training and not visual.bn1.training and not visual.layer1.training
    assert visual.fc.weight.grad is not None and visual.conv1.weight.grad is None
    # the feature-cache path too
    visual.train()
    backbone_features(visual, "moco-resnet18", images)
    assert all(torch.equal(visual.state_dict()[k], v) for k, v in before.items())


def test_unfrozen_batchnorm_statistics_do_move() -> None:
    """Control for the test above: without freezing, the same forward pass changes the statistics."""
    visual = build_vision_encoder("moco-resnet18", weights="none", embed_dim=8, freeze=False)
    visual.train()
    before = _bn_state(visual)
    visual(tiny_input("moco-resnet18") * 5 + 3)
    assert not torch.equal(visual.state_dict()["bn1.running_mean"], before["bn1.running_mean"])
    assert not is_backbone_frozen(visual, "moco-resnet18")


def test_set_frozen_backbone_eval_for_a_train_override() -> None:
    visual = build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    call = frozen_backbone_eval_fn("moco-resnet18")
    pickle.dumps(call)  # picklable, so a model holding it can be pickled
    visual.train()
    assert visual.bn1.training
    call(visual)
    assert visual.training and visual.fc.training
    assert not any(m.training for n, m in visual.named_modules() if n and not n.startswith("fc"))
    visual.eval()
    set_frozen_backbone_eval(visual, "moco-resnet18")
    assert not visual.fc.training
