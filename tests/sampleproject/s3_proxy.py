"""An HTTP proxy in front of the test S3 server that records every request reaching it (method,
path, Range, If-Match) and the body bytes S3 sent back: what the app costs, counted on the wire."""

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Per hop only: never forwarded (the proxy sends each body whole, with its own Content-Length).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Seen:
    """One request S3 received."""

    method: str
    path: str
    range: str | None
    if_match: str | None
    status: int
    body_bytes: int


@dataclass
class CountingProxy:
    """Where the proxy listens, and the requests that went through it."""

    url: str
    requests: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seen: Seen) -> None:
        """Note one request."""
        with self._lock:
            self.requests.append(seen)

    def gets(self, key: str) -> list[Seen]:
        """The GETs of one object (its key ends the path)."""
        with self._lock:
            return [seen for seen in self.requests if seen.method == "GET" and key in seen.path]


@contextmanager
def counting_proxy(endpoint: str) -> Iterator[CountingProxy]:
    """Listen on a free loopback port and forward every request to `endpoint` (http://host:port)."""
    upstream = urlsplit(endpoint)
    proxy = CountingProxy(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body is not None:
                headers["Content-Length"] = str(len(body))
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                content = answer.read()
            finally:
                connection.close()
            proxy.record(
                Seen(
                    method=self.command,
                    path=self.path,
                    range=self.headers.get("Range"),
                    if_match=self.headers.get("If-Match"),
                    status=answer.status,
                    body_bytes=len(content),
                )
            )
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
