"""Multi-scale sinusoidal encodings: ``theory``, ``grid``, ``spherec``, ``spherec+``, ``spherem``, ``spherem+``.

These are the Space2Vec (Mai et al., ICLR 2020) and Sphere2Vec (Mai et al., 2023)
encodings as shipped with SatCLIP (Klemmer et al.) and compared in Rußwurm et al.
(ICLR 2024). Each maps ``[N, 2]`` (lon, lat) in degrees to ``[N, D]`` features with
plain, vectorised torch ops: the input's dtype and device are kept and the output is
differentiable (the official code goes through numpy and is neither).

Scales
    ``F = frequency_num`` angular frequencies in geometric progression between
    ``1 / min_radius`` and ``1 / max_radius``::

        freq[k] = 1 / (min_radius * exp(k * ln(max_radius / min_radius) / (F - 1))),  k = 0..F-1

    (the official ``_cal_freq_list`` with ``freq_init="geometric"``; ``F >= 2``).

Units (official behaviour, reproduced)
    The coordinates are **not** converted to radians: ``lon * freq[k]`` is passed to
    ``sin``/``cos`` with the longitude in degrees. With SatCLIP's defaults
    (``min_radius=1``, ``max_radius=360``) the finest scale therefore has a period of
    ``2π`` degrees, and the features are generally *not* continuous across the
    antimeridian (``sin(180 f) != sin(-180 f)``). They become continuous for
    ``spherec``/``spherec+`` only when every ``360 * freq[k]`` is a multiple of ``2π``
    (e.g. ``min_radius=45/π, max_radius=180/π, frequency_num=3``, i.e. frequencies of
    4, 2 and 1 cycles per 360°). The ``spherem`` family also uses the raw coordinates at
    unit frequency (``sin(lon)`` with lon in degrees) and is never continuous there.

Column layouts (``s``/``c`` = sin/cos, ``λ_k = lon * freq[k]``, ``φ_k = lat * freq[k]``,
``λ``/``φ`` = raw lon/lat in degrees used as radians):

================ ======== ==================================================================
name             D        columns
================ ======== ==================================================================
``grid``         ``4F``   for coord in (λ, φ): for k: ``s(coord_k), c(coord_k)``
``spherec``      ``6F``   for k: each twice: ``s φ_k, c φ_k c λ_k, c φ_k s λ_k``
``spherec+``     ``12F``  for k: each twice: ``s φ_k, c φ_k, s λ_k, c λ_k, c φ_k c λ_k, c φ_k s λ_k``
``spherem``      ``10F``  for k: each twice: ``s φ_k, c φ_k c λ, c φ c λ_k, c φ_k s λ, c φ s λ_k``
``spherem+``     ``16F``  for k: each twice: ``s φ_k, c φ_k, s λ_k, c λ_k,`` then the four
                          ``spherem`` products
``theory``       ``6F``   for k: for ``a`` in (a1, a2, a3): ``s(a·freq[k]), c(a·freq[k])``
                          (see :class:`Theory` for the odd-``F`` quirk)
================ ======== ==================================================================

Official quirks (all reproduced so official weights fit):

* The ``sphere*`` encodings emit every feature **twice in a row** (the official code
  broadcasts a size-2 sin/cos axis that only ``grid`` uses). The official
  ``cal_embedding_dim`` values (6F, 12F, 10F, 16F) do count the duplicates and match
  the real output width; only an inline comment there ("frequency_num*3") is wrong.
* ``theory`` swaps sin and cos in the second half of the row when ``F`` is odd.
* The official class defaults (``frequency_num=16``, tiny radii) differ from SatCLIP's
  factory defaults; we default to the factory's ``10``, ``1``, ``360``.

Neither class has parameters or buffers (empty ``state_dict``), like the official ones.
"""

from __future__ import annotations

import math

import torch

from satclip_cli.models.positional_encoding.base import PositionalEncoding
from satclip_cli.models.positional_encoding.simple_encodings import check_lonlat

#: Names of the Space2Vec/Sphere2Vec variants handled by :class:`GridAndSphere`.
GRID_AND_SPHERE_NAMES = ("grid", "spherec", "spherec+", "spherem", "spherem+")
#: Feature width per frequency of each :class:`GridAndSphere` variant.
_WIDTH_PER_FREQUENCY = {"grid": 4, "spherec": 6, "spherec+": 12, "spherem": 10, "spherem+": 16}
_ALIASES = {"spherecplus": "spherec+", "spheremplus": "spherem+"}
#: Unit vectors 0°, 120° and 240° from the longitude axis used by :class:`Theory`.
_THEORY_DIRECTIONS = ((1.0, 0.0), (-0.5, math.sqrt(3.0) / 2.0), (-0.5, -math.sqrt(3.0) / 2.0))


def geometric_frequencies(frequency_num: int, min_radius: float, max_radius: float) -> tuple[float, ...]:
    """The ``frequency_num`` angular frequencies (1/degree, float64) from ``1/min_radius`` to ``1/max_radius``.

    Raises:
        ValueError: if ``frequency_num < 2`` (the official formula divides by
            ``frequency_num - 1``) or a radius is not positive.
    """
    if frequency_num < 2:
        raise ValueError(f"frequency_num must be >= 2, got {frequency_num}")
    if not (min_radius > 0 and max_radius > 0):
        raise ValueError(f"min_radius and max_radius must be > 0, got {min_radius}, {max_radius}")
    step = math.log(float(max_radius) / float(min_radius)) / (frequency_num - 1.0)
    return tuple(1.0 / (min_radius * math.exp(k * step)) for k in range(frequency_num))


class _MultiScale(PositionalEncoding):
    """Shared frequency handling of :class:`GridAndSphere` and :class:`Theory`."""

    def __init__(self, frequency_num: int, min_radius: float, max_radius: float) -> None:
        super().__init__()
        self.frequency_num = int(frequency_num)
        self.min_radius = float(min_radius)
        self.max_radius = float(max_radius)
        # Kept as Python floats (not a buffer) so the state_dict stays empty and the
        # values are exact float64 whatever dtype the module is cast to.
        self.frequencies = geometric_frequencies(self.frequency_num, self.min_radius, self.max_radius)

    def _scaled(self, lonlat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, 2]`` degrees -> ``(lon * freq, lat * freq)``, each ``[N, F]`` (radians by fiat)."""
        freq = lonlat.new_tensor(self.frequencies)
        return lonlat[:, :1] * freq, lonlat[:, 1:] * freq

    def extra_repr(self) -> str:
        return f"frequency_num={self.frequency_num}, min_radius={self.min_radius}, max_radius={self.max_radius}"


def _interleave_twice(terms: list[torch.Tensor]) -> torch.Tensor:
    """``T`` tensors ``[N, F]`` -> ``[N, 2·T·F]`` ordered (k, term, copy): each term repeated twice per k."""
    stacked = torch.stack(terms, dim=-1)  # [N, F, T]
    return stacked.repeat_interleave(2, dim=-1).reshape(stacked.shape[0], -1)


class GridAndSphere(_MultiScale):
    """Space2Vec ``grid`` and Sphere2Vec ``spherec``/``spherec+``/``spherem``/``spherem+``.

    ``[N, 2]`` (lon, lat) degrees -> ``[N, D]`` with ``D = w · frequency_num`` and
    ``w`` = 4 (grid), 6 (spherec), 12 (spherec+), 10 (spherem), 16 (spherem+). The
    column layouts, the degree (not radian) units and the duplicated ``sphere*``
    columns are described in the module docstring; they match the official SatCLIP
    ``GridAndSphere`` exactly.

    Args:
        name: one of :data:`GRID_AND_SPHERE_NAMES`; ``spherecplus``/``spheremplus``
            are accepted as aliases.
        frequency_num: number of scales F (>= 2).
        min_radius: smallest scale; the highest frequency is ``1/min_radius`` (1/degree).
        max_radius: largest scale; the lowest frequency is ``1/max_radius`` (1/degree).
    """

    def __init__(
        self, name: str = "grid", frequency_num: int = 10, min_radius: float = 1.0, max_radius: float = 360.0
    ) -> None:
        key = _ALIASES.get(name.lower(), name.lower())
        if key not in GRID_AND_SPHERE_NAMES:
            raise ValueError(f"unknown grid/sphere encoding {name!r}; use one of {', '.join(GRID_AND_SPHERE_NAMES)}")
        super().__init__(frequency_num, min_radius, max_radius)
        self.name = key
        self.embedding_dim = _WIDTH_PER_FREQUENCY[key] * self.frequency_num

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """``[N, 2]`` degrees -> ``[N, embedding_dim]`` dimensionless features."""
        lonlat = check_lonlat(lonlat)
        lon_k, lat_k = self._scaled(lonlat)  # [N, F] each
        n = lonlat.shape[0]
        if self.name == "grid":
            scaled = torch.stack((lon_k, lat_k), dim=1)  # [N, 2, F]
            return torch.stack((torch.sin(scaled), torch.cos(scaled)), dim=-1).reshape(n, -1)

        sin_lat_k, cos_lat_k = torch.sin(lat_k), torch.cos(lat_k)
        sin_lon_k, cos_lon_k = torch.sin(lon_k), torch.cos(lon_k)
        if self.name == "spherec":
            terms = [sin_lat_k, cos_lat_k * cos_lon_k, cos_lat_k * sin_lon_k]
        elif self.name == "spherec+":
            terms = [sin_lat_k, cos_lat_k, sin_lon_k, cos_lon_k, cos_lat_k * cos_lon_k, cos_lat_k * sin_lon_k]
        else:
            # Unit-frequency terms of the raw coordinates (degrees fed to sin/cos as is), [N, 1].
            lon, lat = lonlat[:, :1], lonlat[:, 1:]
            sin_lon, cos_lon, cos_lat = torch.sin(lon), torch.cos(lon), torch.cos(lat)
            mixed = [cos_lat_k * cos_lon, cos_lat * cos_lon_k, cos_lat_k * sin_lon, cos_lat * sin_lon_k]
            if self.name == "spherem":
                terms = [sin_lat_k, *mixed]
            else:  # spherem+
                terms = [sin_lat_k, cos_lat_k, sin_lon_k, cos_lon_k, *mixed]
        return _interleave_twice(terms)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, {super().extra_repr()}"


class Theory(_MultiScale):
    """Space2Vec ``theory``: sinusoids along three directions 120° apart, at F scales.

    ``[N, 2]`` (lon, lat) degrees -> ``[N, 6·frequency_num]``. With the projections
    ``a1 = lon``, ``a2 = -lon/2 + (√3/2) lat``, ``a3 = -lon/2 - (√3/2) lat`` (degrees,
    used as radians), column ``6k + 2j + t`` is ``sin`` (t=0) or ``cos`` (t=1) of
    ``a_{j+1} · freq[k]``.

    Official quirk (reproduced): the official code picks sin/cos by the parity of the
    column index *after* reshaping each row to ``[2, 3F]``. For even F that is the
    layout above; for odd F, sin and cos are swapped throughout the second half of the
    row (columns ``3F..6F-1``). In general column ``i`` is sin iff ``(i mod 3F)`` is even.

    Args:
        frequency_num: number of scales F (>= 2).
        min_radius: smallest scale; the highest frequency is ``1/min_radius`` (1/degree).
        max_radius: largest scale; the lowest frequency is ``1/max_radius`` (1/degree).
    """

    def __init__(self, frequency_num: int = 10, min_radius: float = 1.0, max_radius: float = 360.0) -> None:
        super().__init__(frequency_num, min_radius, max_radius)
        self.embedding_dim = 6 * self.frequency_num

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        """``[N, 2]`` degrees -> ``[N, 6F]`` dimensionless features."""
        lonlat = check_lonlat(lonlat)
        directions = lonlat.new_tensor(_THEORY_DIRECTIONS)  # [3, 2]
        projections = lonlat @ directions.T  # [N, 3]
        freq = lonlat.new_tensor(self.frequencies)  # [F]
        angles = (projections[:, None, :] * freq[None, :, None]).repeat_interleave(2, dim=-1)  # [N, F, 6]
        angles = angles.reshape(lonlat.shape[0], -1)  # [N, 6F]
        column = torch.arange(self.embedding_dim, device=lonlat.device)
        use_sin = (column % (3 * self.frequency_num)) % 2 == 0
        return torch.where(use_sin, torch.sin(angles), torch.cos(angles))


_NAMES = ("theory", *GRID_AND_SPHERE_NAMES)


def build(name: str, frequency_num: int = 10, min_radius: float = 1.0, max_radius: float = 360.0) -> PositionalEncoding:
    """Build ``grid``, ``theory``, ``spherec``, ``spherec+``, ``spherem`` or ``spherem+``.

    ``spherecplus``/``spheremplus`` are accepted as aliases; names are case-insensitive.

    Raises:
        ValueError: for an unknown name or invalid parameters.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "theory":
        return Theory(frequency_num=frequency_num, min_radius=min_radius, max_radius=max_radius)
    if key in GRID_AND_SPHERE_NAMES:
        return GridAndSphere(key, frequency_num=frequency_num, min_radius=min_radius, max_radius=max_radius)
    raise ValueError(f"not a multi-scale sinusoidal encoding: {name!r}; use one of {', '.join(_NAMES)}")


__all__ = ["GRID_AND_SPHERE_NAMES", "GridAndSphere", "Theory", "build", "geometric_frequencies"]
