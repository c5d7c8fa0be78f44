"""Build a small, real-pixel Sentinel-2 L2A STAC catalog (per-band COGs + items) for loopback tests.

Source data: real Sentinel-2 L2A patches, by default the top-left 252 px of 4 of them in ``tests/data/s2_stac_tiles/``
(derived from the 23 in ``<repo>/../shared/data/s2_tiles/``, see ``MANIFEST.md`` section 1, which work as well):
``patch_*.tif`` are at 10 m, 12 uint16 bands in the order
``B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12`` (L2A digital numbers = reflectance x 10000), in the tile's UTM CRS.
``index.csv`` gives the EPSG code, the UTM bounds (metres) and the derived MGRS tile (``mgrs_tile_derived``).

For every :class:`ItemSpec` one STAC item is written, laid out like Microsoft Planetary Computer's ``sentinel-2-l2a``
(modelled on ``tests/data/stac/pc_item_S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251.json`` and
``pc_collection_sentinel-2-l2a.json``; STAC 1.0.0 with eo v1.0.0, sat v1.0.0 and projection v1.0.0, ``proj:epsg``):

* the tile is cropped to its top-left 252 x 252 px (2520 m x 2520 m; divisible by 2 and 6; ``build_catalog(crop_px=60)``
  crops 60 px instead, which the 64 px patches of ``tests/data/s2_tiles/`` hold) and every band is written as
  its own Cloud-Optimized GeoTIFF at the band's native resolution, in the tile's UTM CRS, with the same top-left corner:
  10 m bands ``B02 B03 B04 B08`` -> 252 x 252 (unchanged pixels); 20 m bands ``B05 B06 B07 B8A B11 B12`` -> 126 x 126
  (mean of 2 x 2 blocks); 60 m bands ``B01 B09`` -> 42 x 42 (mean of 6 x 6 blocks), uint16, rounded half to even; a
  block mean that rounds to 0 although the block has a non-zero pixel is written as 1 so it does not turn into nodata;
* ``SCL`` (scene classification, uint8) at 20 m, 126 x 126: class 4 "vegetation" everywhere, optionally class 9 "cloud
  high probability" in the leftmost columns and class 0 "no data" where the reflectance is nodata;
* COGs: GDAL ``COG`` driver, 64 x 64 internal tiles (a small window read is a real partial read), DEFLATE + predictor
  2, overviews down to one tile, ``nodata=0`` for reflectance bands and SCL (Sen2Cor class 0 is "no data");
* asset hrefs are absolute URLs ``<base_url>/<item id>/R<gsd>m/T<mgrs>_<acq time>_<band>_<gsd>m.tif``, so the catalog
  must be built for the URL under which ``out_dir`` is served (see ``range_http_server.RangeHTTPServer``).

Geometry: ``geometry`` is the 2520 m crop square (densified, 8 segments per side) transformed to EPSG:4326, a
counter-clockwise lon/lat ring (RFC 7946); ``bbox`` is ``[min lon, min lat, max lon, max lat]`` in degrees. Asset
``proj:bbox`` is ``[left, bottom, right, top]`` in UTM metres, ``proj:transform`` the 6 affine coefficients
``[gsd, 0, left, 0, -gsd, top]``, ``proj:shape`` ``[rows, cols]``.

Defaults are deterministic (CRC32 of the tile name): a summer date (June-August north, December-February south) in
2021-2022 at about 10:30 local mean solar time, satellite, relative orbit, processing time; ``s2:mean_solar_zenith`` /
``s2:mean_solar_azimuth`` (degrees, azimuth clockwise from north) are computed for the patch centre at that time.
``s2:processing_baseline`` defaults to ``"04.00"`` from 2022-01-25 on, else ``"03.00"``. Note: the pixel values are
whatever the source patch holds; nothing adds or removes the +1000 BOA offset that baseline 04.00 implies.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
from affine import Affine

from tests.support.cog_files import BrokenMode, block_mean, break_file, densified_ring, to_wgs84, write_cog

COLLECTION_ID = "sentinel-2-l2a"
SOURCE_BAND_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
#: Asset keys written per item, in Planetary Computer's (alphabetical) order.
ASSET_KEYS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B11", "B12", "B8A", "SCL")
REFLECTANCE_BANDS = tuple(k for k in ASSET_KEYS if k != "SCL")
#: Ground sample distance of each asset in metres.
BAND_GSD: dict[str, int] = {
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
CROP_PX = 252  # 10 m pixels per side of the cropped window (2520 m)
SOURCE_GSD = 10.0  # metres
BLOCKSIZE = 64  # internal COG tile size in pixels

SCL_NO_DATA = 0
SCL_VEGETATION = 4
SCL_CLOUD_HIGH_PROBABILITY = 9

#: Acquisition dates used by default lie inside this closed interval (UTC dates).
DATE_RANGE = (date(2021, 1, 1), date(2023, 5, 17))
BASELINE_04_START = datetime(2022, 1, 25, tzinfo=UTC)

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
]
LICENSE_LINK = {"rel": "license", "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"}

# Titles and eo:bands exactly as in the Planetary Computer item (center_wavelength / fwhm in micrometres).
_BAND_META: dict[str, tuple[str, str | None, str, float, float]] = {
    "B01": ("Band 1 - Coastal aerosol", "coastal", "Band 1 - Coastal aerosol", 0.443, 0.027),
    "B02": ("Band 2 - Blue", "blue", "Band 2 - Blue", 0.49, 0.098),
    "B03": ("Band 3 - Green", "green", "Band 3 - Green", 0.56, 0.045),
    "B04": ("Band 4 - Red", "red", "Band 4 - Red", 0.665, 0.038),
    "B05": ("Band 5 - Vegetation red edge 1", "rededge", "Band 5 - Vegetation red edge 1", 0.704, 0.019),
    "B06": ("Band 6 - Vegetation red edge 2", "rededge", "Band 6 - Vegetation red edge 2", 0.74, 0.018),
    "B07": ("Band 7 - Vegetation red edge 3", "rededge", "Band 7 - Vegetation red edge 3", 0.783, 0.028),
    "B08": ("Band 8 - NIR", "nir", "Band 8 - NIR", 0.842, 0.145),
    "B8A": ("Band 8A - Vegetation red edge 4", "rededge", "Band 8A - Vegetation red edge 4", 0.865, 0.033),
    "B09": ("Band 9 - Water vapor", None, "Band 9 - Water vapor", 0.945, 0.026),
    "B11": ("Band 11 - SWIR (1.6)", "swir16", "Band 11 - SWIR (1.6)", 1.61, 0.143),
    "B12": ("Band 12 - SWIR (2.2)", "swir22", "Band 12 - SWIR (2.2)", 2.19, 0.242),
}


def default_s2_tiles_dir() -> Path:
    """``<repo>/tests/data/s2_stac_tiles``: the top-left 252 px of the patches of :data:`DEFAULT_SPECS`."""
    return Path(__file__).resolve().parents[1] / "data" / "s2_stac_tiles"


# --------------------------------------------------------------------------------------------------------------------
# Source tiles
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TileInfo:
    """One row of ``s2_tiles/index.csv``: UTM bounds in metres, centre lon/lat in degrees."""

    name: str  # e.g. "patch_445" (file stem)
    path: Path
    epsg: int
    left: float
    top: float
    center_lon: float
    center_lat: float
    mgrs_tile: str  # e.g. "17XMG"


@lru_cache(maxsize=4)
def read_tile_index(tiles_dir: Path) -> dict[str, TileInfo]:
    """Parse ``index.csv`` of ``tiles_dir`` into ``{tile name: TileInfo}`` (tile name = file stem)."""
    df = pd.read_csv(tiles_dir / "index.csv")
    out: dict[str, TileInfo] = {}
    for row in df.itertuples(index=False):
        name = Path(str(row.file)).stem
        out[name] = TileInfo(
            name=name,
            path=tiles_dir / str(row.file),
            epsg=int(row.epsg),
            left=float(row.left),
            top=float(row.top),
            center_lon=float(row.lon),
            center_lat=float(row.lat),
            mgrs_tile=str(row.mgrs_tile_derived),
        )
    return out


@lru_cache(maxsize=32)
def _read_crop(path: Path, crop_px: int) -> np.ndarray:
    with rasterio.open(path) as src:
        if min(src.height, src.width) < crop_px:
            raise ValueError(f"{path.name} has {src.height} x {src.width} px, fewer than the crop's {crop_px}")
        data = src.read(window=((0, crop_px), (0, crop_px)))
    data.setflags(write=False)
    return data


def read_source_crop(tile: TileInfo, crop_px: int = CROP_PX) -> np.ndarray:
    """Top-left ``crop_px`` px of the patch as ``(12, crop_px, crop_px) uint16`` in ``SOURCE_BAND_ORDER`` (read-only,
    cached)."""
    return _read_crop(tile.path, crop_px)


def _tile_name(tile: str) -> str:
    return Path(tile).stem


# --------------------------------------------------------------------------------------------------------------------
# Specs and results
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """What to write for one item.

    Column counts are in 10 m source columns from the left edge of the crop window (252 px by default); in the coarser
    bands every pixel whose footprint touches an affected column is affected (``ceil(n / factor)`` columns).

    * ``tile``: patch name, ``"patch_445"`` (``.tif`` optional).
    * ``datetime``: acquisition time, RFC 3339 UTC (``"2022-06-12T18:29:19.024000Z"``); ``None`` = deterministic
      default.
    * ``cloud_cover``: ``eo:cloud_cover`` in percent; ``None`` = percentage of valid SCL pixels with class 9.
    * ``nodata_columns``: zero (= nodata) every reflectance band in the leftmost N columns; SCL gets class 0 there.
    * ``scl_cloud_columns``: SCL class 9 "cloud high probability" in the leftmost N columns (reflectance unchanged).
    * ``broken_band``: asset key (e.g. ``"B04"``) whose file is corrupted according to ``broken_mode``:
      ``"garbage"`` keeps the TIFF header and IFDs (opens fine) and overwrites all tile data with random bytes
      (reads fail to decompress); ``"truncated"`` cuts the file right after the IFDs (reads hit end of file);
      ``"missing"`` writes no file at all (HTTP 404).
    * ``platform`` (``"Sentinel-2A"``/``"Sentinel-2B"``), ``relative_orbit`` (1-143), ``processing_baseline``
      (``"04.00"``) and ``processing_time`` (``"YYYYMMDDTHHMMSS"``, the last part of the item id): ``None`` = default.
    * ``extra_properties``: merged into the item properties last (may override anything).
    * ``asset_overrides``: merged into every asset's dict last; a ``None`` value removes the key (e.g.
      ``{"proj:shape": None}`` for an item without ``proj:shape``, to test malformed items).
    """

    tile: str
    datetime: str | None = None
    cloud_cover: float | None = None
    nodata_columns: int = 0
    scl_cloud_columns: int = 0
    broken_band: str | None = None
    broken_mode: BrokenMode = "garbage"
    platform: str | None = None
    relative_orbit: int | None = None
    processing_baseline: str | None = None
    processing_time: str | None = None
    extra_properties: dict[str, Any] = field(default_factory=dict)
    asset_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.nodata_columns <= CROP_PX:
            raise ValueError(f"nodata_columns must be in 0..{CROP_PX}")
        if not 0 <= self.scl_cloud_columns <= CROP_PX:
            raise ValueError(f"scl_cloud_columns must be in 0..{CROP_PX}")
        if self.broken_band is not None and self.broken_band not in ASSET_KEYS:
            raise ValueError(f"broken_band must be one of {ASSET_KEYS}")
        if self.broken_mode not in ("garbage", "truncated", "missing"):
            raise ValueError("broken_mode must be 'garbage', 'truncated' or 'missing'")


@dataclass
class BuiltItem:
    """One written item with everything a test needs to check pixels.

    ``arrays[key]`` is the 2-D array exactly as written to the asset's COG (native resolution; for a broken band the
    values the file *would* have held); ``transforms[key]`` its affine transform in the tile's UTM CRS (metres);
    ``source`` the unmodified ``(12, crop, crop)`` crop in ``SOURCE_BAND_ORDER`` (252 px unless ``build_catalog`` got
    another ``crop_px``); ``transform`` the 10 m transform.
    """

    spec: ItemSpec
    item: dict[str, Any]
    tile: TileInfo
    epsg: int
    transform: Affine
    source: np.ndarray
    arrays: dict[str, np.ndarray]
    transforms: dict[str, Affine]
    paths: dict[str, Path]
    hrefs: dict[str, str]

    @property
    def id(self) -> str:
        """The STAC item id."""
        return str(self.item["id"])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the crop window (2520 m by default) in UTM metres."""
        left, top = self.transform.c, self.transform.f
        size = self.crop_px * SOURCE_GSD
        return left, top - size, left + size, top

    def pixel_lonlat(self, row: float, col: float) -> tuple[float, float]:
        """``(lon, lat)`` in degrees of the centre of 10 m pixel ``(row, col)`` (fractional indices allowed)."""
        x, y = self.transform @ (col + 0.5, row + 0.5)
        lon, lat = to_wgs84(self.epsg).transform(x, y)
        return float(lon), float(lat)

    @property
    def center_lonlat(self) -> tuple[float, float]:
        """``(lon, lat)`` in degrees of the window centre."""
        return self.pixel_lonlat(self.crop_px / 2 - 0.5, self.crop_px / 2 - 0.5)

    @property
    def crop_px(self) -> int:
        """10 m pixels per side of the crop window."""
        return int(self.source.shape[-1])


@dataclass
class Catalog:
    """A written catalog: files, documents and the per-item pixel truth.

    ``items_path`` is a GeoJSON FeatureCollection (what ``rustac serve`` loads), ``collection_path`` the collection
    document. ``built`` maps item id -> :class:`BuiltItem`; ``items`` are the item dicts in spec order.
    """

    out_dir: Path
    base_url: str
    collection_path: Path
    items_path: Path
    collection: dict[str, Any]
    items: list[dict[str, Any]]
    built: dict[str, BuiltItem]
    build_seconds: float

    def item(self, item_id: str) -> BuiltItem:
        """The built item with this id."""
        return self.built[item_id]

    def for_tile(self, tile: str) -> list[BuiltItem]:
        """All built items made from ``tile`` (``"patch_445"``), in spec order."""
        name = _tile_name(tile)
        return [b for b in self.built.values() if b.tile.name == name]


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def _parse_datetime(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _format_datetime(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_datetime(tile: TileInfo) -> datetime:
    """Deterministic summer acquisition time for ``tile`` at about 10:30 local mean solar time (UTC)."""
    h = _crc(tile.name)
    year = 2021 + h % 2
    start = date(year, 6, 1) if tile.center_lat >= 0 else date(year, 12, 1)
    day = start + timedelta(days=(h >> 8) % 90)
    local_hours = 10.5 - tile.center_lon / 15.0  # UTC hour of 10:30 local mean solar time
    dt = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=local_hours)
    dt = dt.replace(second=(h >> 16) % 60, microsecond=24000)
    assert DATE_RANGE[0] <= dt.date() <= DATE_RANGE[1]
    return dt


def solar_angles(lon: float, lat: float, when: datetime) -> tuple[float, float]:
    """Approximate (NOAA/Spencer, ~0.5 degree) solar zenith and azimuth in degrees at ``lon, lat`` (degrees).

    Azimuth is clockwise from north (0..360).
    """
    when = when.astimezone(UTC)
    doy = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    true_solar_minutes = hour * 60 + eqtime + 4 * lon
    ha = math.radians(true_solar_minutes / 4 - 180)
    phi = math.radians(lat)
    cos_zen = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    zenith = math.degrees(math.acos(max(-1.0, min(1.0, cos_zen))))
    azimuth = math.degrees(math.atan2(math.sin(ha), math.cos(ha) * math.sin(phi) - math.tan(decl) * math.cos(phi)))
    return zenith, (azimuth + 180.0) % 360.0


def _asset(
    key: str, href: str, epsg_bounds: tuple[float, float, float, float], gsd: int, crop_px: int = CROP_PX
) -> dict[str, Any]:
    left, bottom, right, top = epsg_bounds
    n = crop_px * int(SOURCE_GSD) // gsd
    asset: dict[str, Any] = {
        "href": href,
        "proj:bbox": [left, bottom, right, top],
        "proj:shape": [n, n],
        "proj:transform": [float(gsd), 0.0, left, 0.0, -float(gsd), top],
        "gsd": float(gsd),
        "type": COG_MEDIA_TYPE,
        "roles": ["data"],
    }
    if key == "SCL":
        asset["title"] = "Scene classfication map (SCL)"  # sic, as on Planetary Computer
        return asset
    title, common_name, description, wavelength, fwhm = _BAND_META[key]
    asset["title"] = f"{title} - {gsd}m"
    band: dict[str, Any] = {"name": key}
    if common_name:
        band["common_name"] = common_name
    band.update({"description": description, "center_wavelength": wavelength, "full_width_half_max": fwhm})
    asset["eo:bands"] = [band]
    return asset


# --------------------------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------------------------


def _build_item(
    spec: ItemSpec, tile: TileInfo, out_dir: Path, base_url: str, blocksize: int, crop_px: int
) -> tuple[BuiltItem, dict[str, Any]]:
    acquired = _parse_datetime(spec.datetime) if spec.datetime else default_datetime(tile)
    h = _crc(f"{tile.name}/{_format_datetime(acquired)}")
    platform = spec.platform or ("Sentinel-2A" if h % 2 == 0 else "Sentinel-2B")
    sat = "S2A" if platform.endswith("2A") else "S2B"
    relative_orbit = spec.relative_orbit or (_crc(tile.name) % 143 + 1)
    baseline = spec.processing_baseline or ("04.00" if acquired >= BASELINE_04_START else "03.00")
    processed = acquired + timedelta(hours=20 + (h >> 4) % 30, minutes=(h >> 12) % 60)
    processing_time = spec.processing_time or processed.strftime("%Y%m%dT%H%M%S")
    acq = acquired.strftime("%Y%m%dT%H%M%S")
    item_id = f"{sat}_MSIL2A_{acq}_R{relative_orbit:03d}_T{tile.mgrs_tile}_{processing_time}"
    launch = datetime(2015, 6, 23, tzinfo=UTC) if sat == "S2A" else datetime(2017, 3, 7, tzinfo=UTC)
    absolute_orbit = int((acquired - launch).total_seconds() / 86400 * 143 / 10) + 1
    baseline_tag = f"N{baseline}"

    transform = Affine(SOURCE_GSD, 0.0, tile.left, 0.0, -SOURCE_GSD, tile.top)
    size = crop_px * SOURCE_GSD
    bounds = (tile.left, tile.top - size, tile.left + size, tile.top)

    if max(spec.nodata_columns, spec.scl_cloud_columns) > crop_px:
        raise ValueError(f"nodata_columns and scl_cloud_columns must be at most the crop's {crop_px} px")
    source = read_source_crop(tile, crop_px)
    nodata_cols = spec.nodata_columns
    arrays: dict[str, np.ndarray] = {}
    for idx, key in enumerate(SOURCE_BAND_ORDER):
        band = source[idx].copy()
        band[:, :nodata_cols] = 0
        factor = BAND_GSD[key] // int(SOURCE_GSD)
        if factor > 1:
            band = block_mean(band, factor)
            band[:, : math.ceil(nodata_cols / factor)] = 0
        arrays[key] = band
    n20 = crop_px // 2
    scl = np.full((n20, n20), SCL_VEGETATION, dtype=np.uint8)
    scl[:, : math.ceil(spec.scl_cloud_columns / 2)] = SCL_CLOUD_HIGH_PROBABILITY
    scl[:, : math.ceil(nodata_cols / 2)] = SCL_NO_DATA
    arrays["SCL"] = scl

    valid = scl != SCL_NO_DATA
    cloud_pct = float(100.0 * np.count_nonzero(scl == SCL_CLOUD_HIGH_PROBABILITY) / max(1, np.count_nonzero(valid)))
    nodata_pct = 100.0 * nodata_cols / crop_px

    transforms: dict[str, Affine] = {}
    paths: dict[str, Path] = {}
    hrefs: dict[str, str] = {}
    assets: dict[str, Any] = {}
    for key in ASSET_KEYS:
        gsd = BAND_GSD[key]
        band_transform = Affine(float(gsd), 0.0, tile.left, 0.0, -float(gsd), tile.top)
        rel = f"{item_id}/R{gsd}m/T{tile.mgrs_tile}_{acq}_{key}_{gsd}m.tif"
        path = out_dir / rel
        write_cog(path, arrays[key], tile.epsg, band_transform, blocksize, categorical=key == "SCL")
        if spec.broken_band == key:
            break_file(path, spec.broken_mode, seed=h)
        transforms[key] = band_transform
        paths[key] = path
        hrefs[key] = f"{base_url}/{rel}"
        assets[key] = _asset(key, hrefs[key], bounds, gsd, crop_px)
        for name, value in spec.asset_overrides.items():
            if value is None:
                assets[key].pop(name, None)
            else:
                assets[key][name] = value

    ring = densified_ring(tile.epsg, bounds)
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    zenith, azimuth = solar_angles(tile.center_lon, tile.center_lat, acquired)
    properties: dict[str, Any] = {
        "datetime": _format_datetime(acquired),
        "platform": platform,
        "proj:epsg": tile.epsg,
        "instruments": ["msi"],
        "s2:mgrs_tile": tile.mgrs_tile,
        "constellation": "Sentinel 2",
        "s2:granule_id": (
            f"{sat}_OPER_MSI_L2A_TL_ESRI_{processing_time}_A{absolute_orbit:06d}_T{tile.mgrs_tile}_{baseline_tag}"
        ),
        "eo:cloud_cover": float(spec.cloud_cover) if spec.cloud_cover is not None else round(cloud_pct, 6),
        "s2:datatake_id": f"G{sat}_{acq}_{absolute_orbit:06d}_{baseline_tag}",
        "s2:product_uri": f"{sat}_MSIL2A_{acq}_N{baseline.replace('.', '')}_R{relative_orbit:03d}"
        f"_T{tile.mgrs_tile}_{processing_time}.SAFE",
        "s2:product_type": "S2MSI2A",
        "sat:orbit_state": "descending",
        "sat:relative_orbit": relative_orbit,
        "s2:mean_solar_zenith": round(zenith, 10),
        "s2:mean_solar_azimuth": round(azimuth, 10),
        "s2:processing_baseline": baseline,
        "s2:nodata_pixel_percentage": round(nodata_pct, 6),
        "s2:high_proba_clouds_percentage": round(cloud_pct, 6),
        "s2:generation_time": _format_datetime(processed.replace(microsecond=0)),
    }
    properties.update(spec.extra_properties)
    item: dict[str, Any] = {
        "id": item_id,
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "type": "Feature",
        "links": [dict(LICENSE_LINK)],
        "assets": assets,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "collection": COLLECTION_ID,
        "properties": properties,
        "stac_extensions": list(STAC_EXTENSIONS),
        "stac_version": "1.0.0",
    }
    built = BuiltItem(
        spec=spec,
        item=item,
        tile=tile,
        epsg=tile.epsg,
        transform=transform,
        source=source,
        arrays=arrays,
        transforms=transforms,
        paths=paths,
        hrefs=hrefs,
    )
    return built, item


def make_collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Collection document modelled on Planetary Computer's ``sentinel-2-l2a``, with an extent covering ``items``."""
    if items:
        bbox = [
            min(i["bbox"][0] for i in items),
            min(i["bbox"][1] for i in items),
            max(i["bbox"][2] for i in items),
            max(i["bbox"][3] for i in items),
        ]
        times = sorted(i["properties"]["datetime"] for i in items)
        interval = [times[0], times[-1]]
    else:
        bbox = [-180.0, -90.0, 180.0, 90.0]
        interval = [_format_datetime(datetime(2015, 6, 27, 10, 25, 31, tzinfo=UTC)), None]
    item_assets: dict[str, Any] = {}
    for key in ASSET_KEYS:
        template = _asset(key, "", (0.0, 0.0, 0.0, 0.0), BAND_GSD[key])
        item_assets[key] = {k: v for k, v in template.items() if not k.startswith("proj:") and k != "href"}
    eo_bands = [
        {"gsd": BAND_GSD[k], **_asset(k, "", (0.0, 0.0, 0.0, 0.0), BAND_GSD[k])["eo:bands"][0]}
        for k in REFLECTANCE_BANDS
    ]
    return {
        "id": COLLECTION_ID,
        "type": "Collection",
        "links": [
            {
                "rel": "license",
                "href": "https://scihub.copernicus.eu/twiki/pub/SciHubWebPortal/TermsConditions/"
                "Sentinel_Data_Terms_and_Conditions.pdf",
                "title": "Copernicus Sentinel data terms",
            }
        ],
        "title": "Sentinel-2 Level-2A",
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "license": "proprietary",
        "keywords": ["Sentinel", "Copernicus", "ESA", "Satellite", "Global", "Imagery", "Reflectance"],
        "providers": [
            {
                "url": "https://sentinel.esa.int/web/sentinel/missions/sentinel-2",
                "name": "ESA",
                "roles": ["producer", "licensor"],
            },
            {"url": "https://www.esri.com/", "name": "Esri", "roles": ["processor"]},
            {"url": "https://planetarycomputer.microsoft.com", "name": "Microsoft", "roles": ["host", "processor"]},
        ],
        "summaries": {
            "gsd": [10, 20, 60],
            "eo:bands": eo_bands,
            "platform": ["Sentinel-2A", "Sentinel-2B"],
            "instruments": ["msi"],
            "constellation": ["sentinel-2"],
        },
        "description": (
            "Loopback test copy of Planetary Computer's sentinel-2-l2a: 2520 m windows of real Sentinel-2 L2A "
            "patches as per-band cloud-optimized GeoTIFFs."
        ),
        "item_assets": item_assets,
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"],
    }


def build_catalog(
    specs: list[ItemSpec] | tuple[ItemSpec, ...],
    out_dir: str | Path,
    base_url: str,
    tiles_dir: str | Path | None = None,
    blocksize: int = BLOCKSIZE,
    crop_px: int = CROP_PX,
) -> Catalog:
    """Write COGs, ``collection.json`` and ``items.json`` (FeatureCollection) for ``specs`` below ``out_dir``.

    ``base_url`` is the URL under which ``out_dir`` is served (no trailing slash needed); asset hrefs are
    ``<base_url>/<item id>/...``. ``tiles_dir`` defaults to :func:`default_s2_tiles_dir`; ``crop_px`` is the side of
    the top-left window cut from each patch, in 10 m pixels (a multiple of 6, at most the patch's). Raises
    ``ValueError`` for unknown tiles or duplicate item ids (give one of two same-tile specs an explicit ``datetime``).
    """
    t0 = time.perf_counter()
    if crop_px <= 0 or crop_px % 6:
        raise ValueError(f"crop_px must be a positive multiple of 6 (the 60 m bands), got {crop_px}")
    tiles_dir = Path(tiles_dir) if tiles_dir is not None else default_s2_tiles_dir()
    index = read_tile_index(tiles_dir.resolve())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/")

    built: dict[str, BuiltItem] = {}
    items: list[dict[str, Any]] = []
    for spec in specs:
        name = _tile_name(spec.tile)
        if name not in index:
            raise ValueError(f"unknown tile {spec.tile!r}; known: {sorted(index)}")
        b, item = _build_item(spec, index[name], out_dir, base_url, blocksize, crop_px)
        if b.id in built:
            raise ValueError(f"duplicate item id {b.id}; give the specs distinct datetimes or processing times")
        built[b.id] = b
        items.append(item)

    collection = make_collection(items)
    collection_path = out_dir / "collection.json"
    items_path = out_dir / "items.json"
    collection_path.write_text(json.dumps(collection, indent=1))
    items_path.write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=1))
    return Catalog(
        out_dir=out_dir,
        base_url=base_url,
        collection_path=collection_path,
        items_path=items_path,
        collection=collection,
        items=items,
        built=built,
        build_seconds=time.perf_counter() - t0,
    )


#: The session-wide default catalog: four places on four continents, plus a second, cloudier date of the first one with
#: its left 60 columns (600 m) as nodata and its left 100 columns (1000 m) flagged as high-probability cloud in SCL.
DEFAULT_SPECS: tuple[ItemSpec, ...] = (
    ItemSpec("patch_33188"),  # Colorado Plateau, USA (12SVF, EPSG:32612)
    ItemSpec(
        "patch_33188",
        datetime="2022-09-14T18:05:41.024000Z",
        nodata_columns=60,
        scl_cloud_columns=100,
        cloud_cover=41.5,
    ),
    ItemSpec("patch_57755"),  # south-east Brazil (22KCV, EPSG:32722)
    ItemSpec("patch_58000"),  # Kazakhstan (42TTM, EPSG:32642)
    ItemSpec("patch_8845"),  # Northwest Territories taiga, Canada (11VNK, EPSG:32611)
)
