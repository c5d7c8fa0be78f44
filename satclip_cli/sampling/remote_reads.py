"""GDAL settings for reading Cloud-Optimized GeoTIFFs over HTTP, and which read errors are transient."""

from __future__ import annotations

import re

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
