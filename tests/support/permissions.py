"""Folders a test cannot write to, also when the suite runs as root (who may write anywhere).

As root, :func:`unprivileged` drops the effective user and group to ``nobody`` (65534) for the block, so
the kernel's permission checks apply; :func:`world_readable_dir` makes a temporary folder that user can
reach (pytest's ``tmp_path`` sits under a 0700 folder of root's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

NOBODY = 65534


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as ``nobody`` when the process is root (restored afterwards); as is otherwise."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@contextlib.contextmanager
def world_readable_dir() -> Iterator[Path]:
    """A fresh 0777 folder under the system temp folder, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="satclip-perm-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        for folder, dirs, _ in os.walk(path):
            for name in dirs:
                (Path(folder) / name).chmod(0o777)
        shutil.rmtree(path, ignore_errors=True)


def read_only_folder(parent: Path, name: str = "read-only") -> Path:
    """A 0555 folder in ``parent``: nobody but root can create files in it."""
    folder = parent / name
    folder.mkdir()
    folder.chmod(0o555)
    return folder
