"""Full disks: say which path could not be written, how much space is left and about how much was needed.

A full disk (``ENOSPC``) or an exhausted quota (``EDQUOT``) reaches us in many forms: an ``OSError`` from
Python's own file objects, an ``OSError`` whose text says ``[errno 28]`` (pyarrow), a ``SafetensorError``
saying ``os error 28`` (safetensors), a ``RuntimeError`` from torch's zip writer, a GDAL write error.
:func:`is_disk_full` recognises all of them; :func:`reporting_full_disk` turns them into one
:class:`~satclip_cli.errors.DiskFullError` naming the path and the free space, for the CLI's one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from satclip_cli.errors import DiskFullError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
"""``errno`` values of a full device or an exhausted quota."""

_DISK_FULL_TEXTS = ("no space left on device", "disk quota exceeded", "errno 28]", "os error 28)")
"""How libraries that do not set ``OSError.errno`` say the same (lower case)."""

ALMOST_FULL_BYTES = 1 << 20
"""A write that fails while its file system has less than this free (bytes) failed for lack of space:
GDAL reports a full disk as a bare "write failed" (or not at all), with nothing else to tell it apart."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error``, or an exception it was raised from or while handling, says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        text = str(current).lower()
        if any(marker in text for marker in _DISK_FULL_TEXTS):
            return True
        current = current.__cause__ or current.__context__
    return False


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free for this user on the file system of ``path`` (or of its nearest existing parent); None
    when that cannot be told."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes for a message: ``"0 B"``, ``"12.3 kB"``, ``"64.0 MB"``, ``"1.2 GB"`` (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def disk_full_error(path: str | os.PathLike[str], needed: int | None = None, kept: str | None = None) -> DiskFullError:
    """The error for a write to ``path`` that found no space: the free space now and ``needed`` bytes
    (when known); ``kept`` says what stays valid (``"finished patches are kept"``)."""
    free = free_bytes(path)
    space = "" if free is None else f"{format_bytes(free)} free"
    if needed is not None:
        space += f"{', ' if space else ''}about {format_bytes(needed)} needed"
    message = f"no space left on the device for {path}" + (f" ({space})" if space else "")
    return DiskFullError(message + (f"; {kept}" if kept else ""))


def check_free_space(path: str | os.PathLike[str], needed: int, what: str) -> None:
    """Refuse, before any work, to write ``needed`` bytes of ``what`` on the file system of ``path``.

    Raises:
        DiskFullError: less than ``needed`` bytes are free there.
    """
    free = free_bytes(path)
    if free is not None and needed > free:
        raise DiskFullError(
            f"not enough disk space for {what} in {path}: about {format_bytes(needed)} needed, "
            f"{format_bytes(free)} free"
        )


@contextlib.contextmanager
def reporting_full_disk(
    path: str | os.PathLike[str],
    needed: int | None = None,
    kept: str | None = None,
    cleanup: Callable[[], object] | None = None,
) -> Iterator[None]:
    """Turn a full-disk error raised inside the block (while writing ``path``) into :func:`disk_full_error`.

    An error that does not say the disk is full, raised while the file system of ``path`` has less than
    :data:`ALMOST_FULL_BYTES` free, counts as one too (GDAL's bare "write failed"). Other errors pass
    unchanged. ``cleanup`` (removing the temporary file) runs on any error, after that check and before the
    message tells the free space, so the message shows what the user has once this run's debris is gone.
    """
    try:
        yield
    except BaseException as error:
        free = free_bytes(path)
        almost_full = free is not None and free < ALMOST_FULL_BYTES
        if cleanup is not None:
            cleanup()
        ours = isinstance(error, Exception) and not isinstance(error, DiskFullError)
        if ours and (is_disk_full(error) or (almost_full and _is_write_error(error))):
            raise disk_full_error(path, needed, kept) from error
        raise


def _is_write_error(error: BaseException) -> bool:
    """An I/O error of a writer (``OSError``, rasterio's ``RasterioIOError``/``CPLE_*`` errors, torch's
    zip writer), as opposed to a programming or input error."""
    names = {type(error).__name__, *(cls.__name__ for cls in type(error).__mro__)}
    writer_errors = {"RasterioIOError", "CPLE_FileIOError", "CPLE_AppDefinedError"}
    return (
        isinstance(error, OSError)
        or bool(names & writer_errors)
        or (isinstance(error, RuntimeError) and "write" in str(error).lower())
    )
