"""Pixels from a STAC API: area-uniform points, each searched for Sentinel-2 L2A items with pystac-client.

:class:`StacSearcher` finds the items at a point on any STAC API. The Query and Sort extensions are
used when the server's ``conformsTo`` lists them; otherwise (or in addition) the cloud-cover filter
and the ordering are applied on the client, so servers without those extensions give the same choice
of item. :class:`StacSource` is the pixel source built on it: windows around each point in the best
matching items, read from their COGs (hrefs signed by the search for Planetary Computer).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from satclip_cli.errors import SatclipError, one_line
from satclip_cli.sampling.retry import RetryPolicy, RunStoppedError, call_with_retries
from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.sources.base import Draw, SourceContext, area_of, draw_point
from satclip_cli.sampling.sources.planetary_computer import PLANETARY_COMPUTER_STAC_URL, is_planetary_computer
from satclip_cli.sampling.sources.sentinel2_scenes import Sentinel2SceneSource
from satclip_cli.sampling.window import window_around

if TYPE_CHECKING:
    from satclip_cli.sampling.config import RunOptions, SampleSettings

ITEM_ORDERS = ("least-cloudy", "random")
"""How matching items are ordered at a point (see :func:`order_items`)."""


class StacError(SatclipError):
    """The STAC API could not be opened or searched."""


@dataclass(frozen=True)
class SearchOptions:
    """What to search: collection, acquisition interval (ISO dates, inclusive), scene cloud cover in %.

    ``order`` chooses among matching items: ``least-cloudy`` (then newest, then id) or
    ``random`` (seeded per point). ``max_items`` caps the items fetched per point.
    """

    stac_url: str = PLANETARY_COMPUTER_STAC_URL
    collection: str = "sentinel-2-l2a"
    start: str = "2021-01-01"
    end: str = "2023-05-17"
    max_cloud: float = 10.0
    order: str = "least-cloudy"
    sign: bool = True
    max_items: int = 500

    @property
    def datetime_range(self) -> str:
        """The STAC ``datetime`` interval covering whole days from ``start`` to ``end``."""
        return f"{_day_start(self.start)}/{_day_end(self.end)}"


@dataclass(frozen=True)
class ServerCapabilities:
    """Which search extensions the server declares."""

    query: bool
    sort: bool

    def describe(self) -> str:
        cloud = "server (Query extension)" if self.query else "client"
        order = "server (Sort extension)" if self.sort else "client"
        return f"cloud-cover filter on the {cloud}; ordering on the {order}"


def is_transient_stac_error(error: BaseException) -> bool:
    """True for errors worth retrying: no response at all, HTTP 429, or HTTP 5xx."""
    from pystac_client.exceptions import APIError

    if isinstance(error, APIError):
        status = getattr(error, "status_code", None)
        return status is None or status == 429 or status >= 500
    return isinstance(error, ConnectionError | TimeoutError | OSError)


class StacSearcher:
    """Searches one STAC API from many threads (one pystac-client ``Client`` per thread)."""

    def __init__(
        self,
        options: SearchOptions,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[BaseException], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.options = options
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.stop = stop
        self._local = threading.local()
        self._capabilities: ServerCapabilities | None = None

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = call_with_retries(
                self._open, self.policy, is_transient_stac_error, on_retry=self.on_retry, stop=self.stop
            )
            self._local.client = client
        return client

    def _open(self) -> Any:
        from pystac_client import Client
        from pystac_client.exceptions import APIError

        modifier = None
        if self.options.sign:
            from satclip_cli.sampling.sources.planetary_computer import planetary_computer

            modifier = planetary_computer().sign_inplace
        try:
            return Client.open(self.options.stac_url, modifier=modifier, timeout=60)
        except APIError:
            raise
        except Exception as error:  # requests' errors, bad JSON, not a STAC API
            raise StacError(f"cannot open the STAC API at {self.options.stac_url}: {error}") from error

    def check(self) -> ServerCapabilities:
        """Open the API, check it offers item search and the collection; return its extensions."""
        from pystac_client import ConformanceClasses
        from pystac_client.exceptions import APIError

        if self._capabilities is None:
            try:
                client = self._client()
            except APIError as error:
                raise StacError(f"cannot open the STAC API at {self.options.stac_url}: {_brief(error)}") from error
            if not client.conforms_to(ConformanceClasses.ITEM_SEARCH):
                raise StacError(f"{self.options.stac_url} does not offer STAC item search")
            try:
                client.get_collection(self.options.collection)
            except Exception as error:
                raise StacError(
                    f"collection {self.options.collection!r} not found at {self.options.stac_url}: {_brief(error)}"
                ) from error
            self._capabilities = ServerCapabilities(
                query=client.conforms_to(ConformanceClasses.QUERY), sort=client.conforms_to(ConformanceClasses.SORT)
            )
        return self._capabilities

    def items_at(
        self,
        lon: float,
        lat: float,
        rng: np.random.Generator | None = None,
        on_bad_item: Callable[[dict[str, Any], SatclipError], None] | None = None,
    ) -> list[SceneItem]:
        """Items of the collection whose footprint contains (lon, lat) (degrees), best first.

        Only items within the date range and with ``eo:cloud_cover <= max_cloud`` are kept. Items that
        cannot be used (missing bands, malformed projection metadata) are left out and passed, with the
        reason, to ``on_bad_item``. Transient errors are retried; the last one propagates
        (``pystac_client`` ``APIError``).
        """
        capabilities = self.check()
        raw = call_with_retries(
            lambda: self._search(lon, lat, capabilities),
            self.policy,
            is_transient_stac_error,
            on_retry=self.on_retry,
            stop=self.stop,
        )
        items = []
        for item in raw:
            cloud = (item.get("properties") or {}).get("eo:cloud_cover")
            if cloud is None or float(cloud) > self.options.max_cloud:
                continue
            try:
                items.append(SceneItem.from_stac(item))
            except SatclipError as error:  # not a usable L2A item (missing bands, malformed projection)
                if on_bad_item is not None:
                    on_bad_item(item, error)
        return order_items(items, self.options.order, rng)

    def _search(self, lon: float, lat: float, capabilities: ServerCapabilities) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "collections": [self.options.collection],
            "intersects": {"type": "Point", "coordinates": [lon, lat]},
            "datetime": self.options.datetime_range,
            "max_items": self.options.max_items,
            "limit": min(self.options.max_items, 100),
        }
        if capabilities.query:
            kwargs["query"] = {"eo:cloud_cover": {"lte": self.options.max_cloud}}
        if capabilities.sort and self.options.order == "least-cloudy":
            kwargs["sortby"] = [{"field": "properties.eo:cloud_cover", "direction": "asc"}]
        search = self._client().search(**kwargs)
        return list(search.items_as_dicts())


def order_items(items: list[SceneItem], order: str, rng: np.random.Generator | None = None) -> list[SceneItem]:
    """Order candidate items deterministically, whatever order the server returned them in.

    ``least-cloudy``: by scene cloud cover, then newest first, then id. ``random``: a permutation
    drawn from ``rng`` of the items sorted by id.
    """
    by_id = sorted(items, key=lambda item: item.id)
    if order == "random":
        if rng is None:
            raise ValueError("order 'random' needs an rng")
        return [by_id[i] for i in rng.permutation(len(by_id))]
    if order != "least-cloudy":
        raise ValueError(f"unknown item order {order!r}; expected one of {ITEM_ORDERS}")
    newest_first = sorted(by_id, key=lambda item: item.datetime, reverse=True)
    return sorted(newest_first, key=lambda item: item.cloud_cover)


def search_options(settings: SampleSettings, sign: bool) -> SearchOptions:
    """The search the settings ask for: STAC API, collection, dates, scene cloud cover, item order."""
    return SearchOptions(
        stac_url=settings.stac_url,
        collection=settings.collection,
        start=settings.start,
        end=settings.end,
        max_cloud=settings.max_cloud,
        order=settings.order,
        sign=sign,
    )


class StacSource(Sentinel2SceneSource):
    """Windows around area-uniform points in the best matching items of a STAC API search.

    At each point (drawn in the area of ``bbox``/``region``/``land_only``) the items are searched, transient
    errors retried; up to ``max_items_per_point`` windows that lie fully inside an item are offered, best
    item first. A failed search is logged and the point redrawn; after ``max_consecutive_search_failures``
    failed searches in a row the run stops with a :class:`StacError`. Opening the source checks the API.

    Asset hrefs are signed by the search itself when ``options.sign`` (default: for a Planetary Computer
    STAC URL).
    """

    def __init__(self, settings: SampleSettings, options: RunOptions, context: SourceContext) -> None:
        self.area = area_of(settings)
        sign = options.sign if options.sign is not None else is_planetary_computer(settings.stac_url)
        self.searcher = StacSearcher(
            search_options(settings, sign), options.retry, on_retry=context.count_retry, stop=context.stop
        )
        self.searcher.check()
        super().__init__(settings, options, context)
        self.max_items_per_point = options.max_items_per_point
        self.max_failures_in_a_row = options.max_consecutive_search_failures
        self._failures_in_a_row = 0
        self._lock = threading.Lock()

    def describe(self) -> list[str]:
        settings = self.settings
        return [
            f"Where: {self.area.describe()}",
            f"Search: {settings.stac_url} collection {settings.collection}, {settings.start} to "
            f"{settings.end}, eo:cloud_cover <= {settings.max_cloud}%, {settings.order} first; "
            f"{self.searcher.check().describe()}",
            self.quality(),
        ]

    def preview(self, rng: np.random.Generator, index: int = 0) -> str:
        lon, lat = draw_point(self.area, rng, index)
        items = self.searcher.items_at(lon, lat, rng)
        text = f"point ({lon:.5f}, {lat:.5f}): {len(items)} matching scenes"
        if items:
            text += f", first {items[0].id} (cloud {items[0].cloud_cover:.1f}%)"
        return text

    def draw(self, index: int, rng: np.random.Generator) -> Draw | None:
        point = draw_point(self.area, rng, index)

        def bad_item(item: dict[str, Any], error: SatclipError) -> None:
            self.context.count("bad_items")
            self.context.log_failure(index, "item", one_line(error, 300), item_id=str(item.get("id")), point=point)

        try:
            items = self.searcher.items_at(point[0], point[1], rng, on_bad_item=bad_item)
        except RunStoppedError:
            raise
        except Exception as error:
            self.context.count("search_errors")
            self.context.log_failure(index, "search", one_line(error, 300), point=point)
            self._note_search_failure(error)
            return None
        self._note_search_success()
        windows = []
        for item in items:
            window = window_around(item, point[0], point[1], self.settings.size)
            if window.inside_item:
                windows.append(window)
            else:
                self.context.count("outside_item")
            if len(windows) == self.max_items_per_point:
                break
        if not windows:
            self.context.count("no_item")
            return None
        return Draw(point, windows)

    def origin(self) -> dict[str, Any]:
        return {"source": self.settings.stac_url, "collection": self.settings.collection}

    def _note_search_success(self) -> None:
        with self._lock:
            self._failures_in_a_row = 0

    def _note_search_failure(self, error: BaseException) -> None:
        """Count a failed search; raise :class:`StacError` (stopping the run) after too many in a row."""
        with self._lock:
            self._failures_in_a_row += 1
            failures = self._failures_in_a_row
        if failures >= self.max_failures_in_a_row:
            raise StacError(
                f"{failures} STAC searches in a row failed at {self.settings.stac_url} "
                f"(last: {one_line(error, 300)}); stopped — run the same command again to resume"
            )


def _day_start(date: str) -> str:
    return date if "T" in date else f"{date}T00:00:00Z"


def _day_end(date: str) -> str:
    return date if "T" in date else f"{date}T23:59:59Z"


_CONNECTION_FAILURES = {
    "NameResolutionError": "host name not found (no network?)",
    "NewConnectionError": "connection refused",
    "ConnectTimeoutError": "connection timed out",
    "ReadTimeoutError": "no answer in time",
    "SSLError": "TLS error",
}


def _brief(error: BaseException) -> str:
    """A short reason: ``HTTP 503: ...`` for a server answer, a plain phrase for a failed connection."""
    status = getattr(error, "status_code", None)
    if status is not None:
        return one_line(f"HTTP {status}: {one_line(error)}", 200)
    cause = re.search(r"Caused by (\w+)", one_line(error))
    if cause:
        return _CONNECTION_FAILURES.get(cause.group(1), cause.group(1))
    return one_line(error, 200)
