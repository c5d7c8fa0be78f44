"""A real, tiny file system for full-disk tests: a tmpfs of a few hundred kB mounted under the test's folder.

Mounting needs root (the suite runs as root in CI and in the development container); elsewhere the tests
that need it are skipped, and the full-disk paths are still covered by tests that inject ``OSError(ENOSPC)``
at the write call (``tests/utils/test_disk_space.py``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@functools.cache
def can_mount_tmpfs() -> bool:
    """Whether this process may mount a tmpfs (root, and a kernel/container that allows it)."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="satclip-tmpfs-probe-") as folder:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder], capture_output=True)
        if mounted.returncode != 0:
            return False
        subprocess.run(["umount", folder], check=True)
    return True


requires_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(), reason="mounting a tmpfs needs root")


class SmallFilesystem:
    """A mounted tmpfs at :attr:`path`; :meth:`resize` grows (or shrinks) it in place, keeping its files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resize(self, size: str) -> None:
        """New capacity, e.g. ``"20m"`` (``mount -o remount,size=...``): frees space for a resume."""
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)

    def files(self) -> dict[str, int]:
        """Every file under the mount (hidden ones included) with its size in bytes, by relative path."""
        return {str(p.relative_to(self.path)): p.stat().st_size for p in self.path.rglob("*") if p.is_file()}


@contextlib.contextmanager
def small_filesystem(mount_point: Path, size: str) -> Iterator[SmallFilesystem]:
    """Mount a tmpfs of ``size`` (``"200k"``) at ``mount_point`` (created) for the block; unmounted afterwards."""
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], check=True)
    try:
        yield SmallFilesystem(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
