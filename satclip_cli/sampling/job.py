"""The work behind ``satclip sample``: pick places, find scenes, read windows, write patches, resumably.

Pixels come from Sentinel-2 scenes (a STAC API or a scene list) or, with ``source="bluemarble"``, from
the Blue Marble mosaic in memory (:mod:`satclip_cli.sampling.bluemarble`; no network); everything else
(points, resume, shards, quality check, records, index) is shared.

Patch ``i`` of a dataset depends only on the dataset settings and ``i``: its points come from
``point_rng(seed, i, attempt)``. So a run can be split into shards, interrupted and resumed,
or extended to a larger ``n``, and still produce the same patches.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.dataset.index import IMAGES_DIR, STATE_DIR, JsonLines, existing_patches, write_index
from satclip_cli.dataset.patch_encoding import patch_filename, remove_partial_patches, write_patch
from satclip_cli.dataset.sentinel2 import S2_BANDS
from satclip_cli.errors import InputError, SatclipError
from satclip_cli.geo.sphere_sampling import SamplingArea, point_rng
from satclip_cli.sampling.bluemarble import (
    BLUE_MARBLE_BANDS,
    BLUE_MARBLE_COLLECTION,
    BLUE_MARBLE_DTYPE,
    PIXELS_PER_DEGREE,
    BlueMarbleSource,
)
from satclip_cli.sampling.config import SampleSettings, load_or_store_settings
from satclip_cli.sampling.planetary_computer_signing import is_planetary_computer, planetary_computer
from satclip_cli.sampling.quality import QualityLimits, judge_patch
from satclip_cli.sampling.reader import AssetReadError, PatchPixels, read_patch
from satclip_cli.sampling.remote_reads import is_transient_read_error
from satclip_cli.sampling.retry import RetryPolicy, RunStoppedError, call_with_retries
from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.scene_list import load_scene_list
from satclip_cli.sampling.stac_search import StacError, StacSearcher
from satclip_cli.sampling.window import PatchWindow, random_window, window_around


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
            raise InputError(f"--shard must look like K/N with 1 <= K <= N (e.g. 1/4), not {text!r}") from None
        if not 1 <= shard.k <= shard.count:
            raise InputError(f"--shard {text}: K must be between 1 and N")
        return shard

    def indices(self, n: int) -> range:
        return range(self.k - 1, n, self.count)

    @property
    def tag(self) -> str:
        return f"{self.k}-of-{self.count}"


@dataclass(frozen=True)
class RunOptions:
    """How to run (none of this changes which patches are made).

    ``workers`` points in parallel, each reading its bands in parallel; ``max_point_attempts``
    points drawn per patch before giving up; ``max_items_per_point`` items tried at one point.
    ``sign``: sign asset hrefs with the ``planetary-computer`` package (None: when the STAC
    URL or the hrefs are Planetary Computer's). The index files are rewritten every
    ``index_refresh_seconds`` during a run, and at its end.
    """

    workers: int = 4
    shard: Shard = field(default_factory=Shard)
    max_point_attempts: int = 25
    max_items_per_point: int = 5
    max_consecutive_search_failures: int = 20
    index_refresh_seconds: float = 600.0
    sign: bool | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: bool = True


@dataclass
class SampleSummary:
    """Counts of a run; thread-safe increments through :meth:`add`."""

    out_dir: Path
    planned: int = 0
    already_done: int = 0
    written: int = 0
    gave_up: int = 0
    no_item: int = 0
    outside_item: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    search_errors: int = 0
    read_errors: int = 0
    retries: int = 0
    index_rows: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def lines(self) -> list[str]:
        """A short human-readable report."""
        verb = "Interrupted after writing" if self.interrupted else "Wrote"
        lines = [
            f"{verb} {self.written:,} patches in {self.seconds:.1f} s "
            f"({self.already_done:,} already present; index lists {self.index_rows:,}) -> {self.out_dir}",
        ]
        rejected = ", ".join(f"{count:,} {reason}" for reason, count in sorted(self.rejected.items())) or "none"
        lines.append(
            f"Rejected patches: {rejected}; points without a usable scene (redrawn): {self.no_item:,}; "
            f"windows past a scene edge (or a pole): {self.outside_item:,}"
        )
        lines.append(
            f"Errors: {self.search_errors:,} search, {self.read_errors:,} read (skipped; see "
            f"{self.out_dir / STATE_DIR}/failures-*.jsonl); retries: {self.retries:,}; "
            f"gave up on {self.gave_up:,} patches"
        )
        if self.interrupted:
            lines.append("The dataset is consistent; run the same command again to resume.")
        return lines


class SamplingJob:
    """One ``satclip sample`` run over a dataset folder."""

    def __init__(self, settings: SampleSettings, out_dir: Path, options: RunOptions) -> None:
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.options = options
        self.images_dir = self.out_dir / IMAGES_DIR
        self.state_dir = self.out_dir / STATE_DIR
        self.stop = threading.Event()
        self.summary = SampleSummary(out_dir=self.out_dir)
        self.limits = QualityLimits(settings.max_nodata_fraction, settings.max_cloud_fraction)
        self._area: SamplingArea | None = None
        self._scenes: list[SceneItem] | None = None
        self._mosaic: BlueMarbleSource | None = None
        self._searcher: StacSearcher | None = None
        self._sign_url: Callable[[str], str] | None = None
        self._failures: JsonLines | None = None
        self._records: JsonLines | None = None
        self._search_failures_in_a_row = 0
        self._fatal: SatclipError | None = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- set-up

    def prepare(self) -> None:
        """Validate inputs and open the sources (STAC API, scene list or Blue Marble mosaic); no pixels are read."""
        settings = self.settings
        if settings.strategy == "scenes":
            if settings.items is None:
                raise InputError("--strategy scenes needs --items ITEMS.parquet (a stac-geoparquet scene list)")
            self._scenes = load_scene_list(
                Path(settings.items), start=settings.start, end=settings.end, max_cloud=settings.max_cloud
            )
            sign = self.options.sign
            if sign is None:
                sign = any(is_planetary_computer(href) for href in self._scenes[0].hrefs.values())
            if sign:
                self._sign_url = planetary_computer().sign_url
        else:
            region = Path(settings.region) if settings.region else None
            self._area = SamplingArea.from_options(settings.bbox, region, settings.land_only)
            if settings.source == "bluemarble":
                self._mosaic = BlueMarbleSource(settings.size)
                return
            sign = self.options.sign if self.options.sign is not None else is_planetary_computer(settings.stac_url)
            self._searcher = StacSearcher(
                settings.search_options(sign), self.options.retry, on_retry=self._count_retry, stop=self.stop
            )
            self._searcher.check()

    def _count_retry(self, _error: BaseException) -> None:
        self.summary.add("retries")

    def pending_indices(self) -> list[int]:
        """Dataset indices of this shard whose patch is not written yet."""
        done = existing_patches(self.images_dir)
        return [i for i in self.options.shard.indices(self.settings.n) if i not in done]

    # --------------------------------------------------------------- dry run

    def plan(self, preview_points: int = 5) -> list[str]:
        """What a run would do, and for the first few patches which point, scene and window (no pixel reads)."""
        settings, options = self.settings, self.options
        indices = options.shard.indices(settings.n)
        pending = self.pending_indices()
        if self._mosaic is not None:
            pixels = f"1/{PIXELS_PER_DEGREE} degree, bands {' '.join(BLUE_MARBLE_BANDS)} ({BLUE_MARBLE_DTYPE})"
        else:
            pixels = f"10 m, bands {' '.join(S2_BANDS)}"
        lines = [
            f"Dataset {self.out_dir}: {settings.n:,} patches of {settings.size}x{settings.size} px at {pixels}, "
            f"seed {settings.seed}",
            f"Shard {options.shard.k}/{options.shard.count}: {len(indices):,} patches, {len(indices) - len(pending):,} "
            f"already present, {len(pending):,} to make with {options.workers} workers",
        ]
        if self._scenes is not None:
            lines.append(f"Where: random windows of {len(self._scenes):,} scenes listed in {settings.items}")
        else:
            assert self._area is not None
            lines.append(f"Where: {self._area.describe()}")
        if self._mosaic is not None:
            lines.append(f"Pixels: {self._mosaic.describe()}")
            lines.append(
                f"Quality: pure-black pixels <= {settings.max_nodata_fraction:.0%} of the window; "
                "windows past a pole are redrawn"
            )
        else:
            if self._searcher is not None:
                capabilities = self._searcher.check()
                lines.append(
                    f"Search: {settings.stac_url} collection {settings.collection}, {settings.start} to "
                    f"{settings.end}, eo:cloud_cover <= {settings.max_cloud}%, {settings.order} first; "
                    f"{capabilities.describe()}"
                )
            cloud = (
                f"{settings.max_cloud_fraction:.0%} (SCL)" if settings.max_cloud_fraction is not None else "not checked"
            )
            lines.append(
                f"Quality: nodata <= {settings.max_nodata_fraction:.0%} of the window; cloudy pixels {cloud}; "
                f"20/60 m bands resampled with {settings.resampling}"
            )
        for index in pending[:preview_points]:
            lines.append(self._preview(index))
        return lines

    def _preview(self, index: int) -> str:
        if self._scenes is not None:
            rng = point_rng(self.settings.seed, index, 0)
            scene = self._scenes[int(rng.integers(len(self._scenes)))]
            window = random_window(scene, self.settings.size, rng)
            lon, lat = window.centre_lonlat()
            return (
                f"  {patch_filename(index)}: scene {scene.id}, window at col {window.col_off} row {window.row_off}, "
                f"centre ({lon:.5f}, {lat:.5f})"
            )
        assert self._area is not None
        rng = point_rng(self.settings.seed, index, 0)
        lon, lat = self._area.draw(rng, 1)[0]
        if self._mosaic is not None:
            text = f"  {patch_filename(index)}: point ({lon:.5f}, {lat:.5f}): "
            window = self._mosaic.window_around(float(lon), float(lat))
            if window is None:
                return text + "window runs past a pole (redrawn)"
            return text + f"mosaic window at col {window.col_off} row {window.row_off}"
        assert self._searcher is not None
        items = self._searcher.items_at(float(lon), float(lat), rng)
        text = f"  {patch_filename(index)}: point ({lon:.5f}, {lat:.5f}): {len(items)} matching scenes"
        if items:
            text += f", first {items[0].id} (cloud {items[0].cloud_cover:.1f}%)"
        return text

    # ------------------------------------------------------------------- run

    def run(self, on_progress: Callable[[int], None] | None = None) -> SampleSummary:
        """Make every missing patch of this shard, then (re)write the index files.

        On Ctrl-C, running patches stop at their next step, nothing partial is kept, the index
        is rewritten and ``KeyboardInterrupt`` propagates (after ``summary.interrupted`` is set).
        """
        start = time.perf_counter()
        self.images_dir.mkdir(parents=True, exist_ok=True)
        load_or_store_settings(self.state_dir, self.settings)
        remove_partial_patches(self.images_dir)
        self._records = JsonLines(self.state_dir / f"records-{self.options.shard.tag}.jsonl")
        self._failures = JsonLines(self.state_dir / f"failures-{self.options.shard.tag}.jsonl")
        indices = self.options.shard.indices(self.settings.n)
        pending = self.pending_indices()
        self.summary.planned = len(indices)
        self.summary.already_done = len(indices) - len(pending)
        band_threads = min(32, max(4, 4 * self.options.workers))
        try:
            with (
                ThreadPoolExecutor(band_threads, thread_name_prefix="satclip-band") as band_pool,
                ThreadPoolExecutor(self.options.workers, thread_name_prefix="satclip-patch") as patch_pool,
            ):
                for _ in self._run_all(pending, patch_pool, band_pool):
                    if on_progress is not None:
                        on_progress(1)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            raise
        finally:
            self.stop.set()
            self.summary.index_rows = write_index(self.out_dir)
            self.summary.seconds = time.perf_counter() - start
        if self._fatal is not None:
            raise self._fatal
        return self.summary

    def _run_all(
        self, pending: list[int], patch_pool: ThreadPoolExecutor, band_pool: ThreadPoolExecutor
    ) -> Iterator[int]:
        """Submit patches with a bounded number in flight; yield each finished index."""
        queue = iter(pending)
        in_flight: set[Future[Any]] = set()
        limit = 4 * self.options.workers
        last_index = time.monotonic()
        try:
            while True:
                if time.monotonic() - last_index > self.options.index_refresh_seconds:
                    write_index(self.out_dir)
                    last_index = time.monotonic()
                while len(in_flight) < limit and not self.stop.is_set():
                    index = next(queue, None)
                    if index is None:
                        break
                    in_flight.add(patch_pool.submit(self._make_patch, index, band_pool))
                if not in_flight:
                    return
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is not None and not isinstance(error, RunStoppedError):
                        raise error
                    yield 1
        finally:
            self.stop.set()
            for future in in_flight:
                future.cancel()
            wait(in_flight)

    def _make_patch(self, index: int, band_pool: ThreadPoolExecutor) -> None:
        settings = self.settings
        for attempt in range(self.options.max_point_attempts):
            if self.stop.is_set():
                raise RunStoppedError()
            rng = point_rng(settings.seed, index, attempt)
            if self._scenes is not None:
                scene = self._scenes[int(rng.integers(len(self._scenes)))]
                windows = [random_window(scene, settings.size, rng)]
                point = None
            else:
                point = self._draw_point(rng)
                windows = self._windows_at(index, point, rng)
                if windows is None:
                    continue
            for window in windows:
                if self._try_window(index, window, point, band_pool):
                    return
        self.summary.add("gave_up")
        self._fail(index, "gave-up", f"no acceptable patch after {self.options.max_point_attempts} points")

    def _draw_point(self, rng: np.random.Generator) -> tuple[float, float]:
        assert self._area is not None
        lon, lat = self._area.draw(rng, 1)[0]
        return float(lon), float(lat)

    def _windows_at(self, index: int, point: tuple[float, float], rng: np.random.Generator) -> list[PatchWindow] | None:
        """Windows around ``point`` in the best matching scenes (or the mosaic); None when the point must be redrawn."""
        if self._mosaic is not None:
            window = self._mosaic.window_around(*point)
            if window is None:
                self.summary.add("outside_item")
                return None
            return [window]
        assert self._searcher is not None
        try:
            items = self._searcher.items_at(point[0], point[1], rng)
        except RunStoppedError:
            raise
        except Exception as error:
            self.summary.add("search_errors")
            self._fail(index, "search", _one_line(error), point=point)
            self._note_search_failure(error)
            return None
        self._note_search_success()
        windows = []
        for item in items:
            window = window_around(item, point[0], point[1], self.settings.size)
            if window.inside_item:
                windows.append(window)
            else:
                self.summary.add("outside_item")
            if len(windows) == self.options.max_items_per_point:
                break
        if not windows:
            self.summary.add("no_item")
            return None
        return windows

    def _try_window(
        self, index: int, window: PatchWindow, point: tuple[float, float] | None, band_pool: ThreadPoolExecutor
    ) -> bool:
        if self.stop.is_set():
            raise RunStoppedError()
        pixels = self._read(index, window, point, band_pool)
        if pixels is None:
            return False
        verdict = judge_patch(pixels.bands, pixels.scl, self.limits)
        if verdict.rejected_for is not None:
            self.summary.reject(verdict.rejected_for)
            return False
        if self.stop.is_set():
            raise RunStoppedError()
        lon, lat = window.centre_lonlat()
        record: dict[str, Any] = {
            "index": index,
            "fn": patch_filename(index),
            "lon": lon,
            "lat": lat,
            "point_lon": point[0] if point else lon,
            "point_lat": point[1] if point else lat,
            **window.item.provenance(),
            "col_off": window.col_off,
            "row_off": window.row_off,
            "size": window.size,
            "nodata_fraction": verdict.nodata_fraction,
            "cloud_fraction": verdict.cloud_fraction,
            **self._origin(),
        }
        bands, dtype = (BLUE_MARBLE_BANDS, BLUE_MARBLE_DTYPE) if self._mosaic is not None else (S2_BANDS, "uint16")
        write_patch(
            self.images_dir / record["fn"], pixels.bands, window.item.crs, window.transform, record, bands, dtype
        )
        assert self._records is not None
        self._records.append(record)
        self.summary.add("written")
        return True

    def _origin(self) -> dict[str, Any]:
        """``source`` and ``collection`` of every record: STAC URL or scene list and collection, or the mosaic."""
        if self._mosaic is not None:
            return {"source": "bluemarble", "collection": BLUE_MARBLE_COLLECTION}
        source = self.settings.items if self._scenes is not None else self.settings.stac_url
        return {"source": source, "collection": self.settings.collection}

    def _read(
        self, index: int, window: PatchWindow, point: tuple[float, float] | None, band_pool: ThreadPoolExecutor
    ) -> PatchPixels | None:
        """The window's pixels: cut from the mosaic, or read from the scene's COGs (None: skipped, counted)."""
        if self._mosaic is not None:
            return PatchPixels(bands=self._mosaic.read(window), scl=None)
        if not window.inside_item:
            self.summary.add("outside_item")
            return None
        window = self._signed(window)
        tries = itertools.count()

        def read() -> PatchPixels:
            # A retry must bypass GDAL's cache, which remembers failed opens per URL.
            return read_patch(
                window,
                band_pool,
                resampling=self.settings.resampling,
                with_scl=self.settings.max_cloud_fraction is not None,
                uncached=next(tries) > 0,
            )

        try:
            pixels = call_with_retries(
                read,
                self.options.retry,
                lambda error: isinstance(error, AssetReadError) and is_transient_read_error(error.cause),
                on_retry=self._count_retry,
                stop=self.stop,
            )
        except AssetReadError as error:
            self.summary.add("read_errors")
            self._fail(index, "read", str(error), item_id=window.item.id, point=point)
            return None
        return pixels

    def _signed(self, window: PatchWindow) -> PatchWindow:
        if self._sign_url is None:
            return window
        sign = self._sign_url
        item = window.item
        signed = SceneItem(
            id=item.id,
            crs=item.crs,
            transform=item.transform,
            shape=item.shape,
            hrefs={key: sign(href) for key, href in item.hrefs.items()},
            properties=item.properties,
            geometry=item.geometry,
        )
        return PatchWindow(item=signed, col_off=window.col_off, row_off=window.row_off, size=window.size)

    def _fail(self, index: int, stage: str, message: str, **context: Any) -> None:
        assert self._failures is not None
        self._failures.append({"index": index, "stage": stage, "error": message, "time": time.time(), **context})

    def _note_search_success(self) -> None:
        with self._lock:
            self._search_failures_in_a_row = 0

    def _note_search_failure(self, error: BaseException) -> None:
        with self._lock:
            self._search_failures_in_a_row += 1
            if self._search_failures_in_a_row >= self.options.max_consecutive_search_failures:
                self._fatal = StacError(
                    f"{self._search_failures_in_a_row} STAC searches in a row failed at {self.settings.stac_url} "
                    f"(last: {_one_line(error)}); stopped — run the same command again to resume"
                )
                self.stop.set()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
