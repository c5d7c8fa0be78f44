"""The one interface between the sampling job and where pixels come from.

A :class:`PixelSource` says what it makes (band names, pixel type, resolution), describes itself for a
dry run, offers candidate windows for each draw of a patch, reads a window's pixels, and names itself in
every record. The job does everything else the same way for every source: points of patch ``i`` from
``point_rng(seed, i, attempt)``, the quality check, writing, records, resume, shards and the index.

What a source reports back (counters, failures, "stop now") goes through the :class:`SourceContext`
the job hands it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from satclip_cli.geo.sphere_sampling import SamplingArea
from satclip_cli.sampling.reader import PatchPixels
from satclip_cli.sampling.window import PatchWindow

if TYPE_CHECKING:
    from satclip_cli.sampling.config import SampleSettings

Point = tuple[float, float]
"""(lon, lat) in degrees."""


@dataclass(frozen=True)
class Draw:
    """The candidates of one draw for a patch: windows to try in order (best first).

    ``point`` is the drawn (lon, lat) in degrees the windows are centred on, or None when the window
    itself was drawn (random windows of listed scenes).
    """

    point: Point | None
    windows: list[PatchWindow]


@dataclass(frozen=True)
class SourceContext:
    """What the job lends a source.

    Attributes:
        count: adds one to a counter of the run's :class:`~satclip_cli.sampling.summary.SampleSummary`
            (``"outside_item"``, ``"no_item"``, ``"search_errors"``, ``"read_errors"``, ``"bad_items"``,
            ``"retries"``).
        log_failure: ``log_failure(index, stage, message, **context)`` appends one line to the run's
            failure log (``stage`` e.g. ``"search"``, ``"read"``, ``"item"``; ``context`` e.g. ``point``, ``item_id``).
        stop: set when the run is stopping (Ctrl-C or a fatal error); waits for retries end at once.
    """

    count: Callable[[str], None]
    log_failure: Callable[..., None]
    stop: threading.Event

    def count_retry(self, _error: BaseException) -> None:
        """An ``on_retry`` callback for :func:`~satclip_cli.sampling.retry.call_with_retries`."""
        self.count("retries")


class PixelSource(Protocol):
    """Where the pixels of a dataset come from (one per run, used from many threads).

    A source may raise a :class:`~satclip_cli.errors.SatclipError` from :meth:`draw` or :meth:`read` to
    stop the whole run (e.g. the STAC API stays down); the dataset is left consistent.
    """

    band_names: tuple[str, ...]
    """Band descriptions of the written patches, in band order."""
    dtype: str
    """Pixel type of the written patches (``"uint16"``, ``"uint8"``)."""

    def pixel_summary(self) -> str:
        """The patches' pixel size and bands for the dry run, e.g. ``10 m, bands B01 ... B12``."""
        ...

    def describe(self) -> list[str]:
        """Dry-run lines: where patches are drawn (``Where: ...``), how pixels are found, the quality check."""
        ...

    def preview(self, rng: np.random.Generator, index: int = 0) -> str:
        """Dry run: what the first draw of patch ``index`` with ``rng`` finds, without reading pixels (e.g. the
        point and its scenes)."""
        ...

    def draw(self, index: int, rng: np.random.Generator) -> Draw | None:
        """Candidate windows for patch ``index`` drawn with ``rng``; None when nothing usable was found.

        The result depends only on the source's settings and the state of ``rng`` (and, for a search,
        the server's answer). What was unusable is counted and failures are logged through the context.
        """
        ...

    def read(self, index: int, window: PatchWindow, point: Point | None, executor: Executor) -> PatchPixels | None:
        """The pixels of ``window`` (``executor`` may read bands in parallel); None when the read failed
        (counted and logged: the next window or draw is tried)."""
        ...

    def origin(self) -> dict[str, Any]:
        """``source`` and ``collection`` columns of every record of the dataset."""
        ...


def draw_point(area: SamplingArea, rng: np.random.Generator, index: int) -> Point:
    """One area-uniform point of ``area`` for patch ``index`` drawn with ``rng``, as (lon, lat) floats in degrees.

    With ``per_polygon`` the point lies in the region feature ``index mod K``
    (:meth:`~satclip_cli.geo.sphere_sampling.SamplingArea.feature_of`); otherwise anywhere in the area.
    """
    lon, lat = area.draw(rng, 1, feature=area.feature_of(index))[0]
    return float(lon), float(lat)


def area_of(settings: SampleSettings) -> SamplingArea:
    """The sampling area of the settings' ``bbox``, ``region``, ``land_only`` and ``per_polygon`` (raises
    InputError)."""
    region = Path(settings.region) if settings.region else None
    return SamplingArea.from_options(settings.bbox, region, settings.land_only, settings.per_polygon)
