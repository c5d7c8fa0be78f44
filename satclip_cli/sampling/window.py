"""Where a patch lies in an item's own 10 m grid: a pixel window, its transform and its centre."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from satclip_cli.geo.coordinates import wrap_longitude
from satclip_cli.sampling.scene_item import SceneItem

_local = threading.local()


def _transformer(source: str, target: str) -> Any:
    """A cached pyproj transformer (x, y order), one per thread and CRS pair."""
    from pyproj import Transformer

    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (source, target)
    if key not in cache:
        cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return cache[key]


@dataclass(frozen=True)
class PatchWindow:
    """A ``size`` x ``size`` pixel window of an item's 10 m grid.

    ``col_off``/``row_off`` are pixel offsets of the window's top-left pixel in that grid.
    """

    item: SceneItem
    col_off: int
    row_off: int
    size: int

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine transform (a, b, c, d, e, f) of the window, in the item's CRS (metres)."""
        a, b, c, d, e, f = self.item.transform
        return (a, b, c + a * self.col_off + b * self.row_off, d, e, f + d * self.col_off + e * self.row_off)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the window in the item's CRS, metres (north-up grids)."""
        a, _, c, _, e, f = self.transform
        xs = (c, c + a * self.size)
        ys = (f, f + e * self.size)
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def inside_item(self) -> bool:
        """Whether the whole window lies within the item's raster."""
        rows, cols = self.item.shape
        fits_cols = self.col_off >= 0 and self.col_off + self.size <= cols
        return fits_cols and self.row_off >= 0 and self.row_off + self.size <= rows

    def centre_lonlat(self) -> tuple[float, float]:
        """(lon, lat) in degrees of the window centre (the corner of pixel (size/2, size/2)), lon in [-180, 180]."""
        a, b, c, d, e, f = self.transform
        half = self.size / 2
        x = c + a * half + b * half
        y = f + d * half + e * half
        lon, lat = _transformer(self.item.crs, "EPSG:4326").transform(x, y)
        return float(wrap_longitude(lon)), float(lat)


def window_around(item: SceneItem, lon: float, lat: float, size: int) -> PatchWindow:
    """The ``size`` x ``size`` window of ``item``'s 10 m grid centred as closely as possible on (lon, lat).

    The window may extend past the item's raster; check :attr:`PatchWindow.inside_item`.
    """
    x, y = _transformer("EPSG:4326", item.crs).transform(lon, lat)
    col, row = _pixel_position(item.transform, float(x), float(y))
    col_off = math.floor(col - size / 2 + 0.5)
    row_off = math.floor(row - size / 2 + 0.5)
    return PatchWindow(item=item, col_off=col_off, row_off=row_off, size=size)


def random_window(item: SceneItem, size: int, rng: np.random.Generator) -> PatchWindow:
    """A uniformly random ``size`` x ``size`` window fully inside ``item``'s 10 m raster.

    Returns a window with ``inside_item`` false when the raster is smaller than ``size``.
    """
    rows, cols = item.shape
    if rows < size or cols < size:
        return PatchWindow(item=item, col_off=0, row_off=0, size=size)
    col_off = int(rng.integers(0, cols - size + 1))
    row_off = int(rng.integers(0, rows - size + 1))
    return PatchWindow(item=item, col_off=col_off, row_off=row_off, size=size)


def _pixel_position(transform: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    """Fractional (col, row) of the point (x, y) under the affine ``transform``."""
    a, b, c, d, e, f = transform
    det = a * e - b * d
    col = (e * (x - c) - b * (y - f)) / det
    row = (-d * (x - c) + a * (y - f)) / det
    return col, row
