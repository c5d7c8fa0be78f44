"""Parameter-free low-dimensional encodings: ``direct``, ``cartesian3d`` and ``wrap``.

All three map ``[N, 2]`` (lon, lat) in degrees to ``[N, D]`` features with plain torch
ops, so they keep the input's dtype and device and are differentiable. The feature
values and column order follow the official SatCLIP implementation, which converts
degrees to radians for all three (``torch.deg2rad``):

=============== === =====================================================================
name            D   features (λ = lon, φ = lat, both in radians)
=============== === =====================================================================
``direct``      2   ``(λ - π, φ - π)``
``cartesian3d`` 3   ``(cos λ cos φ, sin λ cos φ, sin φ)`` (unit vector on the sphere)
``wrap``        4   ``(cos λ, sin λ, cos φ, sin φ)`` (Mac Aodha et al. 2019)
=============== === =====================================================================

None of them has parameters or buffers, so their ``state_dict`` is empty, as in the
official modules.
"""

from __future__ import annotations

import math

import torch

from satclip_cli.models.positional_encoding.base import PositionalEncoding


def check_lonlat(lonlat: torch.Tensor) -> torch.Tensor:
    """Validate an ``[N, 2]`` (lon, lat) tensor; promote non-float input to the default float dtype.

    Raises:
        ValueError: if the shape is not ``[N, 2]``.
    """
    if lonlat.ndim != 2 or lonlat.shape[1] != 2:
        raise ValueError(f"expected a [N, 2] (lon, lat) tensor, got shape {tuple(lonlat.shape)}")
    if not lonlat.is_floating_point():
        lonlat = lonlat.to(torch.get_default_dtype())
    return lonlat


class Direct(PositionalEncoding):
    """``[N, 2]`` (lon, lat) degrees -> ``[N, 2]`` radians shifted by ``-π``.

    Output columns: ``(lon_rad - π, lat_rad - π)``. This is the official SatCLIP
    ``direct`` encoding verbatim. Official quirk: its comment says the shift places the
    coordinates "in a -pi, pi range", but subtracting ``π`` after the radian conversion
    actually gives longitudes in ``[-2π, 0]`` and latitudes in ``[-3π/2, -π/2]``; we
    reproduce the values, not the comment.
    """

    def __init__(self) -> None:
        super().__init__()
        self.embedding_dim = 2

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """``[N, 2]`` degrees -> ``[N, 2]`` (radians - π)."""
        lonlat = check_lonlat(lonlat)
        return torch.deg2rad(lonlat) - math.pi


class Cartesian3D(PositionalEncoding):
    """``[N, 2]`` (lon, lat) degrees -> ``[N, 3]`` unit vector ``(x, y, z)`` on the sphere.

    Columns: ``x = cos(lon) cos(lat)``, ``y = sin(lon) cos(lat)``, ``z = sin(lat)``, with
    the angles in radians. Continuous across the antimeridian and at the poles.
    """

    def __init__(self) -> None:
        super().__init__()
        self.embedding_dim = 3

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """``[N, 2]`` degrees -> ``[N, 3]`` dimensionless unit vectors."""
        lonlat = check_lonlat(lonlat)
        rad = torch.deg2rad(lonlat)
        lon, lat = rad[:, 0], rad[:, 1]
        cos_lat = torch.cos(lat)
        return torch.stack((torch.cos(lon) * cos_lat, torch.sin(lon) * cos_lat, torch.sin(lat)), dim=1)


class Wrap(PositionalEncoding):
    """``[N, 2]`` (lon, lat) degrees -> ``[N, 4]`` ``(cos lon, sin lon, cos lat, sin lat)``.

    Angles are converted to radians first. Each coordinate is wrapped onto a circle
    independently, so the encoding is continuous across the antimeridian (but, unlike
    :class:`Cartesian3D`, distinguishes longitudes at the poles).
    """

    def __init__(self) -> None:
        super().__init__()
        self.embedding_dim = 4

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """``[N, 2]`` degrees -> ``[N, 4]`` dimensionless features."""
        lonlat = check_lonlat(lonlat)
        rad = torch.deg2rad(lonlat)
        lon, lat = rad[:, 0], rad[:, 1]
        return torch.stack((torch.cos(lon), torch.sin(lon), torch.cos(lat), torch.sin(lat)), dim=1)


_CLASSES: dict[str, type[PositionalEncoding]] = {"direct": Direct, "cartesian3d": Cartesian3D, "wrap": Wrap}


def build(name: str) -> PositionalEncoding:
    """Build ``direct``, ``cartesian3d`` or ``wrap`` (case-insensitive).

    Raises:
        ValueError: for any other name.
    """
    key = name.lower()
    if key not in _CLASSES:
        raise ValueError(f"not a simple positional encoding: {name!r}; use one of {', '.join(_CLASSES)}")
    return _CLASSES[key]()


__all__ = ["Cartesian3D", "Direct", "Wrap", "build", "check_lonlat"]
