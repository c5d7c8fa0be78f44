"""Dask distributed, the engine for stages that outgrow one process: a client from an address, tasks as completed.

``scheduler`` is ``tcp://HOST:PORT`` (an existing cluster, e.g. started by ``dask scheduler`` + ``dask worker``,
dask-jobqueue on SLURM/PBS or dask-gateway) or ``local:N`` (a ``LocalCluster`` of N single-threaded worker processes
for this run only). dask/distributed are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from satclip_cli.errors import SatclipError, one_line, setting

if TYPE_CHECKING:
    from distributed import Client

LOCAL_PREFIX = "local:"
_REMOTE_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://[^\s/]+$")
CONNECT_TIMEOUT_S = 10.0
TASK_RETRIES = 3
"""How often a task is re-run elsewhere after its worker died (Dask's ``retries``)."""


class ClusterError(SatclipError):
    """The Dask scheduler cannot be reached, or the address is not one we understand."""


def local_worker_count(scheduler: str) -> int | None:
    """``N`` of ``local:N``; None for a remote address. Raises :class:`ClusterError` for anything else."""
    if scheduler.startswith(LOCAL_PREFIX):
        count = scheduler[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"{setting('scheduler')} local:N needs a whole number of workers N >= 1, not {count!r}")
        return int(count)
    if not _REMOTE_ADDRESS.match(scheduler):
        raise ClusterError(
            f"{setting('scheduler')} must be tcp://HOST:PORT (a running Dask scheduler) or local:N, not {scheduler!r}"
        )
    return None


@contextlib.contextmanager
def dask_client(scheduler: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Client]:
    """A Dask client for ``scheduler`` (see the module docstring), closed (and a local cluster stopped) on exit."""
    workers = local_worker_count(scheduler)
    with _without_the_interrupt_race_traceback():
        yield from _client(scheduler, workers, timeout_s)


def _client(scheduler: str, workers: int | None, timeout_s: float) -> Iterator[Client]:
    from distributed import Client, LocalCluster

    if workers is not None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # the scheduler's HTTP server (health, metrics) on a free port, not 8787: no warning when that is taken
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({one_line(error)})") from None
    with client:
        yield client


class _InterruptRaceFilter(logging.Filter):
    """Drops the one traceback distributed's ``sync()`` leaves on Ctrl-C (distributed 2026.8).

    When Ctrl-C arrives before ``sync()``'s coroutine has created its future, the ``cancel()`` callback it schedules
    reads the unassigned variable and raises ``NameError`` on the event-loop thread, which tornado logs with a
    traceback. The interrupt itself reaches our code as usual; only this log record is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, NameError) and "'future'" in str(error))


@contextlib.contextmanager
def _without_the_interrupt_race_traceback() -> Iterator[None]:
    logger = logging.getLogger("tornado.application")
    race_filter = _InterruptRaceFilter()
    logger.addFilter(race_filter)
    try:
        yield
    finally:
        logger.removeFilter(race_filter)


def run_tasks(
    client: Client,
    function: Callable[..., Any],
    items: Iterable[Any],
    *,
    on_result: Callable[[Any], None],
    retries: int = TASK_RETRIES,
    max_in_flight: int | None = None,
    **kwargs: Any,
) -> int:
    """Run ``function(item, **kwargs)`` for every item on the cluster; ``on_result`` gets each result as it completes.

    A task whose worker dies is re-run on another worker (up to ``retries`` times). On any error, or Ctrl-C, the
    outstanding tasks are cancelled before the exception propagates. With ``max_in_flight``, ``items`` is consumed
    lazily and at most that many tasks are submitted and not yet finished at a time (items that carry data, e.g.
    partitions of a large table, then never all sit in the client's memory). Returns the number of tasks run.
    """
    from distributed import as_completed

    if max_in_flight is None:
        futures = client.map(function, list(items), pure=False, retries=retries, **kwargs)
        try:
            for future in as_completed(futures, loop=client.loop):
                on_result(future.result())
        except BaseException:
            client.cancel(futures)
            raise
        return len(futures)

    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    pending = iter(items)
    submitted = 0
    running: set[Any] = set()
    completed = as_completed(loop=client.loop)

    def submit_next() -> bool:
        nonlocal submitted
        item = next(pending, _END)
        if item is _END:
            return False
        future = client.submit(function, item, pure=False, retries=retries, **kwargs)
        running.add(future)
        completed.add(future)
        submitted += 1
        return True

    try:
        while len(running) < max_in_flight and submit_next():
            pass
        while running:
            future = next(completed)
            running.discard(future)
            on_result(future.result())
            while len(running) < max_in_flight and submit_next():
                pass
    except BaseException:
        client.cancel(list(running))
        raise
    return submitted


_END = object()
