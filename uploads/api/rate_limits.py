"""Where throttle counts live, so that every worker and node agrees on them.

Two kinds of count, one interface (`RateStore`):

- a rate (`take`): at most `limit` calls in `window` seconds per key; the API's throttles use it;
- growing waits (`attempt`): after `free` failures, each attempt must wait twice as long as the
  one before; the demo's sign-in uses it. An attempt counts as a failure as soon as it is let
  through (a success takes it back), so attempts sent in parallel cannot all slip in before the
  first wait.

The store is the cache named by UPLOAD_THROTTLE_CACHE; without one, the default cache when it is
shared between processes and increments atomically (Redis, Memcached); otherwise the app's own
table (`ThrottleCount`), never a worker's own memory.
"""

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Protocol

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.db import router, transaction
from django.db.models import F

from uploads import conf
from uploads.models import ThrottleCount

Clock = Callable[[], float]

# Caches every process and node shares, whose `incr` is atomic. Others (local memory, dummy, file,
# database, or backends not known here) would let each worker count alone or lose increments
# under concurrency: without UPLOAD_THROTTLE_CACHE the counts then go to the app's table.
SHARED_CACHES = {
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.BaseMemcachedCache",
    "django_redis.cache.RedisCache",
}
# The app's table deletes expired rows at most this often per process, after a counted call.
SWEEP_SECONDS = 60
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Backoff:
    """Growing waits: after `free` failures the next attempt waits 1 s, then 2, 4… up to
    `max_wait`; failures are forgotten `memory` seconds after the last one."""

    free: int
    max_wait: int
    memory: int

    def wait_after(self, failures: int) -> float:
        """Return how long the next attempt must wait after this many failures (0: none)."""
        if failures < self.free:
            return 0.0
        return float(min(self.max_wait, 2 ** min(failures - self.free, 32)))


class RateStore(Protocol):
    """Counts shared by every worker and node; every method is atomic."""

    def take(self, key: str, limit: int, window: int) -> float:
        """Count a call if fewer than `limit` were counted in `window` seconds; return 0 when
        counted, else the seconds until one would be."""
        ...

    def attempt(self, counters: Sequence[tuple[str, Backoff]]) -> float:
        """Count an attempt as a failure on every counter unless one makes it wait; return 0
        when counted, else the seconds to wait (nothing counted)."""
        ...

    def refund(self, key: str) -> None:
        """Take back one failure an attempt counted (it succeeded)."""
        ...

    def clear(self, key: str) -> None:
        """Forget a counter's failures and its wait."""
        ...


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (calls, seconds) of a rate such as "60/minute" (DRF's syntax); ValueError if none."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS.get(period.strip()[:1])
    calls = int(count)
    if seconds is None or calls < 0:
        raise ValueError(f"{rate!r} is not a rate like '60/minute'")
    return calls, seconds


def is_shared(cache: BaseCache) -> bool:
    """Tell whether a cache is one every process shares, with an atomic increment."""
    return any(
        f"{kind.__module__}.{kind.__qualname__}" in SHARED_CACHES for kind in type(cache).mro()
    )


def store(clock: Clock = time.time) -> RateStore:
    """Return where counts live now (settings may change at run time, and do in tests)."""
    alias = str(conf.get("UPLOAD_THROTTLE_CACHE") or "")
    if alias:
        return CacheStore(caches[alias], clock)
    default = caches[DEFAULT_CACHE_ALIAS]
    if is_shared(default):
        return CacheStore(default, clock)
    return TableStore(clock)


def safe_key(key: str) -> str:
    """Return the key, or its digest when it is long or has characters caches refuse."""
    if len(key) <= 200 and all(33 <= ord(char) < 127 for char in key):
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------- the app's table


def _moment(seconds: float) -> datetime:
    """Return an epoch time as an aware datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def _live(row: ThrottleCount, now: float) -> bool:
    """Tell whether a row still counts (its failures are not yet forgotten)."""
    return row.expires_at.timestamp() > now


_last_sweep = 0.0


class TableStore:
    """Counts in `ThrottleCount`: one short transaction holding the key's row lock per call.

    A rate keeps the times of its calls in the window (a sliding window: exactly `limit` in any
    `window` seconds, wherever a minute starts). SQLite has no row locks, but takes its write lock
    for the whole transaction with `transaction_mode: IMMEDIATE`, as the demo sets. Inside a
    request-wide transaction (ATOMIC_REQUESTS) the lock lasts until the request ends: one user's
    calls of one kind then queue behind each other.
    """

    def __init__(self, clock: Clock = time.time) -> None:
        """Count with this clock (tests pass their own)."""
        self.clock = clock
        self.alias = router.db_for_write(ThrottleCount)

    def take(self, key: str, limit: int, window: int) -> float:
        """Count a call if fewer than `limit` are in the window; else the seconds until one is."""
        now = self.clock()
        with transaction.atomic(using=self.alias):
            row = self._locked(safe_key(key), now)
            hits = [hit for hit in row.hits if hit > now - window]
            if len(hits) >= limit:
                # A call is let in once all but limit - 1 of these have left the window.
                return (hits[-limit] if limit else now) + window - now
            row.hits = [*hits, round(now, 3)]  # milliseconds: short rows
            row.expires_at = _moment(now + window)
            row.save(update_fields=["hits", "expires_at"])
        return 0.0

    def attempt(self, counters: Sequence[tuple[str, Backoff]]) -> float:
        """Count a failure on every counter, or none if one makes the attempt wait."""
        now = self.clock()
        with transaction.atomic(using=self.alias):
            # Locked in key order, so two attempts sharing counters never wait on each other.
            rows = [
                (self._locked(safe_key(key), now), backoff)
                for key, backoff in sorted(counters, key=itemgetter(0))
            ]
            waits = [
                row.blocked_until.timestamp() - now
                for row, _ in rows
                if row.blocked_until and _live(row, now)
            ]
            wait = max(waits, default=0.0)
            if wait > 0:
                return wait
            for row, backoff in rows:
                row.failures = (row.failures if _live(row, now) else 0) + 1
                next_wait = backoff.wait_after(row.failures)
                row.blocked_until = _moment(now + next_wait) if next_wait else None
                row.expires_at = _moment(now + backoff.memory)
                row.save(update_fields=["failures", "blocked_until", "expires_at"])
        return 0.0

    def refund(self, key: str) -> None:
        """Take back one failure (one UPDATE: atomic without a transaction)."""
        rows = ThrottleCount.objects.using(self.alias).filter(key=safe_key(key), failures__gt=0)
        rows.update(failures=F("failures") - 1)

    def clear(self, key: str) -> None:
        """Forget the counter."""
        ThrottleCount.objects.using(self.alias).filter(key=safe_key(key)).delete()

    def _locked(self, key: str, now: float) -> ThrottleCount:
        """Return the key's row, locked until the transaction ends; made on first use."""
        rows = ThrottleCount.objects.using(self.alias).select_for_update()
        row = rows.filter(key=key).first()
        if row is None:
            # A concurrent first use may insert it first: then this waits for, and locks, theirs.
            ThrottleCount.objects.using(self.alias).bulk_create(
                [ThrottleCount(key=key, expires_at=_moment(now))], ignore_conflicts=True
            )
            row = rows.get(key=key)
        self._sweep_now_and_then(now)
        return row

    def _sweep_now_and_then(self, now: float) -> None:
        """Delete expired rows (other keys' too), at most once a minute, after this commit."""
        global _last_sweep
        if now - _last_sweep < SWEEP_SECONDS:
            return
        _last_sweep = now
        expired = ThrottleCount.objects.using(self.alias).filter(expires_at__lt=_moment(now))
        # After the commit, so no other key's row is locked while this transaction holds its own.
        transaction.on_commit(expired.delete, using=self.alias)


# ---------------------------------------------------------------- a shared cache


class CacheStore:
    """Counts in a cache every node shares, with atomic `add` and `incr` (Redis, Memcached).

    A rate counts in fixed windows (one counter per key and window): no more than `limit` calls
    from one window's start to its end, but a burst across a boundary may reach twice that.
    """

    def __init__(self, cache: BaseCache, clock: Clock = time.time) -> None:
        """Count in this cache, with this clock (tests pass their own)."""
        self.cache = cache
        self.clock = clock

    def take(self, key: str, limit: int, window: int) -> float:
        """Count a call in the current window; beyond `limit`, the seconds until the next one."""
        now = self.clock()
        start = now - now % window
        calls = self._increment(f"uploads-rate:{safe_key(key)}:{int(start)}", window + 1)
        return 0.0 if calls <= limit else start + window - now

    def attempt(self, counters: Sequence[tuple[str, Backoff]]) -> float:
        """Count a failure on every counter, or none if one's wait runs."""
        now = self.clock()
        gates = self.cache.get_many([_gate(key) for key, _ in counters])
        wait = max((until - now for until in gates.values()), default=0.0)
        if wait > 0:
            return float(wait)
        counted: list[str] = []
        for key, backoff in counters:
            failures = self._increment(_failures(key), backoff.memory)
            self.cache.touch(_failures(key), backoff.memory)  # forgotten `memory` after the last
            counted.append(key)
            blocked = self._block(key, now, backoff.wait_after(failures))
            if blocked:
                # Lost a race with a parallel attempt (a wait this one set on an earlier counter
                # stays: harmless, the race being itself a burst of guesses).
                for done in counted:
                    self.refund(done)
                return blocked
        return 0.0

    def refund(self, key: str) -> None:
        """Take back one failure (gone already if forgotten meanwhile)."""
        with suppress(ValueError):
            self.cache.decr(_failures(key))

    def clear(self, key: str) -> None:
        """Forget the counter and its wait."""
        self.cache.delete_many([_failures(key), _gate(key)])

    def _block(self, key: str, now: float, wait: float) -> float:
        """Make the key's next attempt wait; return >0 if a parallel attempt already did."""
        if not wait:
            return 0.0
        until = now + wait
        if self.cache.add(_gate(key), until, math.ceil(wait)):
            return 0.0
        held = self.cache.get(_gate(key))
        if held is not None and held > now:
            return float(held - now)  # another attempt got in at the same moment
        self.cache.set(_gate(key), until, math.ceil(wait))  # a gate the cache had not yet dropped
        return 0.0

    def _increment(self, name: str, timeout: int) -> int:
        """Add one to a counter (made on first use, expiring after `timeout` s); return it."""
        while True:
            if self.cache.add(name, 1, timeout):
                return 1
            try:
                return int(self.cache.incr(name))
            except ValueError:
                continue  # expired or evicted between the two calls: make it again


def _failures(key: str) -> str:
    """The cache key of a counter's failures."""
    return f"uploads-failures:{safe_key(key)}"


def _gate(key: str) -> str:
    """The cache key of a counter's wait: the epoch time before which no attempt is let in."""
    return f"uploads-wait:{safe_key(key)}"
