"""Temporary files and folders beside an output, named after their writer, and the leftovers of dead writers.

An output ``X`` is built in ``.X.<pid>@<host>.<random>.partial<suffix>`` (a file, see
:func:`~satclip_cli.utils.atomic_output.atomic_output`) or ``.X.<pid>@<host>.<random>.tmp/`` (a work folder, e.g.
the uncompressed raster of a COG) and renamed or removed when done. A process killed with SIGKILL (or a machine
that lost power) cannot remove them; :func:`remove_leftovers` does, at the start of the next run writing ``X``:
the temporaries of writers that no longer run on this host, and those of older versions whose names carry no
writer. A live writer's temporaries (another run writing ``X`` at the same time) are kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

STALE_FOREIGN_S = 3600.0
"""A temporary of another host (whose pid cannot be checked) untouched this long (s) is a leftover."""

_RANDOM = r"[a-z0-9_]{8}"
"""The random part ``tempfile.mkstemp``/``mkdtemp`` put in a name."""


class Leftovers(NamedTuple):
    """What :func:`remove_leftovers` removed: how many files or folders, and their size in bytes."""

    count: int = 0
    bytes: int = 0


def writer_tag() -> str:
    """``<pid>@<host>`` of this process, put into temporary names so other runs can tell whether it still runs."""
    return f"{os.getpid()}@{socket.gethostname()}"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie, not yet reaped, counts as running)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def writer_is_live(pid: int, host: str, modified: float) -> bool:
    """Whether the writer ``pid``@``host`` of a temporary last modified at ``modified`` (epoch s) may still run.

    On this host: its pid runs. On another host: the temporary changed within :data:`STALE_FOREIGN_S`.
    """
    if host == socket.gethostname():
        return pid_alive(pid)
    return time.time() - modified < STALE_FOREIGN_S


def temporary_file_beside(target: Path) -> Path:
    """Create (empty, mode 0600) and return ``.<name>.<pid>@<host>.<random>.partial<suffix>`` in ``target``'s folder."""
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.{writer_tag()}.", suffix=".partial" + target.suffix, dir=target.parent
    )
    os.close(fd)
    return Path(name)


def temporary_dir_beside(target: Path) -> Path:
    """Create and return the work folder ``.<name>.<pid>@<host>.<random>.tmp`` in ``target``'s folder."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{writer_tag()}.", suffix=".tmp", dir=target.parent))


def _patterns(target: Path) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(with a writer, without one) patterns of the temporaries of ``target``, after its ``.<name>.`` prefix.

    A temporary file may carry a side-car extension GDAL added (``.partial.tif.aux.xml``, ``.partial.tif.ovr.tmp``).
    """
    kinds = rf"(?:partial{re.escape(target.suffix)}(?:\..+)?|tmp)"
    return (
        re.compile(rf"(?P<pid>\d+)@(?P<host>.+)\.{_RANDOM}\.{kinds}", re.DOTALL),
        re.compile(rf"{_RANDOM}\.{kinds}", re.DOTALL),
    )


def _modified(path: Path) -> float:
    """Latest modification time (epoch s) of ``path`` or, for a folder, of it and its direct entries."""
    latest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        with contextlib.suppress(OSError):
            for entry in os.scandir(path):
                with contextlib.suppress(OSError):
                    latest = max(latest, entry.stat(follow_symlinks=False).st_mtime)
    return latest


def _size(path: Path) -> int:
    """Bytes of the file ``path`` or of the files under the folder ``path``."""
    if path.is_dir() and not path.is_symlink():
        return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())
    return path.lstat().st_size


def remove_leftovers(target: str | os.PathLike) -> Leftovers:
    """Remove the temporaries of ``target`` (see the module) left by writers that no longer run.

    Kept: this process's own, those of a live writer on this host, those of another host changed within
    :data:`STALE_FOREIGN_S`. Anything else starting with ``.<name>.`` that is not named like our temporaries is
    never touched. Errors (a temporary removed meanwhile by another run, no permission) are ignored.
    """
    target = Path(target)
    prefix = f".{target.name}."
    with_writer, without_writer = _patterns(target)
    count = size = 0
    try:
        entries = [entry for entry in os.scandir(target.parent) if entry.name.startswith(prefix)]
    except OSError:
        return Leftovers()
    for entry in entries:
        rest = entry.name[len(prefix) :]
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            writer = with_writer.fullmatch(rest)
            if writer is not None:
                if writer_is_live(int(writer["pid"]), writer["host"], _modified(path)):
                    continue
            elif without_writer.fullmatch(rest) is None:
                continue
            bytes_ = _size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            count += 1
            size += bytes_
    return Leftovers(count, size)
