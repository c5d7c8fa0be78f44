"""The work behind ``satclip sample``: pick places, find windows, read them, check them, write patches, resumably.

Where the pixels come from (a STAC API, a scene list, the Blue Marble mosaic) is the pixel source's
business (:mod:`satclip_cli.sampling.sources`); everything else is the same for every source: the
points, resume, shards, the quality check, writing, records, failure logs and the index.

Patch ``i`` of a dataset depends only on the dataset settings and ``i``: its draws come from
``point_rng(seed, i, attempt)``. So a run can be split into shards, interrupted and resumed,
or extended to a larger ``n``, and still produce the same patches.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import Any

from satclip_cli.dataset.index import write_index
from satclip_cli.dataset.layout import (
    IMAGES_DIR,
    STATE_DIR,
    existing_patches,
    failures_path,
    patch_filename,
    records_path,
)
from satclip_cli.dataset.patch_files import PATCHES_KEPT, remove_partial_patches, write_patch
from satclip_cli.dataset.records import JsonLines, remove_unreadable_patches
from satclip_cli.geo.sphere_sampling import point_rng
from satclip_cli.sampling.config import SampleConfig, load_or_store_settings
from satclip_cli.sampling.quality import QualityLimits, judge_patch
from satclip_cli.sampling.retry import RunStoppedError
from satclip_cli.sampling.sources import open_source
from satclip_cli.sampling.sources.base import Point, SourceContext
from satclip_cli.sampling.summary import SampleSummary
from satclip_cli.sampling.window import PatchWindow
from satclip_cli.utils.disk_space import reporting_full_disk


def run(
    config: SampleConfig,
    *,
    progress: bool = True,
    progress_label: str = "Sampling",
    on_finish: Callable[[SampleSummary], None] | None = None,
) -> SampleSummary:
    """Make every missing patch of the configured shard, then (re)write the dataset's index files.

    Args:
        config: the dataset folder, its settings (checked, then stored or compared with the stored ones)
            and how to run.
        progress: show a progress bar on stderr.
        progress_label: the progress bar's description.
        on_finish: called with the summary once the run has ended — completed, interrupted (Ctrl-C) or
            stopped by an error — after the progress bar is gone (the CLI prints the summary there).

    On Ctrl-C, running patches stop at their next step, nothing partial is kept, the index is
    rewritten and ``KeyboardInterrupt`` propagates (``summary.interrupted`` is set).

    With ``config.options.scheduler`` set, the patches are made by the workers of a Dask cluster
    (:mod:`satclip_cli.sampling.cluster`); the dataset is the same.

    Raises:
        InputError: bad settings, an unusable area or scene list, or a folder holding a dataset made with
            other settings (checked before anything is written).
        StacError: the STAC API cannot be used, or too many searches in a row failed during the run.
        ClusterError: the Dask scheduler cannot be reached (with a scheduler), or sampling tasks killed
            their workers again and again.
    """
    if config.options.scheduler is not None:
        from satclip_cli.sampling.cluster import run_on_cluster

        return run_on_cluster(config, progress=progress, progress_label=progress_label, on_finish=on_finish)

    from satclip_cli.utils.progress import progress_bar

    sampling = SamplingRun(config)
    sampling.start()
    try:
        with progress_bar(progress, len(sampling.pending_indices()), progress_label, unit="patches") as advance:
            return sampling.run(on_progress=advance)
    finally:
        if on_finish is not None:
            on_finish(sampling.summary)


def plan(config: SampleConfig, *, preview_points: int = 5) -> list[str]:
    """What a run would do, and for the first few patches to make which point, scene and window (a dry run).

    Searches (for a STAC API) but reads no pixels and writes nothing. Raises as :func:`run` does before it
    writes.
    """
    return SamplingRun(config).plan(preview_points)


def pending_indices(config: SampleConfig) -> list[int]:
    """Dataset indices of the configured shard whose patch is not written yet."""
    done = existing_patches(config.out / IMAGES_DIR)
    return [i for i in config.options.shard.indices(config.settings.n) if i not in done]


class SamplingRun:
    """The state of one run over a dataset folder: its source, counters, logs and stop signal.

    Creating it checks the settings and opens the pixel source; nothing is written before :meth:`start`.
    On a cluster worker (:mod:`satclip_cli.sampling.cluster`) one instance makes batch after batch with
    :meth:`make_patches`: the source reports to whatever :attr:`summary` is current.
    """

    def __init__(self, config: SampleConfig) -> None:
        config.validate()
        self.config = config
        self.settings = config.settings
        self.options = config.options
        self.out_dir = config.out
        self.images_dir = self.out_dir / IMAGES_DIR
        self.state_dir = self.out_dir / STATE_DIR
        self.stop = threading.Event()
        self.summary = SampleSummary(out_dir=self.out_dir)
        self.limits = QualityLimits(self.settings.max_nodata_fraction, self.settings.max_cloud_fraction)
        self._records: JsonLines | None = None
        self._failures: JsonLines | None = None
        self.source = open_source(
            self.settings, self.options, SourceContext(count=self._count, log_failure=self._fail, stop=self.stop)
        )

    def pending_indices(self) -> list[int]:
        return pending_indices(self.config)

    # --------------------------------------------------------------- dry run

    def plan(self, preview_points: int) -> list[str]:
        settings, shard = self.settings, self.options.shard
        indices = shard.indices(settings.n)
        pending = self.pending_indices()
        lines = [
            f"Dataset {self.out_dir}: {settings.n:,} patches of {settings.size}x{settings.size} px at "
            f"{self.source.pixel_summary()}, seed {settings.seed}",
            f"Shard {shard.k}/{shard.count}: {len(indices):,} patches, {len(indices) - len(pending):,} "
            f"already present, {len(pending):,} to make with {self.options.workers} workers"
            + (f" per Dask worker of {self.options.scheduler}" if self.options.scheduler else ""),
            *self.source.describe(),
        ]
        for index in pending[:preview_points]:
            lines.append(f"  {patch_filename(index)}: {self.source.preview(point_rng(settings.seed, index, 0), index)}")
        return lines

    # ------------------------------------------------------------------- run

    def start(self) -> None:
        """Create the folders, store the settings (or check them against the stored ones; InputError when
        they differ), remove partial files of an interrupted run and open the records and failure logs."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        load_or_store_settings(self.state_dir, self.settings)
        remove_partial_patches(self.images_dir)
        self.log_to(self.options.shard.tag)
        for index, path, reason in remove_unreadable_patches(self.out_dir):  # e.g. 0-byte files of old versions
            self.summary.add("remade_unreadable")
            self._fail(index, "unreadable-patch", f"{path.name}: {reason}; removed, it is made again")

    def run(self, on_progress: Callable[[int], None] | None = None) -> SampleSummary:
        start = time.perf_counter()
        indices = self.options.shard.indices(self.settings.n)
        pending = self.pending_indices()
        self.summary.planned = len(indices)
        self.summary.already_done = len(indices) - len(pending)
        try:
            with self.pools() as (patch_pool, band_pool):
                for _ in self.make_patches(pending, patch_pool, band_pool):
                    if on_progress is not None:
                        on_progress(1)
        except BaseException as error:
            self.summary.interrupted = isinstance(error, KeyboardInterrupt)
            self.stop.set()
            # Best effort: on a full disk the index cannot be written either; the next run rebuilds it from
            # the patches, and the error that stopped this run is the one to report.
            with contextlib.suppress(Exception):
                self.summary.index_rows = write_index(self.out_dir)
            raise
        finally:
            self.stop.set()
            self.summary.seconds = time.perf_counter() - start
        self.summary.index_rows = write_index(self.out_dir)
        return self.summary

    def log_to(self, log_tag: str) -> None:
        """Append records and failures to ``records-<log_tag>.jsonl`` and ``failures-<log_tag>.jsonl`` (a cluster
        worker's own files: the one writer of each file, as no file system makes appends of many hosts safe)."""
        self._records = JsonLines(records_path(self.state_dir, log_tag))
        self._failures = JsonLines(failures_path(self.state_dir, log_tag))

    @contextlib.contextmanager
    def pools(self) -> Iterator[tuple[Executor, Executor]]:
        """``(patch_pool, band_pool)``: ``workers`` threads making patches, and threads reading their bands."""
        band_threads = min(32, max(4, 4 * self.options.workers))
        with (
            ThreadPoolExecutor(band_threads, thread_name_prefix="satclip-band") as band_pool,
            ThreadPoolExecutor(self.options.workers, thread_name_prefix="satclip-patch") as patch_pool,
        ):
            yield patch_pool, band_pool

    def make_patches(
        self, pending: Sequence[int], patch_pool: Executor, band_pool: Executor, *, refresh_index: bool = True
    ) -> Iterator[int]:
        """Make the patches of ``pending`` with a bounded number in flight; yield 1 for each finished one.

        With ``refresh_index`` the index files are rewritten every ``index_refresh_seconds``. Sets :attr:`stop`
        when done (clear it before the next call).
        """
        queue = iter(pending)
        in_flight: set[Future[Any]] = set()
        limit = 4 * self.options.workers
        last_index = time.monotonic()
        try:
            while True:
                if refresh_index and time.monotonic() - last_index > self.options.index_refresh_seconds:
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

    def _make_patch(self, index: int, band_pool: Executor) -> None:
        for attempt in range(self.options.max_point_attempts):
            if self.stop.is_set():
                raise RunStoppedError()
            draw = self.source.draw(index, point_rng(self.settings.seed, index, attempt))
            if draw is None:
                continue
            for window in draw.windows:
                if self._try_window(index, window, draw.point, band_pool):
                    return
        self.summary.add("gave_up")
        self._fail(index, "gave-up", f"no acceptable patch after {self.options.max_point_attempts} points")

    def _try_window(self, index: int, window: PatchWindow, point: Point | None, band_pool: Executor) -> bool:
        """Read, check and write the patch of ``window``; False when it was unreadable or rejected."""
        if self.stop.is_set():
            raise RunStoppedError()
        pixels = self.source.read(index, window, point, band_pool)
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
            **self.source.origin(),
        }
        write_patch(
            self.images_dir / record["fn"],
            pixels.bands,
            window.item.crs,
            window.transform,
            record,
            self.source.band_names,
            self.source.dtype,
            keep_existing=True,  # another run into this folder may have written patch i (same pixels) first
        )
        assert self._records is not None
        with reporting_full_disk(self._records.path, kept=PATCHES_KEPT):
            self._records.append(record)
        self.summary.add("written")
        return True

    def _count(self, name: str) -> None:
        """Add one to the counter ``name`` of the current summary (the source's ``count``)."""
        self.summary.add(name)

    def _fail(self, index: int, stage: str, message: str, **context: Any) -> None:
        """Append one line to this shard's failure log."""
        assert self._failures is not None
        self._failures.append({"index": index, "stage": stage, "error": message, "time": time.time(), **context})
