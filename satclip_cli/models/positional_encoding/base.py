"""Common interface of positional encodings: ``[N, 2]`` (lon, lat) degrees -> ``[N, D]`` features."""

from __future__ import annotations

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    """Base class: a parameter-free map from (lon, lat) in degrees to features.

    Subclasses set ``embedding_dim`` (D) in ``__init__`` and implement
    ``forward(lonlat: Tensor[N, 2]) -> Tensor[N, D]``. They keep the input's dtype
    and device and are differentiable.
    """

    embedding_dim: int

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
