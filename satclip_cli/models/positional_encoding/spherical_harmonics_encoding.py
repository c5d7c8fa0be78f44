"""The spherical-harmonics positional encoding as a module (exact or legacy evaluation)."""

from __future__ import annotations

import torch

from satclip_cli.models.positional_encoding.base import PositionalEncoding
from satclip_cli.models.positional_encoding.legacy_harmonics import legacy_spherical_harmonics
from satclip_cli.models.positional_encoding.spherical_harmonics import CONVENTIONS, spherical_harmonics

METHODS = ("exact", "legacy")


class SphericalHarmonics(PositionalEncoding):
    """``[N, 2]`` (lon, lat) degrees -> ``[N, L²]`` real spherical-harmonic features.

    The exact features come features-major (the ``[N, L²]`` transpose of a contiguous
    ``[L², N]`` tensor, see :func:`spherical_harmonics`); ``.contiguous()`` if a row-major
    copy is needed.

    Args:
        legendre_polys: number of degrees L.
        convention: ``satclip`` (released models), ``closed-form`` or ``orthonormal``.
        method: ``exact`` (stable recurrence; default) or ``legacy`` (the original
            expanded-polynomial arithmetic, ``satclip`` convention only; see
            :mod:`satclip_cli.models.positional_encoding.legacy_harmonics`).
    """

    def __init__(self, legendre_polys: int = 10, convention: str = "satclip", method: str = "exact") -> None:
        super().__init__()
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown spherical-harmonics convention {convention!r}; use one of {CONVENTIONS}")
        if method not in METHODS:
            raise ValueError(f"unknown spherical-harmonics method {method!r}; use one of {METHODS}")
        if method == "legacy" and convention != "satclip":
            raise ValueError("the legacy evaluation exists only for the 'satclip' (analytic) convention")
        if legendre_polys < 1:
            raise ValueError(f"legendre_polys must be >= 1, got {legendre_polys}")
        self.legendre_polys = legendre_polys
        self.convention = convention
        self.method = method
        self.embedding_dim = legendre_polys**2

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        if self.method == "legacy":
            # The original arithmetic ran in float64; in float32 it would be meaningless.
            return legacy_spherical_harmonics(lonlat.to(torch.float64), self.legendre_polys).to(lonlat.dtype)
        # Features-major: the network's first layer takes any strides, so skip a transposed copy.
        return spherical_harmonics(lonlat, self.legendre_polys, self.convention, features_major=True)

    def extra_repr(self) -> str:
        return f"L={self.legendre_polys}, convention={self.convention}, method={self.method}"
