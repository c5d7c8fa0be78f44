"""A loopback HTTP proxy in front of a STAC API that answers 503 to the next N requests on demand.

rustac writes its own address into every link, so the proxy rewrites that address to its own in
response bodies; clients then keep talking through the proxy (search, paging).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FlakyProxy:
    """Forwards GET/POST to ``upstream`` (``http://127.0.0.1:port``); ``fail_next(n)`` makes n requests fail.

    ``delay`` (seconds) is waited before answering each request, to slow a run down.
    """

    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self._lock = threading.Lock()
        self._failures_left = 0
        self._failing_paths = ""
        self.failed = 0
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self._forward(None)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", "0"))
                self._forward(self.rfile.read(length))

            def _forward(self, body: bytes | None) -> None:
                if proxy.delay:
                    threading.Event().wait(proxy.delay)
                if proxy._take_failure(self.path):
                    self._send(503, b'{"code": "Unavailable", "description": "try again"}', "application/json")
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, method=self.command,
                    headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
                )  # fmt: skip
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, payload, kind = response.status, response.read(), response.headers.get_content_type()
                except urllib.error.HTTPError as error:
                    status, payload, kind = error.code, error.read(), "application/json"
                with proxy._lock:
                    proxy.forwarded += 1
                self._send(status, payload.replace(proxy.upstream.encode(), proxy.url.encode()), kind)

            def _send(self, status: int, payload: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _take_failure(self, path: str) -> bool:
        with self._lock:
            if self._failures_left > 0 and path.startswith(self._failing_paths):
                self._failures_left -= 1
                self.failed += 1
                return True
            return False

    def fail_next(self, count: int, path_prefix: str = "") -> None:
        """Answer the next ``count`` requests (only those whose path starts with ``path_prefix``) with HTTP 503."""
        with self._lock:
            self._failures_left = count
            self._failing_paths = path_prefix

    def start(self) -> FlakyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
