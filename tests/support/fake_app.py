"""A misbehaving app server on a loopback port: one answer to every request, which it records."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.support.http_server import serving

_PIECE = b"x" * 1024**2
_OPEN, _CLOSE = b'{"padding": "', b'"}'


@dataclass(frozen=True)
class Received:
    """One request the server received (its body read and dropped)."""

    method: str
    headers: dict[str, str]


@contextmanager
def answering_server(
    status: int, *, headers: dict[str, str] | None = None, json_bytes: int = 64
) -> Iterator[tuple[str, list[Received]]]:
    """Yield the address of a server that answers every request with `status`, `headers` and a
    JSON object of `json_bytes` bytes (at least 15; written a MiB at a time, never held whole), and
    the list of requests it received."""
    padding = json_bytes - len(_OPEN) - len(_CLOSE)
    received: list[Received] = []

    class Answering(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            received.append(Received(self.command, dict(self.headers)))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(json_bytes))
            self.end_headers()
            try:
                self.wfile.write(_OPEN)
                for start in range(0, padding, len(_PIECE)):
                    self.wfile.write(_PIECE[: padding - start])
                self.wfile.write(_CLOSE)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading: what it should do

        do_GET = do_PUT = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            """Stay quiet."""

    with serving(Answering) as url:
        yield url, received
