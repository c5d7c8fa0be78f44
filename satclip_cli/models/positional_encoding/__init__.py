"""Positional encodings: (lon, lat) in degrees ``[N, 2]`` -> features ``[N, D]``.

:func:`build_positional_encoding` is the one factory; names follow the SatCLIP /
locationencoder family: ``sphericalharmonics`` plus ``direct``, ``cartesian3d``,
``wrap``, ``grid``, ``theory``, ``spherec``, ``spherec+``, ``spherem``, ``spherem+``.
"""

from __future__ import annotations

from typing import Any

from satclip_cli.models.positional_encoding.base import PositionalEncoding
from satclip_cli.models.positional_encoding.spherical_harmonics_encoding import SphericalHarmonics

#: Accepted names; the original code's spellings ``spherecplus``/``spheremplus`` are aliases.
ENCODINGS = (
    "sphericalharmonics",
    "direct",
    "cartesian3d",
    "wrap",
    "grid",
    "theory",
    "spherec",
    "spherec+",
    "spherem",
    "spherem+",
)
_ALIASES = {"spherecplus": "spherec+", "spheremplus": "spherem+", "sh": "sphericalharmonics"}


def canonical_encoding_name(name: str) -> str:
    """Normalise an encoding name (aliases, case); raise ``ValueError`` if unknown."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in ENCODINGS:
        raise ValueError(f"unknown positional encoding {name!r}; use one of {', '.join(ENCODINGS)}")
    return key


def build_positional_encoding(name: str, **params: Any) -> PositionalEncoding:
    """Build a positional encoding by name.

    Args:
        name: one of :data:`ENCODINGS` (or an alias).
        **params: encoding parameters. ``sphericalharmonics``: ``legendre_polys`` (L),
            ``convention`` (``satclip`` | ``closed-form`` | ``orthonormal``), ``method``
            (``exact`` | ``legacy``). Multi-scale sinusoidal encodings (``grid``,
            ``theory``, ``sphere*``): ``frequency_num``, ``min_radius``, ``max_radius``.
            Unused parameters are ignored so a full model config can be passed.
    """
    key = canonical_encoding_name(name)
    if key == "sphericalharmonics":
        return SphericalHarmonics(
            legendre_polys=int(params.get("legendre_polys", 10)),
            convention=params.get("convention", "satclip"),
            method=params.get("method", "exact"),
        )
    from satclip_cli.models.positional_encoding import simple_encodings, sinusoidal_encodings

    if key in ("direct", "cartesian3d", "wrap"):
        return simple_encodings.build(key)
    return sinusoidal_encodings.build(
        key,
        frequency_num=int(params.get("frequency_num", 10)),
        min_radius=float(params.get("min_radius", 1.0)),
        max_radius=float(params.get("max_radius", 360.0)),
    )


__all__ = [
    "ENCODINGS",
    "PositionalEncoding",
    "SphericalHarmonics",
    "build_positional_encoding",
    "canonical_encoding_name",
]
