"""Small encoders, inputs and checkpoint readers shared by the vision-encoder tests."""

from __future__ import annotations

from pathlib import Path

import torch

from satclip_cli.models.vision.specs import VISION_ENCODERS

TINY = {
    "clip-vit": {"vision_layers": 2, "vision_width": 32, "vision_patch_size": 16, "image_resolution": 64},
    "clip-resnet": {"vision_layers": (1, 1, 1, 1), "vision_width": 16, "image_resolution": 64},
}
"""Build settings of small ``clip-*`` encoders (64 px inputs)."""


def visual_state(ckpt_path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """``(hyper_parameters, model.visual.* state dict without the prefix)`` of an official checkpoint."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    prefix = "model.visual."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    return ckpt["hyper_parameters"], state


def tiny_input(name: str, batch: int = 2) -> torch.Tensor:
    """Seeded random 13-band images at the input size ``name`` takes for 64 px settings."""
    size = VISION_ENCODERS[name].resolve_input_size(64)
    return torch.rand(batch, 13, size, size, generator=torch.Generator().manual_seed(0))
