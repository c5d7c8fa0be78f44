"""CLIP's ModifiedResNet (``clip-resnet``), trained from scratch.

A 3-convolution stem, anti-aliased strided bottlenecks and attention pooling: images
``float32 [B, C, R, R]`` -> embeddings ``[B, output_dim]``. Attribute names are those of the
original CLIP code, so official ``model.visual.*`` state dicts load strictly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from satclip_cli.errors import SatclipError
from satclip_cli.models.vision.specs import MOCO_IN_CHANNELS


class Bottleneck(nn.Module):
    """Anti-aliased bottleneck ``[B, inplanes, H, W]`` -> ``[B, 4 planes, H/stride, W/stride]``.

    Convolutions all have stride 1; a stride > 1 is an average pool after the 3x3 convolution
    (and before the 1x1 projection of the shortcut, ``downsample`` = ``-1`` pool, ``0`` conv,
    ``1`` batch norm).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu3 = nn.ReLU(inplace=True)
        self.downsample: nn.Sequential | None = None
        if stride > 1 or inplanes != out:
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("-1", nn.AvgPool2d(stride)),
                        ("0", nn.Conv2d(inplanes, out, 1, stride=1, bias=False)),
                        ("1", nn.BatchNorm2d(out)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + shortcut)


class AttentionPool2d(nn.Module):
    """Attention pooling ``[B, C, S, S]`` -> ``[B, output_dim]``.

    The spatial mean is prepended to the ``S*S`` tokens, positional embeddings are added and the
    mean token attends (``num_heads`` heads) to all tokens; ``c_proj`` maps the result to
    ``output_dim``. :meth:`pool` stops before ``c_proj`` (``[B, C]``).
    """

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads: int, output_dim: int | None = None) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise SatclipError(f"attention pooling width {embed_dim} is not divisible by {num_heads} heads")
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``[B, C, S, S]`` -> attention-pooled features ``[B, C]`` (before ``c_proj``)."""
        tokens = x.flatten(2).transpose(1, 2)  # [B, S*S, C]
        tokens = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
        tokens = tokens + self.positional_embedding.to(tokens.dtype)  # [B, L, C]
        B, L, C = tokens.shape
        h = self.num_heads

        def heads(t: torch.Tensor) -> torch.Tensor:  # [B, n, C] -> [B, h, n, C/h]
            return t.reshape(B, t.shape[1], h, C // h).transpose(1, 2)

        q = heads(self.q_proj(tokens[:, :1]))
        k, v = heads(self.k_proj(tokens)), heads(self.v_proj(tokens))
        pooled = F.scaled_dot_product_attention(q, k, v)  # [B, h, 1, C/h]; scale 1/sqrt(C/h)
        return pooled.transpose(1, 2).reshape(B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.pool(x))


class ModifiedResNet(nn.Module):
    """CLIP's ModifiedResNet: images ``[B, C, R, R]`` -> ``[B, output_dim]``.

    Stem of three 3x3 convolutions (the first with stride 2) and a 2x2 average pool, four stages of
    :class:`Bottleneck` blocks (``layers`` blocks each, widths ``width .. 8 width``, x4 expansion),
    and :class:`AttentionPool2d` over the ``R/32 x R/32`` map of ``32 width`` channels.
    Initialised like CLIP: attention-pool projections ~ N(0, (32 width)^-1/2), every bottleneck's
    last batch-norm weight zero (blocks start as identities).
    """

    def __init__(
        self,
        layers: Sequence[int],
        output_dim: int,
        heads: int,
        input_resolution: int = 224,
        width: int = 64,
        in_channels: int = MOCO_IN_CHANNELS,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or min(layers) < 1 or width < 2 or input_resolution < 32:
            raise SatclipError(
                f"clip-resnet needs 4 stage depths >= 1 (got {tuple(layers)}), width >= 2 and image_resolution >= 32"
            )
        self.output_dim = output_dim
        self.input_resolution = input_resolution
        half = width // 2
        self.conv1 = nn.Conv2d(in_channels, half, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(half, half, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(half, width, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        stages = []
        for index, (blocks, stride) in enumerate(zip(layers, (1, 2, 2, 2), strict=True)):
            planes = width * 2**index
            stage = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            stage += [Bottleneck(inplanes, planes) for _ in range(1, blocks)]
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.attnpool = AttentionPool2d(input_resolution // 32, width * 32, heads, output_dim)
        self._init_like_clip()

    def _init_like_clip(self) -> None:
        std = self.attnpool.c_proj.in_features**-0.5
        for proj in (self.attnpool.q_proj, self.attnpool.k_proj, self.attnpool.v_proj, self.attnpool.c_proj):
            nn.init.normal_(proj.weight, std=std)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                nn.init.zeros_(block.bn3.weight)

    @property
    def num_features(self) -> int:
        """Width of the backbone features (before ``attnpool.c_proj``): 32 x width."""
        return self.attnpool.c_proj.in_features

    def backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> attention-pooled features ``[B, 32 width]``."""
        x = images.to(self.conv1.weight.dtype)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.avgpool(self.relu3(self.bn3(self.conv3(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.attnpool.pool(x)

    def apply_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, 32 width]`` -> embeddings ``[B, output_dim]``."""
        return self.attnpool.c_proj(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, R, R]`` -> embeddings ``[B, output_dim]``."""
        return self.apply_head(self.backbone_features(images))
