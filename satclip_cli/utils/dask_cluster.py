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
    from distributed import Client, LocalCluster

    if workers is not None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
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


def run_tasks(
    client: Client,
    function: Callable[..., Any],
    items: Iterable[Any],
    *,
    on_result: Callable[[Any], None],
    retries: int = TASK_RETRIES,
    **kwargs: Any,
) -> int:
    """Run ``function(item, **kwargs)`` for every item on the cluster; ``on_result`` gets each result as it completes.

    A task whose worker dies is re-run on another worker (up to ``retries`` times). On any error, or Ctrl-C, the
    outstanding tasks are cancelled before the exception propagates. Returns the number of tasks run.
    """
    from distributed import as_completed

    futures = client.map(function, list(items), pure=False, retries=retries, **kwargs)
    try:
        for future in as_completed(futures):
            on_result(future.result())
    except BaseException:
        client.cancel(futures)
        raise
    return len(futures)
