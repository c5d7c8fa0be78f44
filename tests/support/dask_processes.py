"""A real Dask cluster for tests: a ``dask scheduler`` and ``dask worker`` processes on loopback.

Workers run without a nanny (``--no-nanny``), so :meth:`DaskProcesses.kill_worker` SIGKILLs the process that runs
the tasks and nothing restarts it. Every wait is bounded; :meth:`DaskProcesses.stop` (or leaving the ``with``
block) ends every process it started, and a watchdog ends them after ``lifetime_s`` whatever the test does, so a
client waiting on the cluster fails instead of hanging.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaskProcesses:
    """``dask scheduler`` on ``tcp://127.0.0.1:<port>`` and ``workers`` single-threaded ``dask worker`` processes."""

    def __init__(self, workers: int = 2, *, lifetime_s: float = 180.0, env: dict[str, str] | None = None) -> None:
        self.worker_count = workers
        self.lifetime_s = lifetime_s
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._logs = tempfile.TemporaryDirectory(prefix="dask-processes-")
        self._watchdog = threading.Timer(lifetime_s, self.stop)
        self._watchdog.daemon = True

    def __enter__(self) -> DaskProcesses:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(Path(self._logs.name) / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
        )

    def start(self, timeout_s: float = 60.0) -> DaskProcesses:
        """Start the scheduler and the workers; return once every worker has registered (or raise)."""
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn(
            "scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
        )
        self.workers = [
            self._spawn(
                f"worker-{i}",
                ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"worker-{i}"],
            )
            for i in range(self.worker_count)
        ]
        self._watchdog.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.registered_workers() == self.worker_count:
                return self
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the Dask test cluster did not start in {timeout_s} s:\n{self.logs()}")

    def registered_workers(self) -> int:
        """How many workers the scheduler knows (0 while it is not up)."""
        from distributed import Client

        try:
            with Client(self.address, timeout=2, set_as_default=False) as client:
                return len(client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError):
            return 0

    def kill_worker(self, number: int = 0) -> None:
        """SIGKILL worker ``number`` (no goodbye to the scheduler, no cleanup)."""
        process = self.workers[number]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        """Everything the processes printed so far."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(Path(self._logs.name).iterdir())
        )

    def stop(self) -> None:
        """Terminate every process (SIGKILL after 10 s)."""
        self._watchdog.cancel()
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
