"""Real spherical harmonics of all degrees l < L at once, by a stable recurrence.

Features are laid out as in SatCLIP: for ``l in 0..L-1``, for ``m in -l..l``, the
feature of ``(l, m)`` is column ``l*l + l + m``, so ``L`` degrees give ``L**2``
features.

Three conventions (the reference formulas are in the shared fixtures' README and
were checked against ``scipy.special.sph_harm_y``):

``orthonormal``
    Textbook real spherical harmonics without the Condon–Shortley phase, at
    colatitude ``90° - lat`` and azimuth ``lon``. Use this for new models.
``satclip``
    The official "analytic" features the released SatCLIP models were trained on:
    angles ``θ = lat + 90°`` (0 at the south pole) and ``φ = lon + 180°``. This is
    ``(-1)**l * orthonormal``, with the ``m = 0`` columns multiplied by ``π`` (a
    normalisation quirk of the original code generator that the released weights
    depend on).
``closed-form``
    The official closed-form variant: same angles, keeps the Condon–Shortley phase
    and the correct ``m = 0`` normalisation, i.e. ``satclip * (1/π if m == 0 else (-1)**m)``.

All three are computed *exactly* (to rounding) by the same recurrence:

* fully normalised associated Legendre functions ``P̄_l^m(cos θ)`` by the standard
  three-term recursion in ``l`` (stable for every degree, unlike expanded
  polynomials), vectorised over ``m`` and over points;
* ``cos(mλ)`` and ``sin(mλ)`` by the angle-addition (Chebyshev) recursion.

Every operation is a differentiable torch op, so the features work in float32 or
float64, on CPU or GPU, and inside autograd.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

CONVENTIONS = ("satclip", "closed-form", "orthonormal")


def degree_order_index(degree: int) -> list[tuple[int, int]]:
    """``(l, m)`` of each feature column for ``degree`` L (``L**2`` entries)."""
    return [(l, m) for l in range(degree) for m in range(-l, l + 1)]


@lru_cache(maxsize=32)
def _recurrence_coefficients(degree: int) -> tuple[list[list[float]], list[list[float]]]:
    """``a[l][m]``, ``b[l][m]`` of ``P̄_l^m = a (x P̄_{l-1}^m - b P̄_{l-2}^m)`` for ``m <= l-2``."""
    a: list[list[float]] = [[] for _ in range(degree)]
    b: list[list[float]] = [[] for _ in range(degree)]
    for l in range(2, degree):
        for m in range(l - 1):
            a[l].append(math.sqrt((4 * l * l - 1) / (l * l - m * m)))
            b[l].append(math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1)))
    return a, b


@lru_cache(maxsize=64)
def _assembly_plan(degree: int, convention: str) -> tuple[list[int], list[int], list[float]]:
    """Gather indices and scale factors that turn packed Legendre/trig tables into features.

    Returns ``(legendre_index, trig_index, scale)``, one entry per output column:
    feature = ``legendre[:, legendre_index] * trig[:, trig_index] * scale``, where
    ``legendre`` packs ``P̄_l^m`` for ``0 <= m <= l`` at ``l(l+1)/2 + m`` and ``trig``
    holds ``cos(mλ)`` at ``m`` and ``sin(mλ)`` at ``degree + m``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown spherical-harmonics convention {convention!r}; use one of {CONVENTIONS}")
    legendre_index, trig_index, scale = [], [], []
    for l, m in degree_order_index(degree):
        k = abs(m)
        legendre_index.append(l * (l + 1) // 2 + k)
        trig_index.append(k if m >= 0 else degree + k)
        factor = 1.0 if m == 0 else math.sqrt(2.0)
        if convention in ("satclip", "closed-form"):
            # θ = lat + 90° flips cos θ, so P̄_l^m changes by (-1)^(l+m); φ = lon + 180°
            # flips cos/sin(mφ) by (-1)^m. Together: (-1)^l.
            factor *= (-1.0) ** l
            if convention == "satclip" and m == 0:
                factor *= math.pi
            if convention == "closed-form" and m != 0:
                factor *= (-1.0) ** m
        scale.append(factor)
    return legendre_index, trig_index, scale


def _associated_legendre(x: torch.Tensor, s: torch.Tensor, degree: int) -> torch.Tensor:
    """Orthonormalised ``P̄_l^m(x)`` without Condon–Shortley phase, packed as ``[N, L(L+1)/2]``.

    ``x = cos θ`` and ``s = sin θ >= 0``, both ``[N]``. Normalised so that
    ``P̄_l^0 = Y_l^0`` and ``sqrt(2) P̄_l^m cos(mφ)`` is the real harmonic of order m.
    """
    a, b = _recurrence_coefficients(degree)
    x1 = x.unsqueeze(-1)
    rows: list[torch.Tensor] = [torch.full_like(x1, 1.0 / math.sqrt(4.0 * math.pi))]
    for l in range(1, degree):
        previous = rows[-1]
        parts = []
        if l >= 2:
            a_l = torch.tensor(a[l], dtype=x.dtype, device=x.device)
            b_l = torch.tensor(b[l], dtype=x.dtype, device=x.device)
            parts.append(a_l * (x1 * previous[:, : l - 1] - b_l * rows[-2][:, : l - 1]))
        diagonal = previous[:, l - 1 : l]
        parts.append(math.sqrt(2 * l + 1) * x1 * diagonal)  # m = l - 1
        parts.append(math.sqrt((2 * l + 1) / (2 * l)) * s.unsqueeze(-1) * diagonal)  # m = l
        rows.append(torch.cat(parts, dim=-1))
    return torch.cat(rows, dim=-1)


def _multiple_angle_table(cos_lon: torch.Tensor, sin_lon: torch.Tensor, degree: int) -> torch.Tensor:
    """``[cos(mλ) for m < L] + [sin(mλ) for m < L]`` as ``[N, 2L]`` by angle addition."""
    cosines = [torch.ones_like(cos_lon)]
    sines = [torch.zeros_like(sin_lon)]
    if degree > 1:
        cosines.append(cos_lon)
        sines.append(sin_lon)
    for _ in range(2, degree):
        # cos((m+1)λ) = cos(mλ)cos λ - sin(mλ) sin λ ; sin((m+1)λ) = sin(mλ)cos λ + cos(mλ) sin λ
        c, s = cosines[-1], sines[-1]
        cosines.append(c * cos_lon - s * sin_lon)
        sines.append(s * cos_lon + c * sin_lon)
    return torch.stack(cosines + sines, dim=-1)


def spherical_harmonics(lonlat: torch.Tensor, degree: int, convention: str = "satclip") -> torch.Tensor:
    """Real spherical-harmonic features of all degrees ``l < degree``.

    Args:
        lonlat: ``[N, 2]`` float tensor of (longitude, latitude) in degrees. Its dtype
            (float32 or float64) and device are kept.
        degree: number of Legendre degrees L (``legendre_polys`` in SatCLIP); L >= 1.
        convention: ``"satclip"`` (default, the released models), ``"closed-form"`` or
            ``"orthonormal"``; see the module docstring.

    Returns:
        ``[N, L**2]`` tensor; column ``l*l + l + m`` holds degree l, order m.
    """
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    if lonlat.ndim != 2 or lonlat.shape[-1] != 2:
        raise ValueError(f"lonlat must have shape [N, 2], got {tuple(lonlat.shape)}")
    if not lonlat.is_floating_point():
        lonlat = lonlat.to(torch.get_default_dtype())
    lon = torch.deg2rad(lonlat[:, 0])
    lat = torch.deg2rad(lonlat[:, 1])
    # Textbook angles: colatitude ϑ = 90° - lat, so cos ϑ = sin(lat) and sin ϑ = cos(lat) >= 0.
    legendre = _associated_legendre(torch.sin(lat), torch.cos(lat).clamp_min(0.0), degree)
    trig = _multiple_angle_table(torch.cos(lon), torch.sin(lon), degree)
    legendre_index, trig_index, scale = _assembly_plan(degree, convention)
    device = lonlat.device
    legendre_index_t = torch.tensor(legendre_index, device=device)
    trig_index_t = torch.tensor(trig_index, device=device)
    scale_t = torch.tensor(scale, dtype=lonlat.dtype, device=device)
    return legendre[:, legendre_index_t] * trig[:, trig_index_t] * scale_t
