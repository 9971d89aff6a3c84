"""A loopback HTTP server of files on disk that honours Range, counts the body bytes it sends and
records every path asked of it: what storage looks like to the analysis range proxy.

Its send buffer is kept small: Linux would grow it to 4 MiB a connection, bytes the count would
call sent that a store across a network holds until the reader's window takes them, and a reader
that drops the connection never does.
"""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.http_server import running

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 64 * 1024
_SEND_BUFFER = 64 * 1024


class RangeServer:
    """Files served by path; what was asked and how much was sent."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        # Paths whose requests are held unanswered until the server stops (a stalled store).
        self.stalled: set[str] = set()
        # Paths answered with a status of their own: an error (its body naming the path), or a
        # redirect to /other.ts.
        self.statuses: dict[str, int] = {}
        self.paths: list[str] = []
        self.ranges: list[str | None] = []
        self.bytes_sent = 0
        self.base_url = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def serve(self, path: str, file: Path) -> str:
        """Serve a file at a path; return its URL."""
        self.files[path] = file
        return f"{self.base_url}{path}"

    def reset(self) -> None:
        """Forget the requests seen and the bytes sent so far."""
        with self._lock:
            self.paths.clear()
            self.ranges.clear()
            self.bytes_sent = 0

    def _record(self, path: str, range_header: str | None) -> None:
        with self._lock:
            self.paths.append(path)
            self.ranges.append(range_header)

    def _count(self, sent: int) -> None:
        with self._lock:
            self.bytes_sent += sent


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)

    def do_GET(self) -> None:
        store = self.server.store
        store._record(self.path, self.headers.get("Range"))
        if self.path in store.stalled:
            store._stopping.wait(60)
            return
        file = store.files.get(self.path)
        status = store.statuses.get(self.path, 200 if file else 404)
        if status != 200 or file is None:
            body = f"<Error><Resource>{self.path}</Resource></Error>".encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"{store.base_url}/other.ts")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        size = file.stat().st_size
        first, last = 0, size - 1
        wanted = _RANGE.fullmatch(self.headers.get("Range", ""))
        if wanted:
            start, end = wanted.groups()
            if start:
                first, last = int(start), min(int(end), size - 1) if end else size - 1
            else:
                first = max(size - int(end), 0)
            if first >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(last - first + 1))
        if wanted:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        with file.open("rb") as source:
            source.seek(first)
            remaining = last - first + 1
            try:
                while remaining > 0:
                    chunk = source.read(min(_CHUNK, remaining))
                    self.wfile.write(chunk)
                    store._count(len(chunk))
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


class _Server(ThreadingHTTPServer):
    def __init__(self, store: RangeServer) -> None:
        self.store = store
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def range_server() -> Iterator[RangeServer]:
    """Run a RangeServer on a free loopback port for the block."""
    store = RangeServer()
    server = _Server(store)
    store.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    with running(server):
        try:
            yield store
        finally:
            store._stopping.set()  # before the loop stops: a handler still sending gives up
