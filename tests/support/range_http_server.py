"""A small threaded HTTP/1.1 file server with byte-range support, counters and fault injection.

Used as the loopback "blob storage" behind the fake Sentinel-2 STAC catalog: GDAL's ``/vsicurl/`` reads
Cloud-Optimized GeoTIFFs from it with ``Range`` requests exactly as it would from Azure blob storage.

Behaviour (deliberately close to what blob storage does):

* ``GET`` and ``HEAD`` on files below ``root`` (URL path ``/a/b.tif`` -> ``root/a/b.tif``; query strings are ignored;
  anything outside ``root``, directories and missing files -> 404).
* ``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` (single range) -> ``206 Partial Content`` with ``Content-Range``
  and ``Content-Length``; every file response carries ``Accept-Ranges: bytes``. A range starting at or beyond the end
  of the file (or ``bytes=-0``) -> ``416`` with ``Content-Range: bytes */<size>``. Multi-range requests
  (``bytes=0-1,5-9``) and syntactically invalid ranges are answered ``200`` with the full body (allowed by RFC 9110).
* HTTP/1.1 keep-alive (every response has a ``Content-Length``).
* Counters: total body bytes sent (all responses, including error bodies; counted just before sending), requests
  per URL path, and a request log; all updated under a lock and cleared by :meth:`RangeHTTPServer.reset_counters`.
* Fault injection: :meth:`RangeHTTPServer.fail_next` makes the next ``count`` requests whose path starts with a prefix
  answer a given status (default 503) with ``Retry-After: 0``.
* No request logging to stderr; client disconnects mid-body are ignored.

Observed GDAL 3.10 (rasterio 1.4.4) behaviour against this server, with ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``:
opening a COG sends ``HEAD`` then ``GET bytes=0-16383``; a 64 x 64 window then costs one or two more ranged GETs
(GDAL rounds to 16 KiB chunks and merges neighbours). A 503 on the first ``HEAD`` fails the open (no retry unless
``GDAL_HTTP_MAX_RETRY`` is set) and GDAL caches that failure per URL: reopening the same URL in the same process fails
again without sending any request. A 503 on a later block ``GET`` was retried by GDAL on its own.

Usage::

    with RangeHTTPServer(root) as server:       # or: server = RangeHTTPServer(root).start(); ...; server.stop()
        url = server.url + "/item/B02.tif"      # http://127.0.0.1:<port>/item/B02.tif
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)

#: GDAL configuration for reading from the loopback server (no directory listing probes for sidecar files).
GDAL_LOOPBACK_ENV: dict[str, str] = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}

_CONTENT_TYPES = {
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".ndjson": "application/x-ndjson",
}


@dataclass(frozen=True)
class RequestRecord:
    """One answered request: method, URL path (no query), raw ``Range`` header, status and body bytes sent."""

    method: str
    path: str
    range: str | None
    status: int
    body_bytes: int


@dataclass
class _Fault:
    prefix: str
    remaining: int
    status: int


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """Resolve a ``Range`` header against a file of ``size`` bytes.

    Returns ``(first, last)`` (inclusive byte offsets) for a satisfiable single range, ``None`` when the header must be
    ignored (multi-range or invalid syntax -> full 200 response), or the string ``"unsatisfiable"`` (-> 416).
    """
    if "," in header:
        return None
    match = _RANGE_RE.match(header)
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix range: the last n bytes
        n = int(last_s)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # invalid syntax per RFC 9110 14.1.1 -> ignore the header
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server  # type: ignore[assignment]

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request stderr log."""

    def setup(self) -> None:
        super().setup()
        self.server.track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track_connection(self.connection, add=False)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._serve(send_body=False)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _respond(
        self, status: int, headers: dict[str, str], body: bytes, length: int, path: str, range_header: str | None
    ) -> None:
        """Send status + headers with ``Content-Length: length``; the body only for GET (HEAD passes ``b""``).

        The request is recorded *before* anything is sent, so a client that has seen the response also sees it counted.
        """
        self.server.owner._record(RequestRecord(self.command, path, range_header, status, len(body)))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _serve(self, send_body: bool) -> None:
        owner = self.server.owner
        path = unquote(urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        owner._count_request(path)

        fault_status = owner._take_fault(path)
        if fault_status is not None:
            text = f"injected fault {fault_status}\n".encode()
            headers = {"Content-Type": "text/plain", "Retry-After": "0"}
            self._respond(fault_status, headers, text if send_body else b"", len(text), path, range_header)
            return

        file_path = owner._resolve(path)
        if file_path is None:
            text = b"not found\n"
            headers = {"Content-Type": "text/plain"}
            self._respond(404, headers, text if send_body else b"", len(text), path, range_header)
            return

        size = file_path.stat().st_size
        content_type = _CONTENT_TYPES.get(file_path.suffix.lower()) or (
            mimetypes.guess_type(file_path.name)[0] or "application/octet-stream"
        )
        headers = {"Content-Type": content_type, "Accept-Ranges": "bytes"}
        resolved = parse_range(range_header, size) if range_header else None
        if resolved == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{size}"
            self._respond(416, headers, b"", 0, path, range_header)
            return
        if resolved is None:
            status, first, length = 200, 0, size
        else:
            assert isinstance(resolved, tuple)
            first, last = resolved
            status, length = 206, last - first + 1
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        body = b""
        if send_body:
            with file_path.open("rb") as fh:
                fh.seek(first)
                body = fh.read(length)
        self._respond(status, headers, body, length, path, range_header)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: RangeHTTPServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track_connection(self, conn: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up (GDAL may drop a keep-alive connection mid-response)."""


class RangeHTTPServer:
    """Serve the files below ``root`` on ``http://127.0.0.1:<free port>`` with byte ranges, counters and faults.

    ``RangeHTTPServer(root).start()`` returns the started server; ``.url`` is its base URL without a trailing slash;
    ``.stop()`` shuts it down (also closes idle keep-alive connections). Usable as a context manager.
    """

    def __init__(self, root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root).resolve()
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._bytes_sent = 0
        self._requests: Counter[str] = Counter()
        self._log: list[RequestRecord] = []
        self._faults: list[_Fault] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> RangeHTTPServer:
        """Bind (port 0 = a free port) and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="range-http-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and any open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RangeHTTPServer:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (only after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    def url_for(self, path: str | os.PathLike[str]) -> str:
        """URL of a file given as a path below ``root`` (absolute or relative)."""
        p = Path(path)
        rel = p.resolve().relative_to(self.root) if p.is_absolute() else p
        return f"{self.url}/{rel.as_posix()}"

    # -- counters ------------------------------------------------------------------------------------------------

    @property
    def bytes_sent(self) -> int:
        """Total response body bytes written since the last reset (HEAD responses count 0)."""
        with self._lock:
            return self._bytes_sent

    @property
    def requests_per_path(self) -> dict[str, int]:
        """Copy of the per-URL-path request counts (query strings stripped, faulted requests included)."""
        with self._lock:
            return dict(self._requests)

    def requests_for(self, path_prefix: str = "/") -> int:
        """Number of requests whose URL path starts with ``path_prefix``."""
        with self._lock:
            return sum(n for p, n in self._requests.items() if p.startswith(path_prefix))

    def bytes_sent_for(self, path_prefix: str = "/") -> int:
        """Body bytes sent for URL paths starting with ``path_prefix``."""
        with self._lock:
            return sum(r.body_bytes for r in self._log if r.path.startswith(path_prefix))

    @property
    def request_log(self) -> list[RequestRecord]:
        """Copy of the log of answered requests, in completion order."""
        with self._lock:
            return list(self._log)

    def reset_counters(self) -> None:
        """Clear bytes, per-path counts and the request log (pending faults are kept)."""
        with self._lock:
            self._bytes_sent = 0
            self._requests.clear()
            self._log.clear()

    # -- fault injection -----------------------------------------------------------------------------------------

    def fail_next(self, path_prefix: str, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests whose URL path starts with ``path_prefix`` with ``status``.

        The response carries ``Retry-After: 0`` and a short text body. Faults registered earlier are consumed first.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if not path_prefix.startswith("/"):
            path_prefix = "/" + path_prefix
        with self._lock:
            if count:
                self._faults.append(_Fault(path_prefix, count, status))

    def clear_faults(self) -> None:
        """Drop all pending injected faults."""
        with self._lock:
            self._faults.clear()

    # -- used by the handler -------------------------------------------------------------------------------------

    def _count_request(self, path: str) -> None:
        with self._lock:
            self._requests[path] += 1

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._bytes_sent += record.body_bytes
            self._log.append(record)

    def _take_fault(self, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and path.startswith(fault.prefix):
                    fault.remaining -= 1
                    status = fault.status
                    self._faults = [f for f in self._faults if f.remaining > 0]
                    return status
        return None

    def _resolve(self, url_path: str) -> Path | None:
        candidate = (self.root / url_path.lstrip("/")).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None
        return candidate if candidate.is_file() else None
