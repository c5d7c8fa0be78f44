"""Worker processes that end when the process that started them dies, even by SIGKILL.

A ``ProcessPoolExecutor`` worker waits for its next task on a pipe whose other end its forked siblings hold
too, so when the parent is killed with SIGKILL the workers never see the pipe close: they would sit at PPID 1,
holding their memory, for ever. :func:`exit_with_parent`, run as the pool's ``initializer``, prevents that.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

from satclip_cli.utils.temporary_files import pid_alive

PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal this process gets when its parent (the thread that forked it) dies."""

POLL_S = 1.0
"""How often (s) the fallback watcher thread checks that the parent still runs."""


def exit_with_parent(parent_pid: int) -> None:
    """Make this (worker) process end when the process ``parent_pid`` that started it dies.

    On Linux the kernel kills it at once (``prctl(PR_SET_PDEATHSIG, SIGKILL)``). Everywhere, a daemon thread
    checks every :data:`POLL_S` s whether this process was re-parented or ``parent_pid`` is gone, and exits
    (status 1) if so. Meant as a ``ProcessPoolExecutor``/``multiprocessing.Pool`` initializer, with
    ``initargs=(os.getpid(),)`` evaluated in the parent.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    started_by = os.getppid()
    if not pid_alive(parent_pid):  # died before the request above took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid, started_by), daemon=True, name="satclip-parent-watch").start()


def _watch(parent_pid: int, started_by: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != started_by or not pid_alive(parent_pid):
            os._exit(1)
