"""Run ``rustac serve`` (in-memory STAC API backend) as a subprocess on a free loopback port.

The port is picked first because rustac writes ``--addr`` into every link it generates.

What rustac 0.9.18's in-memory backend does (``rustac serve <collection.json> <items.json>``; probed by hand and
asserted in ``test_loopback_servers.py`` so an upgrade that changes it is noticed):

* Loading: a collection file plus a GeoJSON FeatureCollection of items (an item whose ``collection`` was not
  loaded is still accepted and returned by ``/search``).
  Startup takes about 0.05 s. Results come back in insertion (file) order.
* Landing page ``GET /``: ``{"type": "Catalog", "id": "stac-server-rs", "stac_version": "1.1.0"}`` with links
  ``root, self, service-desc (/api), service-doc (/api.html), conformance, data (/collections), child`` (one per
  collection) and two ``search`` links (``method`` GET and POST), all on ``http://<--addr>``. ``conformsTo`` is exactly
  ``https://api.stacspec.org/v1.0.0/core``, ``.../ogcapi-features``, ``.../collections``, ``.../item-search`` and
  ``http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core``, ``.../conf/geojson`` -- no query, filter, sort,
  fields, context or transaction classes (pystac-client therefore warns ``DoesNotConformTo`` for those parameters).
* ``POST /search`` (what pystac-client uses by default) works for ``collections`` (unknown id -> 0 items, not an
  error), ``bbox``, ``intersects`` (Point and Polygon; tested against the item *geometry*, not its bbox: a point
  inside the bbox but outside the footprint matches nothing), ``datetime`` RFC 3339 instants and closed or open
  (``../x``, ``x/..``) intervals, inclusive at both ends, ``ids``, and ``limit`` (default 10, no maximum).
  ``bbox`` together with ``intersects`` -> 400 ``search has bbox and intersects``. Date-only datetimes
  (``2022-08-05``) -> 400 ``premature end of input`` (pystac-client expands dates to full timestamps itself).
* Paging: when more items remain, a ``next`` link ``{"method": "POST", "href": "<addr>/search", "body": {<the
  search>, "skip": n}}`` (``skip`` is an offset); later pages also carry a ``prev`` link. pystac-client follows them.
  Responses have ``numberReturned`` but no ``numberMatched`` / ``context`` (``ItemSearch.matched()`` -> ``None`` with
  a warning). ``limit=0`` returns no items *and* a ``next`` link with ``skip=0`` (a naive pager would loop forever).
* ``query`` (STAC query extension): any ``query`` object, even ``{}``, makes the search return **no items**.
* ``filter`` (CQL2): with ``filter-lang`` set (pystac-client always sends ``"cql2-json"``) every filter except the
  literal ``true`` returns **no items** (also for cql2-text); without ``filter-lang`` the filter is silently ignored.
* ``sortby`` is **ignored** (insertion order) and ``fields`` is **ignored** (full items) -- both with HTTP 200.
* ``GET /search``: ``limit``, ``datetime``, ``ids`` (comma-separated), ``collections``, ``bbox``, ``intersects``
  (URL-encoded GeoJSON) and ``filter`` behave as above as long as everything fits on one page. When a ``next`` link is
  needed and the search has a list/object parameter (``collections``, ``bbox``, ``intersects``, ``sortby``,
  ``fields``), the response is HTTP 500 ``unsupported value`` (rustac cannot URL-encode it into the link); the same
  for ``GET /collections/{id}/items?bbox=...`` with more than one page. So use POST (pystac-client's default;
  ``method="GET"`` with a small ``limit`` fails with ``APIError``). Paged GET links look like ``...&skip=n``.
* Item links: links already in an item are served unchanged (Planetary Computer items keep their
  ``planetarycomputer.microsoft.com`` links); items without them get ``root``, ``self``, ``collection`` and ``parent``
  links on ``--addr``. Asset hrefs are never touched.
* ``GET /queryables`` answers an empty schema; ``GET /collections/{id}/queryables`` -> 404.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType


class RustacError(RuntimeError):
    """``rustac`` is missing or the server did not come up."""


def find_rustac() -> Path:
    """The ``rustac`` console script next to ``sys.executable`` (the venv's ``bin``); raises :class:`RustacError`."""
    bindir = Path(sys.executable).parent
    for name in ("rustac", "rustac.exe"):
        candidate = bindir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RustacError(
        f"rustac executable not found in {bindir}; install the 'rustac' package into this environment "
        "(pip install rustac) to run the STAC loopback tests"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host`` (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RustacServer:
    """``rustac serve --addr 127.0.0.1:<port> <hrefs...>`` with the in-memory backend.

    The port is chosen *before* starting because rustac writes its ``--addr`` into every link it generates (landing
    page, ``next`` links, collection links). ``start()`` waits until ``GET /`` answers 200 (``startup_timeout``
    seconds), retrying with a new port if rustac exits early (e.g. the port was taken in between). ``stop()``
    terminates the process (SIGTERM, then SIGKILL after 5 s). ``url`` is ``http://127.0.0.1:<port>`` (no trailing
    slash; ``pystac_client.Client.open(url)`` works). The server's stdout/stderr go to ``log_path``.
    """

    def __init__(
        self,
        *hrefs: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 20.0,
        log_path: str | os.PathLike[str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if not hrefs:
            raise ValueError("give at least one collection / item collection file")
        self.hrefs = [str(h) for h in hrefs]
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = Path(log_path) if log_path is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:41234``."""
        if self.port is None:
            raise RustacError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running server (``None`` when stopped)."""
        return self._proc.pid if self._proc is not None else None

    def log_text(self) -> str:
        """What the server printed so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def start(self) -> RustacServer:
        """Start the subprocess and wait for ``GET /``; returns ``self``."""
        if self._proc is not None:
            raise RustacError("server already started")
        exe = find_rustac()
        if self.log_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="rustac-")
            self.log_path = Path(self._tmpdir.name) / "rustac.log"
        attempts = 1 if self._requested_port else 3
        last_error = ""
        for _ in range(attempts):
            self.port = self._requested_port or free_port(self.host)
            cmd = [str(exe), "serve", "--addr", f"{self.host}:{self.port}", *self.extra_args, *self.hrefs]
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                self._wait_ready()
                return self
            except RustacError as exc:
                last_error = str(exc)
                self._terminate()
        raise RustacError(last_error)

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RustacError(f"rustac serve exited with code {code}:\n{self.log_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RustacError(
                    f"rustac serve did not answer GET / within {self.startup_timeout} s:\n{self.log_text()[-2000:]}"
                )
            time.sleep(0.05)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL) and remove the temporary log directory."""
        self._terminate()
        if self._tmpdir is not None:
            with contextlib.suppress(OSError):
                self._tmpdir.cleanup()
            self._tmpdir = None
            self.log_path = None

    def __enter__(self) -> RustacServer:
        return self.start() if self._proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
