"""Sentinel-2 L2A facts the sampler relies on: band names, native resolutions, scene classes.

The band order is S2-100K's (and SatCLIP's): 12 bands, B10 (cirrus, absent from L2A)
left out; pretrained vision encoders that expect 13 bands get a zero B10 at index 10.
"""

from __future__ import annotations

S2_BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
"""Band (= STAC asset key) order of the written patches."""

BAND_RESOLUTION_M: dict[str, int] = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
}
"""Native ground sampling distance of each asset, in metres."""

PATCH_RESOLUTION_M = 10.0
"""Pixel size of the written patches, in metres (the 10 m bands' grid of the item)."""

SCL_ASSET = "SCL"
"""Asset key of the L2A scene classification layer."""

SCL_CLOUD_CLASSES: tuple[int, ...] = (3, 8, 9, 10)
"""SCL classes counted as cloudy: cloud shadow, cloud medium and high probability, thin cirrus."""

SCL_NODATA_CLASS = 0

REFERENCE_BAND = "B02"
"""A 10 m band whose ``proj:transform``/``proj:shape`` define the item's 10 m grid."""
