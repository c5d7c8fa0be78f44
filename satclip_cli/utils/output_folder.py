"""Output folders: create them, or refuse with one line, before any work is done.

An output that cannot be written (a path that is a file, a parent that is a file, a folder without
write permission, a read-only file system) is reported as an :class:`~satclip_cli.errors.InputError`
naming the path and the reason, instead of an ``OSError`` traceback after the work.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from satclip_cli.errors import InputError, one_line

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOSPC: "no space left on the device",
}


def reason(error: OSError) -> str:
    """A short, human reason for an ``OSError`` (``"permission denied"``, ...), without the path."""
    return _REASONS.get(error.errno or 0) or one_line(error.strerror or error)


def make_output_folder(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Create ``path`` (and its parents) if needed and check that files can be created in it.

    Args:
        path: the folder.
        what: how messages name it (``"run folder"``, ``"output folder"``).

    Returns:
        ``path`` as a Path.

    Raises:
        InputError: ``path`` is a file, a parent of it is a file, or the folder cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {what} {path}: {reason(error)}") from None
    try:
        with tempfile.TemporaryFile(dir=path, prefix=".satclip-write-test."):
            pass
    except OSError as error:
        raise InputError(f"cannot write in {what} {path}: {reason(error)}") from None
    return path


def check_file_folder(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Check that the folder of the output file ``path`` exists and is writable (it is not created).

    Raises:
        InputError: the folder is missing, is a file, or cannot be written.
    """
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        raise InputError(f"the folder of {what} {path} does not exist")
    if not folder.is_dir():
        raise InputError(f"cannot write {what} {path}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".satclip-write-test."):
            pass
    except OSError as error:
        raise InputError(f"cannot write {what} {path}: {reason(error)}") from None
    return path
