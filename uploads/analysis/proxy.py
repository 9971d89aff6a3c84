"""A loopback range proxy: the only door ffmpeg has to the bucket.

ffmpeg is handed `http://127.0.0.1:<port>/object`, never the presigned URL: it cannot print the
URL's credentials in an error, and whatever a hostile file asks it to open, the only thing at the
other end is this one object. Every GET or HEAD of `/object` becomes one GET of the signed URL with
only the client's `Range` header passed on; redirects are never followed nor relayed. ffmpeg reads
a range, then drops the connection when it seeks: the upstream response is closed right then, so a
probe of a 200 MB file reads what ffmpeg needs, not the file.
"""

import http.client
import logging
import re
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

OBJECT_PATH = "/object"

# Headers a range reader needs; nothing else (no Location, no S3 ids) reaches ffmpeg.
RELAYED_HEADERS = ("Content-Length", "Content-Range", "Content-Type", "Accept-Ranges")

# Small enough that a dropped connection leaves little read for nothing, large enough for speed.
CHUNK_BYTES = 64 * 1024
# Kernel buffers on either side of the proxy: without a cap Linux grows them to megabytes, all of
# it read from S3 ahead of a reader that may seek away and never want it.
SOCKET_BUFFER_BYTES = 256 * 1024

# One range, the only form ffmpeg sends ("bytes=N-" or "bytes=N-M"), or a suffix ("bytes=-N").
_RANGE = re.compile(r"bytes=\d+-\d*|bytes=-\d+")

# What ends an answer midway: the reader went away (ffmpeg seeks by dropping the connection),
# storage failed or stalled, or the proxy closed the upstream answer on its way out (ValueError).
_CUT_SHORT = (OSError, http.client.HTTPException, ValueError)


class RangeProxy:
    """Serve one presigned object to loopback readers, by ranges, for as long as the block runs."""

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("RangeProxy needs an http or https URL")
        self._url = parts
        self._target = f"{parts.path or '/'}{'?' if parts.query else ''}{parts.query}"
        self.timeout = timeout
        self.refused: list[str] = []
        self._bytes_read = 0
        self._requests = 0
        self._lock = threading.Lock()
        self._open: set[_Upstream] = set()
        self._server: _Server | None = None

    @property
    def local_url(self) -> str:
        """Return the loopback URL of the whole object."""
        return f"{self._base_url()}{OBJECT_PATH}"

    @property
    def bytes_read(self) -> int:
        """Return the body bytes received from storage so far."""
        with self._lock:
            return self._bytes_read

    @property
    def requests(self) -> int:
        """Return the number of requests made to storage so far."""
        with self._lock:
            return self._requests

    def __enter__(self) -> Self:
        self._server = _Server(self)
        # A short poll: shutdown() waits for the serving loop to look (0.5 s by default).
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        # Answers still streaming to a reader that outlived the block stop reading storage now.
        with self._lock:
            upstreams, self._open = self._open, set()
        for upstream in upstreams:
            upstream.close()

    def _base_url(self) -> str:
        """Return `http://127.0.0.1:<port>` of the running server."""
        if self._server is None:
            raise RuntimeError("the proxy is not running (use it as a context manager)")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def handle(self, request: BaseHTTPRequestHandler, *, head_only: bool) -> None:
        """Answer one GET or HEAD from a reader."""
        path = request.path
        if path == OBJECT_PATH:
            self._relay(request, head_only=head_only)
        else:
            with self._lock:
                self.refused.append(path)
            _answer_empty(request, 404)

    def _relay(self, request: BaseHTTPRequestHandler, *, head_only: bool) -> None:
        """Forward a request to the object and relay its answer, the body streamed."""
        wanted = request.headers.get("Range", "")
        # HEAD too is a GET upstream (the URL is signed for GET); its body is just never read.
        upstream = self._open_upstream(wanted if _RANGE.fullmatch(wanted) else "")
        if upstream is None:
            _answer_empty(request, 502)
            return
        try:
            status = upstream.response.status
            if 300 <= status < 400:
                # Never followed, never relayed: a Location could send ffmpeg anywhere.
                _answer_empty(request, 502)
                return
            request.send_response(status)
            for name in RELAYED_HEADERS:
                value = upstream.response.getheader(name)
                if value is not None and (status < 300 or name != "Content-Length"):
                    request.send_header(name, value)
            if status >= 300:
                # An error's body is storage's own words; ffmpeg needs only the status.
                request.send_header("Content-Length", "0")
            request.end_headers()
            if status < 300 and not head_only:
                self._stream(upstream, request)
        except _CUT_SHORT:
            pass
        finally:
            self._close_upstream(upstream)

    def _open_upstream(self, range_header: str) -> "_Upstream | None":
        """Send one GET to the object; return its connection and answer, or None if it failed."""
        upstream = _Upstream(self._connection())
        with self._lock:
            self._requests += 1
            self._open.add(upstream)
        try:
            headers = {"Range": range_header} if range_header else {}
            upstream.connection.request("GET", self._target, headers=headers)
            upstream.response = upstream.connection.getresponse()
        except _CUT_SHORT:
            # Storage's own words (an error may quote the URL) go nowhere: the reader gets a 502.
            self._close_upstream(upstream)
            return None
        return upstream

    def _connection(self) -> http.client.HTTPConnection:
        """Make a connection to the URL's host, its receive buffer capped before connecting."""
        host, port = self._url.hostname or "", self._url.port
        connection: http.client.HTTPConnection
        if self._url.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        # http.client's hook for making its socket: the cap must be set before the handshake,
        # where the TCP window is agreed.
        connection._create_connection = _small_buffer_connection  # type: ignore[attr-defined]
        return connection

    def _stream(self, upstream: "_Upstream", request: BaseHTTPRequestHandler) -> None:
        """Copy an answer's body to the reader chunk by chunk, as it comes."""
        while chunk := upstream.response.read1(CHUNK_BYTES):
            with self._lock:
                self._bytes_read += len(chunk)
            request.wfile.write(chunk)

    def _close_upstream(self, upstream: "_Upstream") -> None:
        """Close a storage connection, so that an abandoned answer stops arriving."""
        with self._lock:
            self._open.discard(upstream)
        upstream.close()


class _Upstream:
    """One GET to storage: its connection and, once it came, its answer."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self.connection = connection
        self._response: http.client.HTTPResponse | None = None

    @property
    def response(self) -> http.client.HTTPResponse:
        """Return the answer (only after it came)."""
        if self._response is None:
            raise ValueError("no answer yet")
        return self._response

    @response.setter
    def response(self, response: http.client.HTTPResponse) -> None:
        self._response = response

    def close(self) -> None:
        """Close both: the answer holds the socket open on its own once the connection let go."""
        if self._response is not None:
            self._response.close()
        self.connection.close()


def _small_buffer_connection(
    address: tuple[str, int], timeout: float | None = None, source_address: object = None
) -> socket.socket:
    """Connect like `socket.create_connection`, with a small receive buffer."""
    host, port = address
    error: OSError | None = None
    for family, kind, protocol, _, sockaddr in socket.getaddrinfo(
        host, port, 0, socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, protocol)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as failure:
            sock.close()
            error = failure
    raise error or OSError("no address to connect to")


def _answer_empty(request: BaseHTTPRequestHandler, status: int) -> None:
    """Answer with a status and no body."""
    try:
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()
    except _CUT_SHORT:
        pass


class _Handler(BaseHTTPRequestHandler):
    """Hand GET and HEAD to the proxy; refuse every other method with 405."""

    server: "_Server"

    def setup(self) -> None:
        """Cap the send buffer (see SOCKET_BUFFER_BYTES) and time out a stalled reader."""
        super().setup()
        self.connection.settimeout(self.server.proxy.timeout)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)

    def do_GET(self) -> None:
        """Serve a range of the object."""
        self.server.proxy.handle(self, head_only=False)

    def do_HEAD(self) -> None:
        """Serve the object's headers."""
        self.server.proxy.handle(self, head_only=True)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # The base class answers a method it finds no `do_<METHOD>` for with 501; any method but
        # GET and HEAD is one this proxy knows and refuses.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        """Answer 405 Method Not Allowed."""
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the default prints every request to stderr."""


class _Server(ThreadingHTTPServer):
    """A loopback server on a free port that knows its proxy."""

    def __init__(self, proxy: RangeProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a failed request by its error's type only (the default prints a traceback)."""
        logger.warning("range proxy: a request failed (%s)", sys.exc_info()[0])
