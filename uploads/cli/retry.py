"""Trying again: exponential backoff with full jitter, and renewals that cost no attempt."""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from uploads.cli.errors import Cancelled, NeedsRenewal, Transient

T = TypeVar("T")

# A server's Retry-After is obeyed up to this many seconds, so a typo there cannot stall a run.
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often a request is tried (the first try included), and how long to wait between."""

    attempts: int = 5
    renewals: int = 3
    base: float = 0.5
    cap: float = 20.0

    def delay(self, failures: int) -> float:
        """Return the wait before retry number `failures` (0-based): uniform up to base·2^n."""
        return random.uniform(0, min(self.cap, self.base * 2**failures))


def with_retries(
    operation: Callable[[], T],
    policy: RetryPolicy,
    cancel: threading.Event,
    *,
    renew: Callable[[], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run `operation`, retrying Transient failures after a delay and renewing on NeedsRenewal.

    Raises the last failure's UploadError once the attempts (or renewals) are used up, and
    Cancelled as soon as `cancel` is set.
    """
    failures = renewals = 0
    while True:
        if cancel.is_set():
            raise Cancelled
        try:
            return operation()
        except NeedsRenewal as refused:
            if renew is None or renewals >= policy.renewals:
                raise refused.reason from refused
            renewals += 1
            renew()
        except Transient as failure:
            failures += 1
            if failures >= policy.attempts:
                raise failure.reason from failure
            wait = policy.delay(failures - 1)
            if failure.retry_after is not None:
                wait = min(max(failure.retry_after, 0.0), MAX_RETRY_AFTER)
            if on_retry is not None:
                retries = policy.attempts - 1
                on_retry(f"retry {failures}/{retries} in {wait:.0f} s: {failure.reason}")
            if cancel.wait(wait):
                raise Cancelled from failure
