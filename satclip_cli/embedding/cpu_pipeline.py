"""Run a location encoder on CPU over numpy (lon, lat) points: small batches, one whole batch per thread.

The encoder's work per point is a positional encoding (hundreds of small element-wise kernels per batch, e.g. the
L=40 spherical harmonics) feeding matrix products (e.g. 1,600 x 512 in a SIREN's first layer). Torch's own
intra-op threading splits every one of those kernels across the cores, so each kernel ends in a barrier, and a
barrier stalls whenever another process holds one of the cores. Here each of ``torch.get_num_threads()`` Python
threads instead takes whole batches of :data:`THREAD_BATCH` points and runs the complete encoder on them with
single-threaded kernels (torch releases the GIL inside kernels): no barriers, threads pick up the next batch as
they finish, and each batch's features are read by the matrix products right after they are computed.

Each point's embedding does not depend on the others in its batch, so the batching changes nothing beyond float
rounding (on the L=40 benchmark the output is bitwise identical to one big batch).

Every batch allocates the same temporaries (26 MB of features for L=40 in float32, a few MB per layer). With
glibc's default, adaptive thresholds, part of them are returned to the system after each batch and page-faulted
back in by the next (several hundred MB of faults, 0.3-0.5 s of system time, for 200,000 points);
:func:`_keep_freed_memory` sets fixed thresholds once per process, so they are reused.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from satclip_cli.models.inference import EmbedFn

#: Points per encoder call in each thread: large enough that the per-kernel overhead of the positional encoding
#: is small, small enough that a batch's working set (26 MB of L=40 float32 features) stays near the caches.
THREAD_BATCH = 4096


def threaded_cpu_embed_fn(encoder: torch.nn.Module, dtype: torch.dtype, batch_size: int, embed_dim: int) -> EmbedFn:
    """Wrap a CPU ``encoder`` (already in ``dtype``, in eval mode) as ``f(lonlat float64 [n, 2]) -> float32 [n, D]``.

    Args:
        encoder: ``[B, 2]`` (lon, lat) degrees in ``dtype`` -> ``[B, embed_dim]``; on CPU, no gradients needed.
        dtype: the encoder's dtype; coordinates are cast from float64 to it per batch.
        batch_size: the most points per encoder call (at most :data:`THREAD_BATCH` are used).
        embed_dim: ``D``.

    The returned function runs batches in ``torch.get_num_threads()`` threads (one thread: in the caller's),
    with torch's thread count set to 1 meanwhile and restored afterwards.
    """

    def embed(lonlat: np.ndarray) -> np.ndarray:
        import torch

        _keep_freed_memory()

        lonlat = np.ascontiguousarray(lonlat, dtype=np.float64)
        points = torch.from_numpy(lonlat if lonlat.flags.writeable else lonlat.copy())
        n = points.shape[0]
        out = np.empty((n, embed_dim), dtype=np.float32)
        result = torch.from_numpy(out)
        threads = torch.get_num_threads()
        # Batches of at most THREAD_BATCH (and batch_size) points, at least one per thread.
        step = max(1, min(batch_size, THREAD_BATCH, -(-n // threads)))

        def run(start: int) -> None:
            with torch.inference_mode():
                result[start : start + step].copy_(encoder(points[start : start + step].to(dtype)))

        starts = range(0, n, step)
        if threads <= 1 or len(starts) <= 1:
            for start in starts:
                run(start)
            return out
        torch.set_num_threads(1)  # each worker thread runs its kernels single-threaded
        pool = ThreadPoolExecutor(max_workers=threads)
        try:
            for future in [pool.submit(run, start) for start in starts]:
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on an error or Ctrl-C: no new batches
            torch.set_num_threads(threads)
        return out

    return embed


#: glibc ``mallopt`` parameters and the values set: blocks below 64 MB come from the heap, and up to 256 MB of
#: freed memory at its top stay mapped.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_THRESHOLD, _MMAP_THRESHOLD = 256 << 20, 64 << 20
_malloc_lock = threading.Lock()
_malloc_tuned = False


def _keep_freed_memory() -> None:
    """On glibc, once per process: keep freed blocks of up to 64 MB for reuse instead of unmapping them.

    Peak memory does not change (the same temporaries are live at once); memory freed between batches stays
    with the process, up to 256 MB per allocator arena, instead of being page-faulted in again. Elsewhere a no-op.
    """
    global _malloc_tuned
    with _malloc_lock:
        if _malloc_tuned:
            return
        _malloc_tuned = True
        if not sys.platform.startswith("linux"):
            return
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # not glibc
            return
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
