"""Read one patch from an item's per-band COGs: windowed (range) reads, bands in parallel.

Every band is read over exactly the window's ground extent from its own grid (10, 20 or
60 m) and resampled onto the 10 m window; only the COG tiles that window touches are
transferred. Also here: the GDAL settings for those remote reads (:data:`REMOTE_GDAL_OPTIONS`)
and which read errors are worth a retry (:func:`is_transient_read_error`).
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from satclip_cli.dataset.sentinel2 import S2_BANDS, SCL_ASSET
from satclip_cli.errors import one_line
from satclip_cli.sampling.window import PatchWindow

RESAMPLING_METHODS = ("nearest", "bilinear", "cubic", "average")
"""How the 20 m and 60 m bands may be resampled onto the 10 m window (rasterio ``Resampling`` names)."""

REMOTE_GDAL_OPTIONS: dict[str, str | int] = {
    # Do not list the "directory" of a URL looking for sidecar files: one request saved per file.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF",
    # GDAL's own retries of HTTP 429/502/503/504, with a growing delay (seconds).
    "GDAL_HTTP_MAX_RETRY": 4,
    "GDAL_HTTP_RETRY_DELAY": 0.5,
    "GDAL_HTTP_TIMEOUT": 60,
    "GDAL_HTTP_CONNECTTIMEOUT": 20,
    # Merge adjacent tile requests into one range request; keep connections open.
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    # First request reads the header and the tile index of small COGs at once.
    "GDAL_INGESTED_BYTES_AT_OPEN": 32768,
    "VSI_CACHE": "TRUE",
}
"""rasterio.Env options for windowed reads of remote COGs (Sentinel-2 on Planetary Computer and alike)."""

_TRANSIENT = re.compile(
    r"HTTP response code: (429|5\d\d)|timed? ?out|connection|couldn't connect|curl error|reset by peer|"
    r"transfer closed|SSL",
    re.IGNORECASE,
)


def is_transient_read_error(error: BaseException) -> bool:
    """True for read errors worth retrying (HTTP 429/5xx, time-outs, dropped connections).

    A corrupt or missing file (HTTP 404, "not recognized as a supported file format",
    a bad TIFF directory) is permanent.
    """
    return bool(_TRANSIENT.search(str(error)))


class AssetReadError(Exception):
    """A band asset could not be read (after GDAL's own retries); carries the asset key and href."""

    def __init__(self, band: str, href: str, cause: BaseException) -> None:
        self.band = band
        self.href = href
        self.cause = cause
        super().__init__(f"{band} ({_strip_query(href)}): {one_line(cause)}")


@dataclass(frozen=True)
class PatchPixels:
    """The pixels of one patch.

    ``bands``: (bands, size, size); from Sentinel-2 scenes uint16 in :data:`S2_BANDS` order (reflectance
    x 10,000), from the Blue Marble mosaic uint8 red, green, blue.
    ``scl``: uint8 scene classes of shape (size, size), or None when not read (or not available).
    """

    bands: np.ndarray
    scl: np.ndarray | None


def read_band(href: str, window: PatchWindow, resampling: str = "nearest", uncached: bool = False) -> np.ndarray:
    """Read ``window``'s ground extent from the single-band raster at ``href``, onto the 10 m window.

    Returns an array of shape (size, size) in the raster's dtype. Raises the rasterio error on failure.
    ``uncached`` bypasses GDAL's per-URL cache, which otherwise remembers a failed open for the
    rest of the process (a retry would fail without even asking the server again).
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window, from_bounds

    options = dict(REMOTE_GDAL_OPTIONS)
    if uncached and href.startswith(("http://", "https://")):
        options["CPL_VSIL_CURL_NON_CACHED"] = f"/vsicurl/{href}"
    with rasterio.Env(**options), rasterio.open(href) as src:
        source_window = from_bounds(*window.bounds, transform=src.transform)
        # A 10 m window may start inside a 20 m or 60 m pixel: GDAL reads fractional windows exactly.
        col, row = _snap(source_window.col_off), _snap(source_window.row_off)
        width, height = _snap(source_window.width), _snap(source_window.height)
        if col < 0 or row < 0 or col + width > src.width or row + height > src.height:
            raise ValueError(f"window {col},{row},{width}x{height} is outside the {src.width}x{src.height} raster")
        return src.read(
            1,
            window=Window(col, row, width, height),
            out_shape=(window.size, window.size),
            resampling=getattr(Resampling, resampling),
        )


def read_patch(
    window: PatchWindow,
    executor: Executor,
    *,
    resampling: str = "nearest",
    with_scl: bool = False,
    uncached: bool = False,
) -> PatchPixels:
    """Read the 12 bands (and the SCL layer when ``with_scl``) of ``window`` in parallel on ``executor``.

    The SCL layer is always resampled with nearest neighbour (it holds classes). Raises
    :class:`AssetReadError` for the first band that fails. ``uncached``: see :func:`read_band`
    (for retries).
    """
    hrefs = window.item.hrefs
    keys = list(S2_BANDS) + ([SCL_ASSET] if with_scl and SCL_ASSET in hrefs else [])
    futures = {
        key: executor.submit(read_band, hrefs[key], window, "nearest" if key == SCL_ASSET else resampling, uncached)
        for key in keys
    }
    arrays: dict[str, np.ndarray] = {}
    error: AssetReadError | None = None
    for key, future in futures.items():
        try:
            arrays[key] = future.result()
        except Exception as cause:
            error = error or AssetReadError(key, hrefs[key], cause)
    if error is not None:
        raise error
    bands = np.stack([arrays[band].astype(np.uint16, copy=False) for band in S2_BANDS])
    scl = arrays[SCL_ASSET].astype(np.uint8, copy=False) if SCL_ASSET in arrays else None
    return PatchPixels(bands=bands, scl=scl)


def _snap(value: float) -> float:
    """``value`` rounded to whole pixels when within 1e-6 px of them (floating-point noise of the bounds)."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 1e-6 else value


def _strip_query(href: str) -> str:
    """The href without its query string (drops SAS tokens from messages)."""
    return href.split("?", 1)[0]
