"""A small closed-loop HTTP load generator: N clients, each one operation after another.

One asyncio loop in one process, raw HTTP/1.1 over loopback (gunicorn's sync workers close every
connection), so the generator costs little of the CPU it shares with the servers. An operation is
one or more requests made in order (a create, then its first parts/ call); its latency is the
whole of it.
"""

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# An operation: given a client, make its requests; raise on any unexpected answer.
Operation = Callable[["Client"], Awaitable[None]]


class BadAnswer(Exception):
    """A request got an answer other than the one expected."""


@dataclass
class Client:
    """Makes requests to one app, with one token."""

    host: str
    port: int
    token: str

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """Send one request; return the JSON answer (BadAnswer on another status)."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Token {self.token}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(head.encode() + payload)
            answer = await reader.read()
        finally:
            writer.close()
        status_line, _, rest = answer.partition(b"\r\n")
        status = int(status_line.split()[1])
        _, _, content = rest.partition(b"\r\n\r\n")
        if status != expect:
            raise BadAnswer(f"{method} {path}: {status} {content[:300]!r}")
        return json.loads(content) if content else None


@dataclass(frozen=True)
class Result:
    """Operations completed in the measured window, and their latencies in seconds."""

    operations: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        """Operations per second (0 for an empty window)."""
        return self.operations / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        """The latency below which `fraction` of the operations finished (seconds)."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) < 2:
            return self.latencies[0]
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[min(len(cuts) - 1, max(0, round(fraction * 1000) - 1))]


async def _run(
    client: Client, operation: Operation, concurrency: int, warmup: float, duration: float
) -> Result:
    """Run `concurrency` clients for warmup + duration; count what finished in the duration."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    measure_from, stop_at = started + warmup, started + warmup + duration
    latencies: list[float] = []

    async def one_client() -> None:
        while True:
            begun = loop.time()
            if begun >= stop_at:
                return
            await operation(client)
            ended = loop.time()
            if measure_from <= ended <= stop_at:
                latencies.append(ended - begun)

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return Result(len(latencies), duration, latencies)


def run(
    client: Client, operation: Operation, concurrency: int, warmup: float, duration: float
) -> Result:
    """Measure an operation at a concurrency level (closed loop)."""
    return asyncio.run(_run(client, operation, concurrency, warmup, duration))


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started
