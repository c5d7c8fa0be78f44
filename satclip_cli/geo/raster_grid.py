"""Raster grids to embed (from a bbox or like another raster): georeferencing, windows, pixel-centre (lon, lat).

A :class:`RasterGrid` is a CRS, an affine transform (pixel ``(col, row)`` -> grid-CRS ``(x, y)``, GDAL
convention: ``(0, 0)`` is the outer corner of the top-left pixel) and a size in pixels. The embedding of a
pixel is the embedding of its *centre*, ``transform * (col + 0.5, row + 0.5)``, transformed to EPSG:4326
(lon, lat) degrees. Pixel centres that have no valid (lon, lat) — outside the projection's domain,
infinite/NaN after transformation, latitude beyond +-90 — are reported as invalid; the raster writer
stores them as nodata instead of failing.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyproj
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from satclip_cli.errors import InputError, setting
from satclip_cli.geo.coordinates import wrap_longitude

#: Largest grid accepted, in pixels (about 32768 x 32768). A global grid at 0.01 degrees is 648 M pixels.
MAX_GRID_PIXELS = 1 << 30
#: Largest width or height accepted, in pixels.
MAX_GRID_SIDE = 1 << 20
#: Relative tolerance when the bbox extent is (almost) a whole number of pixels: ``360 / 0.1`` is 3600.
_SIZE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RasterGrid:
    """A georeferenced pixel grid.

    Attributes:
        crs: the grid's coordinate reference system (rasterio :class:`~rasterio.crs.CRS`).
        transform: affine map from pixel ``(col, row)`` to grid-CRS ``(x, y)``; ``(0, 0)`` is the outer
            corner of the top-left pixel, ``(col + 0.5, row + 0.5)`` its centre.
        width: number of columns (pixels along x).
        height: number of rows (pixels along y).
    """

    crs: CRS
    transform: Affine
    width: int
    height: int

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_bbox(
        cls,
        bbox: tuple[float, float, float, float],
        resolution: float,
        crs: str | CRS | None = None,
    ) -> RasterGrid:
        """A north-up grid covering ``bbox`` with square pixels of side ``resolution``.

        Args:
            bbox: ``(west, south, east, north)`` in the units of ``crs`` (degrees, lon before lat, for the
                default EPSG:4326; metres for e.g. EPSG:3857 or a UTM zone).
            resolution: pixel side in the same units, > 0.
            crs: anything :meth:`rasterio.crs.CRS.from_user_input` accepts (``"EPSG:32633"``, WKT, PROJ
                string); ``None`` means EPSG:4326.

        The grid's top-left corner is ``(west, north)``. Its size is ``ceil((east - west) / resolution)`` by
        ``ceil((north - south) / resolution)`` (extents within 1e-6 pixel of a whole number are not rounded
        up), so when ``resolution`` does not divide the extent the grid reaches up to one pixel beyond
        ``east``/``south``. For geographic CRSs, longitudes may run from -360 to 360 and a bbox may cross the
        antimeridian, either as ``170 .. 190`` or, as for ``satclip sample --bbox``, with ``west > east``
        (``170 .. -170`` is the grid ``170 .. 190``: x-coordinates past 180); pixel-centre longitudes are
        wrapped into [-180, 180). Pixel centres south of -90 degrees are nodata.

        Raises:
            InputError: on an unknown CRS, non-finite values, ``west == east`` (``west > east`` in a
                projected CRS), ``south >= north``,
                ``resolution <= 0``, latitudes outside [-90, 90] or longitudes outside [-360, 360] (or a
                span over 360 degrees) for a geographic CRS, a grid larger than :data:`MAX_GRID_PIXELS`, or
                a grid none of whose pixel centres maps to a valid (lon, lat).
        """
        rio_crs = _parse_crs(crs)
        try:
            west, south, east, north = (float(v) for v in bbox)
        except (TypeError, ValueError) as exc:
            raise InputError(f"bbox must be four numbers (west, south, east, north), got {bbox!r}") from exc
        try:
            res = float(resolution)
        except (TypeError, ValueError) as exc:
            raise InputError(f"resolution must be a number, got {resolution!r}") from exc
        if not all(math.isfinite(v) for v in (west, south, east, north)):
            raise InputError(f"bbox has a non-finite value: {(west, south, east, north)}")
        if not math.isfinite(res) or res <= 0:
            raise InputError(f"resolution must be a positive number, got {resolution!r}")
        if south >= north:
            raise InputError(f"bbox south ({south:g}) must be less than north ({north:g}); the order is W S E N")
        if rio_crs.is_geographic:
            for name, lat in (("south", south), ("north", north)):
                if not -90.0 <= lat <= 90.0:
                    raise InputError(
                        f"bbox {name} latitude {lat:g} is outside [-90, 90] (the order is W S E N in degrees; "
                        f"for a projected bbox pass {setting('crs')})"
                    )
            for name, lon in (("west", west), ("east", east)):
                if not -360.0 <= lon <= 360.0:
                    raise InputError(f"bbox {name} longitude {lon:g} is outside [-360, 360]")
            if west > east:  # eastwards through the antimeridian, as `sample --bbox` reads it: 170..-170 is 170..190
                east += 360.0
                if east > 360.0:
                    west, east = west - 360.0, east - 360.0
            if west == east:  # also 180..-180
                raise InputError(f"bbox has no width: west and east ({west:g}) are the same meridian")
            if east - west > 360.0 + 1e-9:
                raise InputError(f"bbox spans {east - west:g} degrees of longitude, more than 360")
        elif west >= east:
            raise InputError(f"bbox west ({west:g}) must be less than east ({east:g}); the order is W S E N")
        width = _pixel_count((east - west) / res)
        height = _pixel_count((north - south) / res)
        grid = cls(crs=rio_crs, transform=Affine(res, 0.0, west, 0.0, -res, north), width=width, height=height)
        grid._check_size(f"bbox {(west, south, east, north)} at resolution {res:g}")
        grid._check_some_valid()
        return grid

    @classmethod
    def from_like(cls, path: str | os.PathLike) -> RasterGrid:
        """Copy the CRS, transform and size of an existing raster (only its grid is read, not its pixels).

        Raises:
            InputError: if the file is missing, not a raster GDAL can read, has no CRS or no georeferencing,
                is larger than :data:`MAX_GRID_PIXELS`, or has no pixel centre with a valid (lon, lat).
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise InputError(f"{setting('like')} raster {path} does not exist")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    crs, transform, width, height = src.crs, src.transform, src.width, src.height
        except RasterioIOError as exc:
            raise InputError(f"cannot read {setting('like')} raster {path}: {exc}") from exc
        if crs is None:
            raise InputError(f"{setting('like')} raster {path} has no CRS")
        if transform.is_identity:
            raise InputError(f"{setting('like')} raster {path} has no georeferencing (identity geotransform)")
        if transform.is_degenerate:
            raise InputError(f"{setting('like')} raster {path} has a degenerate geotransform {tuple(transform)[:6]}")
        grid = cls(crs=CRS.from_wkt(crs.to_wkt()), transform=transform, width=int(width), height=int(height))
        grid._check_size(f"{setting('like')} raster {path}")
        grid._check_some_valid()
        return grid

    # ------------------------------------------------------------------ properties

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in pixels (numpy order: rows, cols)."""
        return (self.height, self.width)

    @property
    def n_pixels(self) -> int:
        """``width * height``."""
        return self.width * self.height

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the grid's outer edges in grid-CRS units."""
        xs, ys = zip(*(self.transform @ (c, r) for c in (0, self.width) for r in (0, self.height)), strict=True)
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def is_lonlat(self) -> bool:
        """True when the grid CRS is EPSG:4326 itself, so grid ``(x, y)`` already are (lon, lat) degrees."""
        return "lonlat" in self._transformer_info

    # ------------------------------------------------------------------ windows and pixel centres

    def windows(self, block_size: int = 512) -> Iterator[Window]:
        """Yield tiles of at most ``block_size`` x ``block_size`` pixels covering the grid once each.

        Tiles come in row-major order (left to right, then top to bottom); those on the right and bottom
        edges are smaller when the size is not a multiple of ``block_size``.
        """
        if int(block_size) != block_size or block_size < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        block_size = int(block_size)
        for row in range(0, self.height, block_size):
            h = min(block_size, self.height - row)
            for col in range(0, self.width, block_size):
                w = min(block_size, self.width - col)
                yield Window(col_off=col, row_off=row, width=w, height=h)

    def pixel_centers(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Grid-CRS ``(x, y)`` of the centre of every pixel of ``window`` (default: the whole grid).

        Returns:
            ``(x, y)``, each float64 of shape ``[window.height, window.width]`` (row-major like the raster).
        """
        col_off, row_off, w, h = self._window_ints(window)
        cols = np.arange(col_off, col_off + w, dtype=np.float64) + 0.5
        rows = np.arange(row_off, row_off + h, dtype=np.float64) + 0.5
        c, r = np.meshgrid(cols, rows)
        t = self.transform
        x = t.a * c + t.b * r + t.c
        y = t.d * c + t.e * r + t.f
        return x, y

    def pixel_centers_lonlat(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) degrees (EPSG:4326) of the centre of every pixel of ``window`` (default: whole grid).

        Returns:
            ``(lonlat, valid)``: ``lonlat`` float64 ``[h * w, 2]`` with columns (lon, lat), pixels in row-major
            order (``lonlat.reshape(h, w, 2)`` matches the window); longitudes wrapped into [-180, 180).
            ``valid`` bool ``[h * w]`` is False where the centre has no valid (lon, lat) — outside the
            projection's domain, non-finite, latitude beyond +-90, or (projected CRSs) not round-tripping to
            the same grid position; ``lonlat`` is NaN there.
        """
        x, y = self.pixel_centers(window)
        return self._lonlat_of(x.ravel(), y.ravel())

    def _lonlat_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) and validity of grid-CRS points ``x``, ``y`` (float64 ``[n]``); see pixel_centers_lonlat."""
        info = self._transformer_info
        if "lonlat" in info:
            lon, lat = x.copy(), y.copy()
        else:
            with np.errstate(all="ignore"):
                lon, lat = info["to_lonlat"].transform(x, y, errcheck=False)
            lon = np.asarray(lon, dtype=np.float64)
            lat = np.asarray(lat, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(lon) & np.isfinite(lat) & (lat >= -90.0) & (lat <= 90.0)
        if "from_lonlat" in info and valid.any():
            # Outside their domain some projections return finite but wrong coordinates; keep only centres
            # whose (lon, lat) maps back to the same point, to within 1% of a pixel.
            idx = np.flatnonzero(valid)
            with np.errstate(all="ignore"):
                xb, yb = info["from_lonlat"].transform(lon[idx], lat[idx], errcheck=False)
                err = np.hypot(np.asarray(xb) - x[idx], np.asarray(yb) - y[idx])
            ok = np.isfinite(err) & (err <= info["tolerance"])
            valid[idx[~ok]] = False
        lonlat = np.full((x.size, 2), np.nan, dtype=np.float64)
        lonlat[valid, 0] = wrap_longitude(lon[valid])
        lonlat[valid, 1] = lat[valid]
        return lonlat, valid

    # ------------------------------------------------------------------ internals

    @cached_property
    def _transformer_info(self) -> dict:
        """Transformers between the grid CRS and EPSG:4326 (x/lon first), built once per grid."""
        if self.crs.to_epsg() == 4326 and self.crs.is_geographic:
            return {"lonlat": True}
        src = pyproj.CRS.from_wkt(self.crs.to_wkt())
        info: dict = {"to_lonlat": Transformer.from_crs(src, "EPSG:4326", always_xy=True)}
        if not src.is_geographic:
            pixel = min(math.hypot(self.transform.a, self.transform.d), math.hypot(self.transform.b, self.transform.e))
            info["from_lonlat"] = Transformer.from_crs("EPSG:4326", src, always_xy=True)
            info["tolerance"] = 0.01 * pixel
        return info

    def _window_ints(self, window: Window | None) -> tuple[int, int, int, int]:
        if window is None:
            return 0, 0, self.width, self.height
        col_off, row_off = int(window.col_off), int(window.row_off)
        w, h = int(window.width), int(window.height)
        if col_off < 0 or row_off < 0 or col_off + w > self.width or row_off + h > self.height or w < 0 or h < 0:
            raise ValueError(f"window {window} is outside the {self.width}x{self.height} grid")
        return col_off, row_off, w, h

    def _check_size(self, what: str) -> None:
        if self.width < 1 or self.height < 1:
            raise InputError(f"{what}: the grid is empty ({self.width}x{self.height} pixels)")
        if self.width > MAX_GRID_SIDE or self.height > MAX_GRID_SIDE or self.n_pixels > MAX_GRID_PIXELS:
            raise InputError(
                f"{what} gives a {self.width}x{self.height} grid ({self.n_pixels:,} pixels), more than the "
                f"{MAX_GRID_PIXELS:,} allowed; use a coarser resolution or a smaller bbox "
                "(is the resolution in the units of the CRS?)"
            )

    def _check_some_valid(self, samples: int = 64) -> None:
        """Raise InputError if no pixel centre on a coarse lattice (<= samples^2 pixels) has a valid lon/lat."""
        cols = np.unique(np.linspace(0, self.width - 1, min(samples, self.width)).round().astype(np.int64))
        rows = np.unique(np.linspace(0, self.height - 1, min(samples, self.height)).round().astype(np.int64))
        c, r = np.meshgrid(cols + 0.5, rows + 0.5)
        t = self.transform
        _, valid = self._lonlat_of((t.a * c + t.b * r + t.c).ravel(), (t.d * c + t.e * r + t.f).ravel())
        if not valid.any():
            west, south, east, north = self.bounds
            raise InputError(
                f"no pixel centre of the grid ({west:g}, {south:g}, {east:g}, {north:g}) in {self.crs_name} maps to "
                "a valid longitude/latitude; is the bbox in the units of the CRS?"
            )

    @property
    def crs_name(self) -> str:
        """A short name for messages: ``EPSG:xxxx`` when there is one, else the CRS's name."""
        epsg = self.crs.to_epsg()
        if epsg is not None:
            return f"EPSG:{epsg}"
        return pyproj.CRS.from_wkt(self.crs.to_wkt()).name


def _pixel_count(extent_in_pixels: float) -> int:
    """``ceil`` with a tolerance, so that 359.99999999999994 pixels are 360, not 361."""
    nearest = round(extent_in_pixels)
    if abs(extent_in_pixels - nearest) <= _SIZE_TOLERANCE * max(1.0, abs(extent_in_pixels)):
        return max(int(nearest), 1)
    return max(math.ceil(extent_in_pixels), 1)


def _parse_crs(crs: str | CRS | None) -> CRS:
    if crs is None:
        return CRS.from_epsg(4326)
    if isinstance(crs, CRS):
        return crs
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(f"unknown CRS {crs!r}: {exc}") from exc
