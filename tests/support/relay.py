"""A TCP relay in front of a test S3 server: it counts the bytes the server sends, or holds every
connection (a store that stopped answering)."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class Relay:
    """Where the relay listens, and what the server behind it has sent through it."""

    url: str
    bytes_sent: int = 0
    stalled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, n: int) -> None:
        """Add bytes the server sent."""
        with self._lock:
            self.bytes_sent += n


def _pump(source: socket.socket, target: socket.socket, relay: Relay | None) -> None:
    """Copy one direction until either side closes (counting it if `relay` is given)."""
    try:
        while chunk := source.recv(65536):
            if relay is not None:
                relay.count(len(chunk))
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


# Like a network path, not a reservoir: the relay itself holds little in flight, so what it counts
# is what the reader asked for plus what a TCP window lets through before it hangs up.
_BUFFER_BYTES = 64 * 1024


def _small_buffers(sock: socket.socket) -> socket.socket:
    """Keep the kernel from queueing megabytes on this socket."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFFER_BYTES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFFER_BYTES)
    return sock


@contextmanager
def relaying(endpoint: str, *, stalled: bool = False) -> Iterator[Relay]:
    """Listen on a free loopback port and relay to `endpoint` (http://host:port)."""
    host, port = endpoint.removeprefix("http://").split(":")
    listener = socket.create_server(("127.0.0.1", 0))
    relay = Relay(url=f"http://127.0.0.1:{listener.getsockname()[1]}", stalled=stalled)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if relay.stalled:
                held.append(client)  # accepted, never answered
                continue
            _small_buffers(client)
            upstream = _small_buffers(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            upstream.connect((host, int(port)))
            threading.Thread(target=_pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client, relay), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield relay
    finally:
        listener.close()
        for client in held:
            client.close()
