"""A misbehaving S3 on a loopback port: one that never answers, or one that answers 5xx to all."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from tests.support.http_server import serving
from uploads.storage.local_s3 import free_port


@contextmanager
def stalled_s3() -> Iterator[str]:
    """Yield the endpoint of a server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@contextmanager
def failing_s3(status: int) -> Iterator[str]:
    """Yield the endpoint of a server that answers every request with this 5xx status."""

    class Failing(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            body = (
                b""
                if self.command == "HEAD"
                else (
                    b"<?xml version='1.0'?><Error><Code>InternalError</Code>"
                    b"<Message>We encountered an internal error.</Message></Error>"
                )
            )
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _fail

        def log_message(self, *args: object) -> None:
            """Stay quiet."""

    with serving(Failing) as url:
        yield url
