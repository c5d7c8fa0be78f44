"""Equal-area blocks on the sphere, for spatial-block cross-validation.

Degree boxes shrink toward the poles (a 5° x 5° box at 70° N covers a third of the area it covers at the
equator), so blocks here are cut as an equal-area grid: the sphere (radius :data:`EARTH_RADIUS_KM`) is cut
into ``n_bands = round(pi R / size)`` latitude bands of equal height (``180 / n_bands`` degrees, about
``size`` km), and band ``i`` into ``n_i = max(1, round(A_i / size**2))`` cells of equal longitude width,
where ``A_i = 2 pi R**2 (sin(lat_top) - sin(lat_bottom))`` is the band's area. Every block's area is thus
``A_i / n_i``, within a few percent of ``size**2`` (km²) away from the poles and within ±25 % everywhere
(the rounding of ``n_i`` near the poles, where a band holds only a few blocks).

Block ids count band by band from the south pole, west to east within a band (longitudes wrapped into
[-180, 180), so a block never straddles the antimeridian).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from satclip_cli.errors import InputError, setting

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km."""


@dataclass(frozen=True)
class BlockGrid:
    """An equal-area block grid of ``size_km`` blocks.

    Attributes:
        size_km: the nominal block edge, km.
        band_edges: float64 [n_bands + 1] latitudes of the band edges, degrees, from -90 to 90.
        cells: int64 [n_bands] blocks per band.
        offsets: int64 [n_bands] the id of each band's first (westernmost) block.
    """

    size_km: float
    band_edges: np.ndarray
    cells: np.ndarray
    offsets: np.ndarray

    @property
    def n_blocks(self) -> int:
        """Blocks on the whole sphere."""
        return int(self.cells.sum())

    def block_of(self, lonlat: np.ndarray) -> np.ndarray:
        """int64 [N] block id of each (lon, lat) point in degrees (float [N, 2])."""
        lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        n_bands = self.cells.size
        band = np.floor((lonlat[:, 1] + 90.0) / 180.0 * n_bands).astype(np.int64)
        band = np.clip(band, 0, n_bands - 1)
        lon = (lonlat[:, 0] + 180.0) % 360.0  # [0, 360)
        cells = self.cells[band]
        cell = np.minimum(np.floor(lon / 360.0 * cells).astype(np.int64), cells - 1)
        return self.offsets[band] + cell

    def block_bounds(self, block: int) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of a block, degrees."""
        band = int(np.searchsorted(self.offsets, block, side="right") - 1)
        cell = block - int(self.offsets[band])
        width = 360.0 / int(self.cells[band])
        west = -180.0 + cell * width
        return west, float(self.band_edges[band]), west + width, float(self.band_edges[band + 1])

    def block_areas_km2(self) -> np.ndarray:
        """float64 [n_blocks] the area of every block, km²."""
        sin_edges = np.sin(np.radians(self.band_edges))
        band_area = 2.0 * math.pi * EARTH_RADIUS_KM**2 * np.diff(sin_edges)
        return np.repeat(band_area / self.cells, self.cells)


def block_grid(size_km: float) -> BlockGrid:
    """The equal-area grid of blocks about ``size_km`` x ``size_km`` (km) on the sphere.

    Raises:
        InputError: ``size_km`` is not a positive number, or wider than half the globe.
    """
    if not math.isfinite(size_km) or size_km <= 0:
        raise InputError(f"{setting('block_size_km')} must be a positive number of km, got {size_km:g}")
    half_meridian = math.pi * EARTH_RADIUS_KM
    if size_km > half_meridian:
        raise InputError(
            f"{setting('block_size_km')} {size_km:g} km is larger than the distance from pole to pole "
            f"({half_meridian:.0f} km): one block would cover the globe"
        )
    n_bands = max(1, round(half_meridian / size_km))
    band_edges = np.linspace(-90.0, 90.0, n_bands + 1)
    band_area = 2.0 * math.pi * EARTH_RADIUS_KM**2 * np.diff(np.sin(np.radians(band_edges)))
    cells = np.maximum(1, np.round(band_area / size_km**2)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(cells)[:-1]]).astype(np.int64)
    return BlockGrid(float(size_km), band_edges, cells, offsets)
