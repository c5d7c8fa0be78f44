"""The location encoder: ``network(positional_encoding(lonlat))``.

A model is described by a :class:`LocationEncoderConfig` (plain data, JSON-serialisable,
like open_clip's model configs) and built by the one factory :func:`build_location_encoder`.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from satclip_cli.errors import shown
from satclip_cli.models.networks import NETWORKS, build_network
from satclip_cli.models.positional_encoding import build_positional_encoding, canonical_encoding_name

CONFIG_FORMAT = "satclip-location-encoder/1"

#: Allowed range of each size setting, checked before anything is built: SatCLIP uses L = 10 or 40,
#: widths of 256-512 and 2 hidden layers; L = 1,000,000 would ask for a 10^12-feature first layer.
SIZE_LIMITS = {
    "legendre_polys": (1, 200),
    "frequency_num": (1, 1024),
    "embed_dim": (1, 65_536),
    "capacity": (1, 65_536),
    "num_hidden_layers": (0, 256),
}
#: Most parameters a location encoder may have (4 GB of float32 weights).
MAX_PARAMETERS = 1_000_000_000


@dataclass(frozen=True)
class LocationEncoderConfig:
    """Everything needed to rebuild a location encoder (weights aside).

    Attributes:
        positional_encoding: encoding name (``sphericalharmonics``, ``spherec+``, ...).
        legendre_polys: spherical-harmonics degrees L (features: L²).
        sh_convention: ``satclip`` (official analytic), ``closed-form`` or ``orthonormal``.
        sh_method: ``exact`` (recurrence) or ``legacy`` (official expanded polynomials).
        frequency_num, min_radius, max_radius: parameters of the multi-scale sinusoidal encodings.
        network: ``siren``, ``mlp``, ``linear`` or ``fcnet``.
        embed_dim: output dimension.
        capacity: hidden width.
        num_hidden_layers: hidden layers (residual blocks for ``fcnet``).
        dropout: SIREN dropout probability in training mode (the released models: 0.5).
    """

    positional_encoding: str = "sphericalharmonics"
    legendre_polys: int = 10
    sh_convention: str = "satclip"
    sh_method: str = "exact"
    frequency_num: int = 10
    min_radius: float = 1.0
    max_radius: float = 360.0
    network: str = "siren"
    embed_dim: int = 256
    capacity: int = 512
    num_hidden_layers: int = 2
    dropout: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "positional_encoding", canonical_encoding_name(self.positional_encoding))
        if self.network not in NETWORKS:
            raise ValueError(f"unknown network {self.network!r}; use one of {NETWORKS}")
        for name, (low, high) in SIZE_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {shown(value)}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {shown(self.dropout)}")
        if parameter_estimate(self) > MAX_PARAMETERS:
            raise ValueError(
                f"the model would have about {parameter_estimate(self):.2g} parameters (more than "
                f"{MAX_PARAMETERS:.0e}); lower legendre_polys, capacity or num_hidden_layers"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, tagged with the config format."""
        return {"format": CONFIG_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocationEncoderConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        data = dict(data)
        fmt = data.pop("format", CONFIG_FORMAT)
        if fmt != CONFIG_FORMAT:
            raise ValueError(f"unsupported config format {fmt!r} (expected {CONFIG_FORMAT!r})")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def replace(self, **changes: Any) -> LocationEncoderConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def parameter_estimate(sizes: Any) -> int:
    """Roughly how many weights a location encoder has (its dense layers), from its sizes alone.

    ``sizes`` is anything with ``positional_encoding``, ``legendre_polys``, ``network``, ``embed_dim``,
    ``capacity`` and ``num_hidden_layers`` attributes (and optionally ``frequency_num``): a
    :class:`LocationEncoderConfig` or a training config, checked before anything is allocated.
    """
    try:
        encoding = canonical_encoding_name(str(sizes.positional_encoding))
    except ValueError:
        encoding = str(sizes.positional_encoding)
    if encoding == "sphericalharmonics":
        features = int(sizes.legendre_polys) ** 2
    else:
        features = 16 * int(getattr(sizes, "frequency_num", 10))
    embed_dim, capacity = int(sizes.embed_dim), int(sizes.capacity)
    if sizes.network == "linear":
        return (features + 1) * embed_dim
    hidden = max(int(sizes.num_hidden_layers), 1)
    return (features + 1) * capacity + (hidden - 1) * (capacity + 1) * capacity + (capacity + 1) * embed_dim


class LocationEncoder(nn.Module):
    """``[N, 2]`` (lon, lat) degrees -> ``[N, embed_dim]`` embeddings.

    Attribute names (``posenc``, ``nnet``) follow the original SatCLIP module, so the
    state dict keys are ``nnet.layers.0.weight`` and so on.
    """

    def __init__(self, config: LocationEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.posenc = build_positional_encoding(
            config.positional_encoding,
            legendre_polys=config.legendre_polys,
            convention=config.sh_convention,
            method=config.sh_method,
            frequency_num=config.frequency_num,
            min_radius=config.min_radius,
            max_radius=config.max_radius,
        )
        self.nnet = build_network(
            config.network,
            dim_in=self.posenc.embedding_dim,
            dim_out=config.embed_dim,
            dim_hidden=config.capacity,
            num_layers=config.num_hidden_layers,
            dropout=config.dropout,
        )

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """Embed ``[N, 2]`` (lon, lat) in degrees; the features follow the module's dtype."""
        dtype = next(self.nnet.parameters()).dtype
        return self.nnet(self.posenc(lonlat.to(dtype)))


def build_location_encoder(config: LocationEncoderConfig | None = None, **overrides: Any) -> LocationEncoder:
    """Build a freshly initialised location encoder from a config (default: SatCLIP's L=10 SIREN)."""
    config = config or LocationEncoderConfig()
    if overrides:
        config = config.replace(**overrides)
    return LocationEncoder(config)
