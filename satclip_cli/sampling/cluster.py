"""``satclip sample --scheduler``: the patches of a run made by the workers of a Dask cluster.

The client (this process) does what an in-process run does before and after making patches: it checks the
settings, stores them beside the dataset (or compares them with the stored ones), lists the pending patch
indices of the shard, and at the end rebuilds the index from the patches on disk. In between, the pending
indices are cut into batches, one Dask task each (:func:`make_batch`); the workers write the patches straight
into the dataset folder, which every worker must see at the same path (a shared file system), each patch's
record and failures into the worker's own log files right after the patch (``records-<shard>.worker-<host>-<pid>
.jsonl``: one writer per file), and send back the batch's counters. One progress bar counts the patches as
their batches finish. After a complete run the client folds the workers' logs into the shard's own.

Each worker process opens the pixel source once per dataset (:class:`_WorkerSampler`, kept between tasks):
the STAC client or the Blue Marble mosaic is built on the worker from the config, nothing unpicklable
travels. Patch ``i`` depends only on the settings and ``i``, so a batch re-run on another worker after its
worker died makes the same patches; patches already on disk (written, with their records, by the worker that
died) are not made again. Ctrl-C on the client cancels the outstanding tasks; batches already running on
a remote cluster finish the patch they are writing (every patch is renamed into place complete).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from satclip_cli.dataset.index import write_index
from satclip_cli.dataset.layout import failures_path, patch_filename, records_path
from satclip_cli.dataset.patch_files import remove_partial_patches
from satclip_cli.sampling.config import SampleConfig
from satclip_cli.sampling.job import SamplingRun
from satclip_cli.sampling.summary import SampleSummary
from satclip_cli.utils.dask_cluster import ClusterError

PATCHES_PER_TASK = 16
"""Most patches in one Dask task (fewer when that leaves under 4 tasks per worker)."""
TASKS_PER_WORKER = 4
"""Aim for at least this many tasks per worker, so a slow or lost worker delays little."""
WORKER_RUNS_KEPT = 2
"""Opened sources a worker process keeps for later tasks (one per dataset config; the oldest is dropped)."""
COUNTERS = ("written", "gave_up", "no_item", "outside_item", "search_errors", "read_errors", "bad_items", "retries")
"""The :class:`SampleSummary` counters a batch reports (plus ``rejected`` by reason)."""


M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold."""
WORKER_MMAP_THRESHOLD_BYTES = 32 * 2**20
"""The mmap threshold a worker sets (see :func:`relax_worker_malloc`)."""
WORKER_LOG_MARK = ".worker-"
"""Between the shard tag and the worker's name in a worker's log file names."""


@dataclass
class BatchResult:
    """What one task sends back: the batch's indices and counters (:data:`COUNTERS`, ``rejected`` by reason)."""

    indices: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


def batches(pending: Sequence[int], workers: int) -> list[list[int]]:
    """``pending`` cut into consecutive batches of at most :data:`PATCHES_PER_TASK` indices, at least
    :data:`TASKS_PER_WORKER` batches per worker where there are enough indices."""
    size = max(1, min(PATCHES_PER_TASK, math.ceil(len(pending) / (TASKS_PER_WORKER * max(1, workers)))))
    return [list(pending[start : start + size]) for start in range(0, len(pending), size)]


def run_on_cluster(
    config: SampleConfig,
    *,
    progress: bool = True,
    progress_label: str = "Sampling",
    on_finish: Callable[[SampleSummary], None] | None = None,
) -> SampleSummary:
    """Make every missing patch of the configured shard on the Dask cluster ``config.options.scheduler``.

    Like :func:`satclip_cli.sampling.job.run` (same dataset, settings file, resume, index and summary). The
    settings are checked and the pixel source opened here first, and the scheduler reached, before anything
    is written.

    Raises:
        InputError, StacError: as an in-process run (also when raised on a worker, e.g. a region file the
            worker cannot read).
        ClusterError: the scheduler cannot be reached, or a batch killed :data:`allowed-failures` workers.
    """
    from distributed import KilledWorker

    from satclip_cli.utils.dask_cluster import dask_client, run_tasks
    from satclip_cli.utils.progress import progress_bar

    scheduler = config.options.scheduler
    assert scheduler is not None
    sampling = SamplingRun(config)
    summary = sampling.summary
    started = False
    start = time.perf_counter()
    try:
        with dask_client(scheduler) as client:
            sampling.start()
            started = True
            indices = config.options.shard.indices(config.settings.n)
            pending = sampling.pending_indices()
            summary.planned = len(indices)
            summary.already_done = len(indices) - len(pending)
            workers = len(client.scheduler_info().get("workers", {}))
            with progress_bar(progress, len(pending), progress_label, unit="patches") as advance:
                last_index = time.monotonic()

                def collect(result: BatchResult) -> None:
                    nonlocal last_index
                    _add(summary, result)
                    advance(len(result.indices))
                    if time.monotonic() - last_index > config.options.index_refresh_seconds:
                        write_index(config.out)  # a long run's index follows it (the workers' records included)
                        last_index = time.monotonic()

                try:
                    # retries=0: our errors (a STAC API that stays down) stop the run at once; a task whose
                    # worker died is re-run by the scheduler anyway (distributed.scheduler.allowed-failures)
                    tasks = batches(pending, workers)
                    run_tasks(client, make_batch, tasks, on_result=collect, retries=0, config=config)
                except KilledWorker as error:
                    raise ClusterError(
                        f"a sampling task lost its Dask worker again and again ({error}); see the workers' logs"
                    ) from None
                except ModuleNotFoundError as error:
                    raise ClusterError(
                        f"a Dask worker cannot import {error.name}: install satclip (the same version) on every worker"
                    ) from None
        remove_partial_patches(sampling.images_dir)
        fold_worker_logs(sampling.state_dir, config.options.shard.tag)
    except BaseException:
        summary.interrupted = isinstance(sys.exc_info()[1], KeyboardInterrupt)
        if started:  # best effort (on a full disk the index cannot be written either): report the first error
            with contextlib.suppress(Exception):
                summary.index_rows = write_index(config.out)
        raise
    else:
        summary.index_rows = write_index(config.out)
    finally:
        if started:
            summary.seconds = time.perf_counter() - start
            if on_finish is not None:
                on_finish(summary)
    return summary


def make_batch(indices: list[int], config: SampleConfig) -> BatchResult:
    """The task run on a worker: make the patches of ``indices`` not on disk yet into ``config.out``."""
    return _worker_sampler(config).make(indices)


class _WorkerSampler:
    """One dataset's :class:`SamplingRun` in a worker process: the pixel source opened once, batches one at a time."""

    def __init__(self, config: SampleConfig) -> None:
        relax_worker_malloc()
        self.run = SamplingRun(config)
        self.lock = threading.Lock()
        worker = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{socket.gethostname()}-{os.getpid()}")
        self.log_tag = f"{config.options.shard.tag}{WORKER_LOG_MARK}{worker}"

    def make(self, indices: list[int]) -> BatchResult:
        run = self.run
        if not run.images_dir.is_dir():
            raise ClusterError(
                f"the Dask worker on {socket.gethostname()} does not see the dataset folder {run.out_dir}: every "
                "worker needs it at the same path (a shared file system)"
            )
        with self.lock:
            run.stop.clear()
            run.summary = SampleSummary(out_dir=run.out_dir)
            run.log_to(self.log_tag)
            result = BatchResult(indices=list(indices))
            todo = []
            for index in indices:
                if (run.images_dir / patch_filename(index)).exists():
                    run.summary.add("written")  # by an earlier attempt of this batch, on a worker that died
                else:
                    todo.append(index)
            with run.pools() as (patch_pool, band_pool):
                for _ in run.make_patches(todo, patch_pool, band_pool, refresh_index=False):
                    pass
            result.counts = {name: getattr(run.summary, name) for name in COUNTERS}
            result.rejected = dict(run.summary.rejected)
            return result


_WORKER_RUNS: dict[SampleConfig, _WorkerSampler] = {}
_WORKER_RUNS_LOCK = threading.Lock()


def _worker_sampler(config: SampleConfig) -> _WorkerSampler:
    """This process's sampler for ``config``, opened on first use (raises as opening the source does)."""
    with _WORKER_RUNS_LOCK:
        sampler = _WORKER_RUNS.get(config)
        if sampler is None:
            sampler = _WorkerSampler(config)
            while len(_WORKER_RUNS) >= WORKER_RUNS_KEPT:
                _WORKER_RUNS.pop(next(iter(_WORKER_RUNS)))
            _WORKER_RUNS[config] = sampler
        return sampler


def relax_worker_malloc() -> bool:
    """Raise glibc's mmap threshold to 32 MiB in a worker started with ``MALLOC_TRIM_THRESHOLD_`` (Dask's nanny
    sets 65536); True when it was raised.

    Setting that variable also freezes glibc's mmap threshold at 128 KiB, so every larger buffer is mapped and
    unmapped again, page by page: GDAL's ZSTD level 9 compressor takes several MB per patch, and writing a
    patch then took 4-10x longer on a ``local:N`` worker than in-process (measured: 18 ms against 5 ms per 32 px
    Blue Marble patch). Trimming the heap top, what Dask set the variable for, is left as it is.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD_BYTES))


def fold_worker_logs(state_dir: Path, shard_tag: str) -> int:
    """Append the workers' records and failure logs of ``shard_tag`` to the shard's own files and delete them.

    Returns how many worker files were folded. Safe to repeat after a crash in between: a record listed twice
    is read once (:func:`~satclip_cli.dataset.records.collect_records` keeps one per patch).
    """
    folded = 0
    for own in (records_path(state_dir, shard_tag), failures_path(state_dir, shard_tag)):
        stem = own.name.removesuffix(".jsonl")
        for part in sorted(state_dir.glob(f"{stem}{WORKER_LOG_MARK}*.jsonl")):
            text = part.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                text = text[: text.rfind("\n") + 1]  # a line cut short by a killed worker
            with own.open("a", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            folded += 1
    return folded


def _add(summary: SampleSummary, result: BatchResult) -> None:
    for name, count in result.counts.items():
        summary.add(name, count)
    for reason, count in result.rejected.items():
        for _ in range(count):
            summary.reject(reason)
