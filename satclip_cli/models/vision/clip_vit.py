"""The CLIP-style vision transformer (``clip-vit``), trained from scratch.

Images ``float32 [B, C, R, R]`` -> embeddings ``[B, output_dim]``. Attribute names are those of the
original SatCLIP / CLIP code, so official ``model.visual.*`` state dicts load strictly. Also holds the
transformer pieces it is made of (float32 LayerNorm, QuickGELU, sequence-first residual attention blocks).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from satclip_cli.errors import SatclipError
from satclip_cli.models.vision.specs import MOCO_IN_CHANNELS


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 whatever the input dtype (output in the input dtype)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block on sequence-first tokens ``[L, B, D]`` -> ``[L, B, D]``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)  # batch_first=False: [L, B, D]
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [("c_fc", nn.Linear(width, 4 * width)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(4 * width, width))]
            )
        )
        self.ln_2 = LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``layers`` residual attention blocks (``resblocks.{i}``) on ``[L, B, width]`` tokens."""

    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*(ResidualAttentionBlock(width, heads) for _ in range(layers)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class ClipVisionTransformer(nn.Module):
    """CLIP-style ViT: images ``[B, C, R, R]`` -> ``[B, output_dim]``.

    Non-overlapping ``patch_size`` patches are projected to ``width`` (``conv1``, no bias), a class
    token is prepended, learned positional embeddings added, then ``ln_pre``, the transformer
    (sequence-first), ``ln_post`` on the class token (the backbone features ``[B, width]``) and the
    head ``@ proj`` (``[width, output_dim]``).
    """

    def __init__(
        self,
        input_resolution: int,
        patch_size: int,
        width: int,
        layers: int,
        heads: int,
        output_dim: int,
        in_channels: int = MOCO_IN_CHANNELS,
    ) -> None:
        super().__init__()
        if patch_size < 1 or input_resolution < patch_size:
            raise SatclipError(
                f"clip-vit needs image_resolution ({input_resolution}) >= patch size ({patch_size}) >= 1"
            )
        if layers < 1 or width < 1 or width % heads:
            raise SatclipError(f"clip-vit needs layers >= 1 and a width ({width}) divisible by its {heads} heads")
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width**-0.5
        grid = input_resolution // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    @property
    def num_features(self) -> int:
        """Width of the backbone features (before ``proj``)."""
        return self.class_embedding.shape[0]

    def backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> layer-normed class token ``[B, width]``."""
        x = self.conv1(images.to(self.conv1.weight.dtype))  # [B, width, g, g]
        x = x.flatten(2).transpose(1, 2)  # [B, g*g, width]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)  # [B, g*g+1, width]
        x = self.ln_pre(x).transpose(0, 1)  # [L, B, width]
        x = self.transformer(x)
        return self.ln_post(x[0])

    def apply_head(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``[B, width]`` -> embeddings ``[B, output_dim]``."""
        return features @ self.proj

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> embeddings ``[B, output_dim]``."""
        return self.apply_head(self.backbone_features(images))
