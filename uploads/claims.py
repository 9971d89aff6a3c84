"""Claims: one worker at a time does a pending record's S3 work, and no lock is held while it does.

A claim is a short lease on the row (`claim_token`, `claimed_until`), taken and given back by
single conditional UPDATEs. The S3 calls happen between them, unlocked, so a slow S3 never holds a
row lock (or, on SQLite, the whole database). The worker then settles the record with one UPDATE
that matches only while its claim still holds (MediaFile's `mark_*` methods).
"""

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from uploads.errors import Busy
from uploads.models import MediaFile

# Longer than the worst case of one settling's S3 calls under the client's timeouts (a few calls of
# ≤ 11 s, a copy or assembly of ≤ 2 x 63 s), so a live worker never loses its claim; short enough
# that a crashed worker's record is picked up again within minutes.
LEASE = timedelta(minutes=5)
# How long an API request waits for another worker's claim to end before answering 409 `busy`.
API_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Claim:
    """A record as read when claimed; `token` is None if it was already terminal (nothing to do)."""

    record: MediaFile
    token: uuid.UUID | None


def _free() -> Q:
    """Match records nobody holds a live claim on."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=timezone.now())


def claim(record: MediaFile, *, wait: float = API_WAIT_SECONDS) -> Claim:
    """Claim a pending record, waiting up to `wait` seconds for another worker to finish.

    The record as the caller read it is kept when the claim is taken at once (whatever changed
    since, nobody held it); otherwise it is read again. Raises MediaFile.DoesNotExist if the record
    is gone and Busy if the wait runs out.
    """
    give_up = time.monotonic() + wait
    while True:
        token, until = uuid.uuid4(), timezone.now() + LEASE
        # One conditional UPDATE takes the claim atomically (on PostgreSQL the WHERE is checked
        # again once a concurrent writer commits): no transaction, no lock to wait on.
        taken = MediaFile.objects.filter(
            _free(), pk=record.pk, status=MediaFile.Status.PENDING
        ).update(claim_token=token, claimed_until=until)
        if taken:
            record.claim_token, record.claimed_until = token, until
            return Claim(record, token)
        record = MediaFile.objects.get(pk=record.pk)
        if record.is_terminal:
            return Claim(record, None)
        if time.monotonic() >= give_up:
            raise Busy(record)
        time.sleep(_POLL_SECONDS)


def claim_batch(pks: Iterable[uuid.UUID]) -> list[Claim]:
    """Claim whichever of these pending records are free now; held ones are skipped, not awaited.

    The batch shares one token (each record is still settled or released on its own, by id and
    token), so a claim costs one SELECT … FOR UPDATE and one UPDATE, whatever the batch's size.
    """
    with transaction.atomic():
        # skip_locked: several cron machines sweeping at once each take different rows (PostgreSQL;
        # SQLite serialises the whole transaction instead).
        records = list(
            MediaFile.objects.select_for_update(skip_locked=True)
            .filter(_free(), pk__in=list(pks), status=MediaFile.Status.PENDING)
            .order_by("created_at")
        )
        if not records:
            return []
        token, until = uuid.uuid4(), timezone.now() + LEASE
        MediaFile.objects.filter(pk__in=[record.pk for record in records]).update(
            claim_token=token, claimed_until=until
        )
        for record in records:
            record.claim_token, record.claimed_until = token, until
        return [Claim(record, token) for record in records]


def release(held: Claim) -> None:
    """Give a claim back without changing the record (its S3 work found nothing to settle)."""
    MediaFile.objects.filter(pk=held.record.pk, claim_token=held.token).update(
        claim_token=None, claimed_until=None
    )
