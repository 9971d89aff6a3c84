"""A request handler served on a free loopback port, in a thread, for as long as a test needs."""

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from uploads.storage.local_s3 import free_port


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[None]:
    """Run a server's loop in a thread for the block, then stop it and close its socket."""
    # A short poll: shutdown() waits for the loop to look, 0.5 s by default, at every test's end.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve a request handler on a free loopback port in a thread; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    with running(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"
