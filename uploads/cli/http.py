"""HTTP plumbing shared by the API client and the S3 transfers: pooled sessions that follow no
redirect, answers read within a size limit, header parsing."""

import email.utils
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from uploads.cli.errors import AnswerTooLarge

USER_AGENT = "mediaupload-cli/0.1"
# Bodies are read and sent in 1 MiB blocks (urllib3's default is 16 KiB: many more Python calls).
BLOCK_SIZE = 1024**2
CONNECT_TIMEOUT = 10.0
# Answers are read this many bytes at a time, so memory holds at most a limit and one piece more
# (small, because urllib3 before 2.6 inflates a whole piece of a compressed answer at once).
_ANSWER_PIECE = 16 * 1024
# What a connection failure says, in the words of the OS or of urllib3, for a one-line message.
_REASONS = (
    "connection refused",
    "name or service not known",
    "temporary failure in name resolution",
    "no route to host",
    "network is unreachable",
    "connection reset by peer",
    "remote end closed connection without response",
    "certificate verify failed",
)


class _PooledAdapter(HTTPAdapter):
    """An adapter whose connections send request bodies in large blocks."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Create the pool manager with BLOCK_SIZE for every connection it opens."""
        super().init_poolmanager(
            connections, maxsize, block=block, blocksize=BLOCK_SIZE, **pool_kwargs
        )


class _NoRedirectSession(requests.Session):
    """A Session that sees no redirect to follow: a 3xx is an answer like any other."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """Return None: even with allow_redirects=False, requests reads a redirect's whole body
        (no size limit) to prepare the request that would follow it."""
        return None


def make_session(pool_size: int) -> requests.Session:
    """Return a Session keeping up to `pool_size` connections per host alive, for parallel work."""
    session = _NoRedirectSession()
    adapter = _PooledAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def read_answer(response: requests.Response, limit: int) -> bytes:
    """Return the body of an answer requested with stream=True; raise AnswerTooLarge rather than
    hold more than `limit` bytes of it."""
    body = bytearray()
    for piece in response.iter_content(_ANSWER_PIECE):
        body += piece
        if len(body) > limit:
            response.close()  # drops the connection, the rest of the answer unread
            raise AnswerTooLarge(limit)
    return bytes(body)


def retry_after(response: requests.Response) -> float | None:
    """Return the seconds a Retry-After header asks for (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def server_now(response: requests.Response) -> datetime:
    """Return the server's clock from its Date header, or ours when it sent none."""
    value = response.headers.get("Date")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return datetime.now(UTC)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.now(UTC)


def local_deadline(expires_at: datetime, response: requests.Response, sent_at: float) -> float:
    """Turn a server expiry into a time.monotonic() deadline, whatever our clock says."""
    return sent_at + (expires_at - server_now(response)).total_seconds()


def unreachable(url: str, error: requests.RequestException) -> str:
    """Describe a connection failure in a few words, naming the host."""
    host = urlsplit(url).netloc or url
    if isinstance(error, requests.Timeout):
        return f"{host} did not answer in time"
    text = str(error).lower()
    reason = next((known for known in _REASONS if known in text), "the connection failed")
    return f"cannot reach {host}: {reason}"


def now() -> float:
    """Return the monotonic clock (one place, so deadlines all use the same clock)."""
    return time.monotonic()
