"""A small closed-loop HTTP load generator: N clients, each one operation after another.

One asyncio loop in one process, raw HTTP/1.1 over loopback (gunicorn's sync workers close every
connection), so the generator costs little of the CPU it shares with the servers. An operation is
one or more requests made in order (a create, then its first parts/ call); its latency is the
whole of it.

Two ways to run: `run` (one client, one token; any unexpected answer stops the run: the issuance
bench) and `run_counted` (one client per loop, each with its own token; a failed step is counted
against its kind and the loop starts its next operation: the load bench). A counted operation
times its steps (`Steps.call`), so each request kind gets its own latencies too. `post_form`
sends a browser's multipart/form-data POST (an S3 POST policy's form) over the same raw HTTP.
"""

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# An operation: given a client, make its requests; raise on any unexpected answer.
Operation = Callable[["Client"], Awaitable[None]]
# A counted operation: given a client and its step timer, make its requests through the timer.
CountedOperation = Callable[["Client", "Steps"], Awaitable[None]]

# The longest a counted step may take before it counts as a failure (a stuck server must not
# stall a client for the rest of the run).
STEP_TIMEOUT = 60.0
# After a failed operation a client pauses this long, so a server that refuses connections at once
# does not turn the loop into a spin that starves the other clients.
PAUSE_AFTER_ERROR = 0.01


class BadAnswer(Exception):
    """A request got an answer other than the one expected."""


class IncompleteAnswer(Exception):
    """The server closed the connection before a whole HTTP answer arrived."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status, headers (names lower-cased) and body."""

    status: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.content) if self.content else None


async def exchange(host: str, port: int, message: bytes) -> Answer:
    """Send one whole HTTP/1.1 request on a new connection; read and return its answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(message)
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            closed = f"{host}:{port} closed after {len(error.partial)} bytes"
            raise IncompleteAnswer(closed) from None
        status_line, *lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise IncompleteAnswer(f"{host}:{port} answered {status_line[:100]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        content = await _read_body(reader, status, headers)
    finally:
        writer.close()
    return Answer(status, headers, content)


async def _read_body(reader: asyncio.StreamReader, status: int, headers: dict[str, str]) -> bytes:
    """Read an answer's body by its framing: Content-Length, chunked, or up to the close."""
    if status in (204, 304) or 100 <= status < 200:
        return b""
    try:
        if "content-length" in headers:
            return await reader.readexactly(int(headers["content-length"]))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await reader.readexactly(size + 2))  # the chunk and its CRLF
                if size == 0:
                    return b"".join(chunk[:-2] for chunk in chunks)
    except asyncio.IncompleteReadError as error:
        raise IncompleteAnswer(f"body cut short after {len(error.partial)} bytes") from None
    return await reader.read()


@dataclass
class Client:
    """Makes requests to one app, with one token."""

    host: str
    port: int
    token: str

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one JSON request (body: None for none); return the answer, whatever its status."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Token {self.token}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return await exchange(self.host, self.port, head.encode() + payload)

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """Send one request; return the JSON answer (BadAnswer on another status)."""
        answer = await self.request(method, path, body)
        if answer.status != expect:
            raise BadAnswer(f"{method} {path}: {answer.status} {answer.content[:300]!r}")
        return answer.json()


def form_body(
    fields: Mapping[str, str], filename: str, content: bytes, content_type: str, name: str = "file"
) -> tuple[bytes, str]:
    """A multipart/form-data body of `fields`, then the file (last, as S3's POST wants it); return
    the body and its Content-Type."""
    boundary = f"----bench{uuid.uuid4().hex}"
    pieces = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    pieces.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    pieces += [content, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(pieces), f"multipart/form-data; boundary={boundary}"


async def post_form(
    url: str, fields: Mapping[str, str], filename: str, content: bytes, content_type: str
) -> Answer:
    """POST a form and a file to `url` (plain HTTP), as a browser sends an S3 POST policy's form."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only plain http:// URLs are supported here, not {url!r}")
    port = parts.port or 80
    body, body_type = form_body(fields, filename, content, content_type)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {body_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return await exchange(parts.hostname, port, head.encode() + body)


def percentile(latencies: list[float], fraction: float) -> float:
    """The latency below which `fraction` of these finished (seconds; NaN for none)."""
    if not latencies:
        return float("nan")
    if len(latencies) < 2:
        return latencies[0]
    cuts = statistics.quantiles(latencies, n=1000, method="inclusive")
    return cuts[min(len(cuts) - 1, max(0, round(fraction * 1000) - 1))]


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
        return percentile(self.latencies, fraction)


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


# ------------------------------------------------------------------ counted runs


class StepFailed(Exception):
    """A step of an operation failed: counted against its kind; the client goes on."""

    def __init__(self, kind: str, reason: str, detail: str = "") -> None:
        """A failure of one kind of step ("create"), for a reason ("429", "timeout")."""
        super().__init__(f"{kind}: {reason} {detail}".strip())
        self.kind, self.reason, self.detail = kind, reason, detail


@dataclass
class Steps:
    """Times the steps of one operation, and turns a failed one into StepFailed."""

    timeout: float = STEP_TIMEOUT
    latencies: dict[str, float] = field(default_factory=dict)

    async def call(self, kind: str, request: Awaitable[Answer]) -> Answer:
        """Await a request as step `kind`; its answer must be 2xx (else StepFailed)."""
        started = time.perf_counter()
        try:
            answer = await asyncio.wait_for(request, self.timeout)
        except TimeoutError:
            raise StepFailed(kind, "timeout", f"no answer in {self.timeout:g} s") from None
        except (OSError, EOFError, IncompleteAnswer) as error:  # refused, reset, cut short
            raise StepFailed(kind, type(error).__name__, str(error)) from None
        if not 200 <= answer.status < 300:
            raise StepFailed(kind, str(answer.status), repr(answer.content[:300]))
        self.latencies[kind] = time.perf_counter() - started
        return answer

    async def json(self, kind: str, request: Awaitable[Answer]) -> Any:
        """Await a request as step `kind` and return its 2xx answer's JSON (else StepFailed)."""
        answer = await self.call(kind, request)
        try:
            return answer.json()
        except ValueError:
            raise StepFailed(kind, "not JSON", repr(answer.content[:300])) from None


@dataclass(frozen=True)
class Tally(Result):
    """A counted run: each step's latencies too (of the operations measured), and every failure
    of the run, warm-up included, by step and reason (with the first one's detail)."""

    steps: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def errors_of(self, kind: str) -> int:
        """The failures of one kind of step."""
        return sum(count for (each, _), count in self.errors.items() if each == kind)


async def _run_counted(
    clients: list[Client], operation: CountedOperation, warmup: float, duration: float
) -> Tally:
    """Run one loop per client for warmup + duration; count what finished in the duration."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    measure_from, stop_at = started + warmup, started + warmup + duration
    latencies: list[float] = []
    steps: dict[str, list[float]] = {}
    errors: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}

    async def one_client(client: Client) -> None:
        while True:
            begun = loop.time()
            if begun >= stop_at:
                return
            timer = Steps()
            try:
                await operation(client, timer)
            except StepFailed as failure:
                errors[(failure.kind, failure.reason)] += 1
                examples.setdefault((failure.kind, failure.reason), failure.detail)
                await asyncio.sleep(PAUSE_AFTER_ERROR)
                continue
            ended = loop.time()
            if measure_from <= ended <= stop_at:
                latencies.append(ended - begun)
                for kind, seconds in timer.latencies.items():
                    steps.setdefault(kind, []).append(seconds)

    await asyncio.gather(*(one_client(client) for client in clients))
    return Tally(len(latencies), duration, latencies, steps, errors, examples)


def run_counted(
    clients: list[Client], operation: CountedOperation, warmup: float, duration: float
) -> Tally:
    """Measure an operation with one closed loop per client (each its own user); failures are
    counted, never raised."""
    return asyncio.run(_run_counted(clients, operation, warmup, duration))


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started
