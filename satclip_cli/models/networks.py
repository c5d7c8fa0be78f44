"""Neural networks that map positional-encoding features ``[N, D_in]`` to embeddings ``[N, D_out]``.

* :class:`SirenNet` — sinusoidal representation network (Sitzmann et al. 2020) as used by
  SatCLIP: the first layer uses ``w0 = 30``, hidden layers ``w0 = 1``, dropout (p = 0.5)
  on each hidden pre-activation during training, and a linear last layer.
* :class:`MLP` — ReLU multilayer perceptron.
* :class:`FCNet` — residual fully connected network of Mac Aodha et al. (2019).
* ``linear`` — a single :class:`torch.nn.Linear`.

Parameter names follow the original SatCLIP modules so that official state dicts load
unchanged (``layers.{i}.weight``, ``last_layer.weight``; ``features.{i}``; ``feats.{i}``,
``class_emb``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NETWORKS = ("siren", "mlp", "linear", "fcnet")


class SineLayer(nn.Module):
    """``sin(w0 · dropout(x Wᵀ + b))`` with SIREN initialisation; identity activation if ``linear``.

    Weights and biases are drawn from ``U(-s, s)`` with ``s = 1/dim_in`` for the first
    layer and ``s = sqrt(c/dim_in)/w0`` otherwise, which keeps activations well spread
    through depth.
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        w0: float = 1.0,
        c: float = 6.0,
        is_first: bool = False,
        dropout: float = 0.0,
        linear: bool = False,
    ) -> None:
        super().__init__()
        self.w0 = w0
        self.dropout = dropout
        self.linear = linear
        bound = (1.0 / dim_in) if is_first else (math.sqrt(c / dim_in) / w0)
        self.weight = nn.Parameter(torch.empty(dim_out, dim_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(dim_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if self.linear:
            return out
        if self.dropout > 0:
            out = F.dropout(out, p=self.dropout, training=self.training)
        return torch.sin(self.w0 * out)


class SirenNet(nn.Module):
    """SIREN: ``num_layers`` sine layers of width ``dim_hidden``, then a linear layer to ``dim_out``."""

    def __init__(
        self,
        dim_in: int,
        dim_hidden: int,
        dim_out: int,
        num_layers: int = 2,
        w0: float = 1.0,
        w0_initial: float = 30.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            SineLayer(
                dim_in if i == 0 else dim_hidden,
                dim_hidden,
                w0=w0_initial if i == 0 else w0,
                is_first=i == 0,
                dropout=dropout,
            )
            for i in range(num_layers)
        )
        self.last_layer = SineLayer(dim_hidden, dim_out, w0=w0, linear=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.last_layer(x)


class MLP(nn.Module):
    """``Linear-ReLU`` input layer, ``num_layers`` hidden ``Linear-ReLU`` layers, linear output."""

    def __init__(self, dim_in: int, dim_hidden: int, dim_out: int, num_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(dim_in, dim_hidden), nn.ReLU()]
        for _ in range(num_layers):
            layers += [nn.Linear(dim_hidden, dim_hidden), nn.ReLU()]
        layers.append(nn.Linear(dim_hidden, dim_out))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ResidualLayer(nn.Module):
    """``x + relu(W2 · dropout(relu(W1 x)))`` (Mac Aodha et al. 2019)."""

    def __init__(self, width: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.w1 = nn.Linear(width, width)
        self.w2 = nn.Linear(width, width)
        self.dropout1 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout1(F.relu(self.w1(x)))
        return x + F.relu(self.w2(y))


class FCNet(nn.Module):
    """Linear-ReLU stem, ``num_layers`` residual layers (4 in the original), bias-free output layer."""

    def __init__(self, dim_in: int, dim_hidden: int, dim_out: int, num_layers: int = 4) -> None:
        super().__init__()
        self.feats = nn.Sequential(
            nn.Linear(dim_in, dim_hidden),
            nn.ReLU(),
            *(ResidualLayer(dim_hidden) for _ in range(num_layers)),
        )
        self.class_emb = nn.Linear(dim_hidden, dim_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.class_emb(self.feats(x))


def build_network(
    name: str, dim_in: int, dim_out: int, dim_hidden: int = 256, num_layers: int = 2, dropout: float = 0.5
) -> nn.Module:
    """Build a network by name (``siren``, ``mlp``, ``linear``, ``fcnet``).

    Args:
        name: network kind.
        dim_in: number of input features (the positional encoding's dimension).
        dim_out: embedding dimension.
        dim_hidden: hidden width (SatCLIP's ``capacity``; ignored by ``linear``).
        num_layers: hidden layers (SatCLIP's ``num_hidden_layers``; residual layers for ``fcnet``).
        dropout: ``siren`` only: dropout probability of the sine layers in training (SatCLIP: 0.5).
    """
    if name == "siren":
        return SirenNet(dim_in, dim_hidden, dim_out, num_layers=num_layers, dropout=dropout)
    if name == "mlp":
        return MLP(dim_in, dim_hidden, dim_out, num_layers=num_layers)
    if name == "linear":
        return nn.Linear(dim_in, dim_out)
    if name == "fcnet":
        return FCNet(dim_in, dim_hidden, dim_out, num_layers=num_layers)
    raise ValueError(f"unknown network {name!r}; use one of {NETWORKS}")
