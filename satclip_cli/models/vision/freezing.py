"""Each vision encoder as a backbone and a head, and a frozen backbone kept frozen and in eval mode.

The head is the last linear map to ``embed_dim`` (:attr:`VisionEncoderSpec.head`: ``fc``, ``head``,
``proj`` or ``attnpool.c_proj``); the backbone is everything before it. For the feature-cache fast
path, ``apply_head(visual, name, backbone_features(visual, name, x)) == visual(x)``.

The ``moco-*`` encoders train their head only (:func:`freeze_backbone`). Their frozen backbone also
stays in eval mode, so BatchNorm running statistics never drift: :func:`frozen_backbone_eval_fn` gives
the callable a model's ``train()`` override calls, and a forward pre-hook covers every other caller.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from satclip_cli.models.vision.specs import vision_encoder_spec


def head_parameter_names(visual: nn.Module, name: str) -> list[str]:
    """Names of the head parameters (``fc.weight, fc.bias``; ``head.*``; ``proj``; ``attnpool.c_proj.*``)."""
    spec = vision_encoder_spec(name)
    return [key for key, _ in visual.named_parameters() if spec.is_head_key(key)]


def split_backbone_head(visual: nn.Module, name: str) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """``(backbone parameters, head parameters)`` of ``visual``, e.g. for optimizer parameter groups."""
    spec = vision_encoder_spec(name)
    backbone, head_params = [], []
    for key, param in visual.named_parameters():
        (head_params if spec.is_head_key(key) else backbone).append(param)
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


def frozen_backbone_eval_fn(name: str) -> Callable[[nn.Module], None]:
    """``set_frozen_backbone_eval`` bound to ``name`` (picklable): a callable for a model's ``train()`` override."""
    vision_encoder_spec(name)
    return functools.partial(set_frozen_backbone_eval, name=name)
