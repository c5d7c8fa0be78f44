"""A Sentinel-2 L2A STAC item reduced to what a patch read needs: grid, asset hrefs, provenance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from satclip_cli.dataset.sentinel2 import REFERENCE_BAND, S2_BANDS, SCL_ASSET
from satclip_cli.errors import InputError

PROVENANCE_PROPERTIES: dict[str, str] = {
    "datetime": "datetime",
    "platform": "platform",
    "mgrs_tile": "s2:mgrs_tile",
    "cloud_cover": "eo:cloud_cover",
    "mean_solar_zenith": "s2:mean_solar_zenith",
    "mean_solar_azimuth": "s2:mean_solar_azimuth",
    "processing_baseline": "s2:processing_baseline",
    "relative_orbit": "sat:relative_orbit",
    "granule_id": "s2:granule_id",
}
"""Our column name -> STAC property, copied into patch tags and the index."""


@dataclass(frozen=True)
class SceneItem:
    """One Sentinel-2 L2A scene as a STAC item: its 10 m grid and the hrefs of its band assets.

    ``transform`` is the 10 m grid's affine transform as the 6 numbers of ``proj:transform``
    (a, b, c, d, e, f: x = a*col + b*row + c, y = d*col + e*row + f, in metres of ``crs``);
    ``shape`` is (rows, cols) of that grid.
    """

    id: str
    crs: str
    transform: tuple[float, float, float, float, float, float]
    shape: tuple[int, int]
    hrefs: dict[str, str]
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] | None = None

    @property
    def cloud_cover(self) -> float:
        """Scene-level ``eo:cloud_cover`` in percent (100 when missing, so it sorts last)."""
        value = self.properties.get("eo:cloud_cover")
        return float(value) if value is not None else 100.0

    @property
    def datetime(self) -> str:
        return str(self.properties.get("datetime") or self.properties.get("start_datetime") or "")

    @property
    def has_scl(self) -> bool:
        return SCL_ASSET in self.hrefs

    def provenance(self) -> dict[str, Any]:
        """Item id, CRS and the :data:`PROVENANCE_PROPERTIES` (None where the item lacks one)."""
        info: dict[str, Any] = {"item_id": self.id, "crs": self.crs}
        for name, key in PROVENANCE_PROPERTIES.items():
            info[name] = self.properties.get(key)
        return info

    @classmethod
    def from_stac(cls, item: dict[str, Any]) -> SceneItem:
        """Parse a STAC item dict (STAC API result or stac-geoparquet row).

        The CRS comes from ``proj:code`` or ``proj:epsg`` (item properties or the reference band
        asset), the 10 m grid from the reference band's ``proj:transform`` and ``proj:shape``.
        Raises :class:`InputError` when a band asset (or its ``href``) or the projection information is
        missing or malformed (``proj:transform`` not 6 or 9 numbers of an invertible grid, ``proj:shape``
        not two positive integers).
        """
        item_id = str(item.get("id", "?"))
        properties = dict(item.get("properties") or {})
        assets = item.get("assets") or {}
        missing = [band for band in S2_BANDS if band not in assets]
        if missing:
            raise InputError(f"STAC item {item_id} has no asset(s) {', '.join(missing)}; is it Sentinel-2 L2A?")
        reference = assets[REFERENCE_BAND]
        crs = _crs_of(properties, reference)
        transform = reference.get("proj:transform") or properties.get("proj:transform")
        shape = reference.get("proj:shape") or properties.get("proj:shape")
        projection = {"proj:epsg/proj:code": crs, "proj:transform": transform, "proj:shape": shape}
        absent = [name for name, value in projection.items() if value is None]
        if absent:
            raise InputError(f"STAC item {item_id} lacks projection metadata: {', '.join(absent)}")
        no_href = [key for key in (*S2_BANDS, SCL_ASSET) if key in assets and not assets[key].get("href")]
        if no_href:
            raise InputError(f"STAC item {item_id} has no href for asset(s) {', '.join(no_href)}")
        hrefs = {key: str(asset["href"]) for key, asset in assets.items() if key in (*S2_BANDS, SCL_ASSET)}
        return cls(
            id=item_id,
            crs=crs,
            transform=_grid_transform(item_id, transform),
            shape=_grid_shape(item_id, shape),
            hrefs=hrefs,
            properties=properties,
            geometry=item.get("geometry"),
        )


def _grid_transform(item_id: str, value: Any) -> tuple[float, float, float, float, float, float]:
    """The 6 affine coefficients of ``proj:transform`` (6 numbers, or 9 whose last row is 0, 0, 1)."""
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) == 9 and numbers[6:] == [0.0, 0.0, 1.0]:
        numbers = numbers[:6]
    if len(numbers) != 6 or not all(math.isfinite(v) for v in numbers):
        raise InputError(f"STAC item {item_id} has a malformed proj:transform {value!r}; expected 6 numbers")
    a, b, _, d, e, _ = numbers
    if a * e - b * d == 0:
        raise InputError(f"STAC item {item_id} has a degenerate proj:transform {value!r} (no pixel size)")
    return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])


def _grid_shape(item_id: str, value: Any) -> tuple[int, int]:
    """(rows, cols) of ``proj:shape``: two positive integers."""
    try:
        rows, cols = (int(v) for v in value)
    except (TypeError, ValueError):
        rows = cols = 0
    if rows < 1 or cols < 1:
        raise InputError(f"STAC item {item_id} has a malformed proj:shape {value!r}; expected [rows, cols]")
    return rows, cols


def _crs_of(properties: dict[str, Any], asset: dict[str, Any]) -> str | None:
    for source in (asset, properties):
        code = source.get("proj:code")
        if code:
            return str(code)
        epsg = source.get("proj:epsg")
        if epsg is not None:
            return f"EPSG:{int(epsg)}"
    return None
