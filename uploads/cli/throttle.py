"""A bandwidth limit shared by every transfer of a run (`--limit-rate`)."""

import threading

from uploads.cli.errors import Cancelled
from uploads.cli.http import now


class RateLimiter:
    """Spaces out chunks so that all transfers together send about `rate` bytes a second."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self._rate = rate
        self._lock = threading.Lock()
        self._next = now()

    def take(self, count: int, cancel: threading.Event) -> None:
        """Wait until `count` more bytes may go; raise Cancelled if the run is interrupted."""
        with self._lock:
            start = max(self._next, now())
            self._next = start + count / self._rate
        wait = start - now()
        if wait > 0 and cancel.wait(wait):
            raise Cancelled


def parse_rate(text: str) -> float:
    """Read a rate such as 500K, 8M or 1.5G (bytes a second, binary multiples)."""
    multiples = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    value = text.strip().upper().removesuffix("/S").removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in multiples else ""
    number = float(value[: len(value) - len(unit)])
    if number <= 0:
        raise ValueError("the rate must be positive")
    return number * multiples[unit]
