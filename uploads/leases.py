"""Sweep leases: one run at a time walks the bucket for a sweep, however many machines run it.

A lease is a row per sweep (`SweepLease`), taken and renewed by single conditional UPDATEs (or the
INSERT of a first run), like a record's claim. The holder renews it after every listing page; a run
that finds its lease taken over (it stalled past the lease) stops walking.
"""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from uploads.models import SweepLease

# Long enough for one listing page's work (1,000 deletions or reports, a few aborts), short enough
# that a crashed sweep's walk is taken up by the next cron run.
LEASE = timedelta(minutes=10)

Item = TypeVar("Item")


class LeaseLost(Exception):
    """Another run took the lease over (this one stalled past it): stop walking."""


@dataclass
class Lease:
    """A held lease; renew it between units of work."""

    name: str
    token: uuid.UUID

    def renew(self) -> None:
        """Push the lease's end back; LeaseLost if another run holds it now."""
        kept = SweepLease.objects.filter(name=self.name, holder=self.token).update(
            until=timezone.now() + LEASE
        )
        if not kept:
            raise LeaseLost(f"another {self.name} run took over the bucket walk")

    def pages(self, pages: Iterable[Item]) -> Iterator[Item]:
        """Yield the pages, renewing the lease before each one."""
        for page in pages:
            self.renew()
            yield page


def _take(name: str) -> uuid.UUID | None:
    """Take the lease if nobody holds it; return the token, or None if another run does."""
    token, now = uuid.uuid4(), timezone.now()
    if SweepLease.objects.filter(name=name, until__lte=now).update(holder=token, until=now + LEASE):
        return token
    try:
        with transaction.atomic():
            SweepLease.objects.create(name=name, holder=token, until=now + LEASE)
    except IntegrityError:
        return None  # held (the row exists and its lease has not run out)
    return token


def holder_until(name: str) -> datetime | None:
    """Return when the current holder's lease runs out (None if nobody holds it)."""
    return (
        SweepLease.objects.filter(name=name, until__gt=timezone.now())
        .values_list("until", flat=True)
        .first()
    )


@contextmanager
def held(name: str) -> Iterator[Lease | None]:
    """Hold the sweep's lease for the block; yield None (do nothing) when another run holds it."""
    token = _take(name)
    if token is None:
        yield None
        return
    try:
        yield Lease(name, token)
    finally:
        SweepLease.objects.filter(name=name, holder=token).delete()
