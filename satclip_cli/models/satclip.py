"""The SatCLIP model: a vision encoder and a location encoder in one embedding space, CLIP-style.

The module layout matches the original so that checkpoints are interchangeable: ``visual.*``
(the vision encoder), ``location.nnet.*`` (the location encoder; the positional encoding has no
weights), ``nnet.*`` (the same network registered a second time, as the original does) and
``logit_scale``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from satclip_cli.models.location_encoder import LocationEncoder

INITIAL_LOGIT_SCALE = math.log(1 / 0.07)
"""CLIP's initial temperature: logits = exp(logit_scale) * cosine similarity."""

MAX_LOGIT_SCALE = math.log(100.0)
"""CLIP clamps exp(logit_scale) at 100."""


class SatCLIPModel(nn.Module):
    """Vision encoder + location encoder + learnable logit scale.

    ``encode_image(images [B, C, H, W] float32) -> [B, E]``; ``encode_location(points [B, 2]
    (lon, lat) degrees) -> [B, E]`` float32, computed in ``location_dtype`` (float64 like the
    released models by default). ``frozen_backbone_eval`` is called whenever the model is put in
    training mode, so a frozen vision backbone stays in eval mode (its BatchNorm statistics
    do not drift).
    """

    def __init__(
        self,
        visual: nn.Module,
        location: LocationEncoder,
        *,
        location_dtype: torch.dtype = torch.float64,
        frozen_backbone_eval: Callable[[nn.Module], None] | None = None,
    ) -> None:
        super().__init__()
        self.visual = visual
        self.location = location.to(location_dtype)
        self.nnet = self.location.nnet  # registered twice, as in the original (official loaders expect model.nnet.*)
        self.logit_scale = nn.Parameter(torch.tensor(INITIAL_LOGIT_SCALE, dtype=torch.float32))
        self.location_dtype = location_dtype
        self._frozen_backbone_eval = frozen_backbone_eval

    def train(self, mode: bool = True) -> SatCLIPModel:
        super().train(mode)
        if mode and self._frozen_backbone_eval is not None:
            self._frozen_backbone_eval(self.visual)
        return self

    def compile_visual(self) -> None:
        """Run the vision encoder through ``torch.compile`` (weights and state-dict keys unchanged)."""
        object.__setattr__(self, "_compiled_visual", torch.compile(self.visual))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        compiled = self.__dict__.get("_compiled_visual")
        return compiled(images) if compiled is not None else self.visual(images)

    def encode_location(self, points: torch.Tensor) -> torch.Tensor:
        return self.location(points.to(self.location_dtype)).float()

    def clamp_logit_scale(self) -> None:
        """Keep exp(logit_scale) within [1, 100], as CLIP does after every step."""
        with torch.no_grad():
            self.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
