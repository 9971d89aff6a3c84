"""A record's analysis state and the lease of the one worker analysing it.

The stock task backends neither retry a failed task nor recover one whose worker was killed, so
the record keeps what they don't: `analysis_status`, the attempts made, when the next may start,
and a lease. Every change is one conditional UPDATE, like the upload transitions (claims.py): a
task that runs twice, or a sweep that hands work on while a slow worker finishes, saves once.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from uploads import conf
from uploads.models import MediaFile

Analysis = MediaFile.Analysis

# A pending record whose task has not started by then was lost (a crash before the enqueue, a
# backend that dropped it): the sweep enqueues it again.
LOST_AFTER = timedelta(minutes=5)
# Backoff before attempt n+1: 30 s, 1 min, 2 min, 4 min…, at most an hour.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Lease:
    """One worker's hold on one record's analysis, valid until `until`."""

    record: MediaFile
    token: uuid.UUID
    until: datetime


def lease_length() -> timedelta:
    """How long one attempt may take: a probe and a poster, each within the tools' timeout, plus
    the reads and writes around them."""
    return timedelta(seconds=3 * conf.analysis().timeout + 60)


def backoff(attempts: int) -> timedelta:
    """Return the wait before the attempt after `attempts` failed ones."""
    return min(FIRST_BACKOFF * (1 << max(attempts - 1, 0)), MAX_BACKOFF)


def _startable(now: datetime) -> Q:
    """Records an attempt may start on: pending and due, or running under a lease that passed."""
    return Q(status=MediaFile.Status.UPLOADED) & (
        Q(analysis_status=Analysis.PENDING, analysis_due_at__lte=now)
        | Q(analysis_status=Analysis.RUNNING, analysis_lease_until__lt=now)
    )


def start(media_id: uuid.UUID | str) -> Lease | None:
    """Take the lease on a record's analysis and count the attempt; None when there is nothing
    to do now (done, failed, not due yet, or another worker holds a live lease)."""
    now = timezone.now()
    token = uuid.uuid4()
    until = now + lease_length()
    taken = MediaFile.objects.filter(_startable(now), pk=media_id).update(
        analysis_status=Analysis.RUNNING,
        analysis_token=token,
        analysis_lease_until=until,
        analysis_attempts=F("analysis_attempts") + 1,
        updated_at=now,
    )
    if not taken:
        return None
    return Lease(MediaFile.objects.get(pk=media_id), token, until)


def _settle(lease: Lease, **values: Any) -> bool:
    """Write an attempt's end if the lease still holds; tell whether it did."""
    return bool(
        MediaFile.objects.filter(
            pk=lease.record.pk, analysis_status=Analysis.RUNNING, analysis_token=lease.token
        ).update(
            **values, analysis_token=None, analysis_lease_until=None, updated_at=timezone.now()
        )
    )


def finish(lease: Lease, *, metadata: dict[str, Any], derived: dict[str, str]) -> bool:
    """Save what analysis found and the files it made."""
    return _settle(
        lease,
        analysis_status=Analysis.DONE,
        analysis_reason="",
        metadata=metadata,
        derived=derived,
    )


def fail(lease: Lease, *, reason: str) -> bool:
    """Give up on the file for good: analysis `failed` with the reason (the upload stays)."""
    return _settle(lease, analysis_status=Analysis.FAILED, analysis_reason=reason)


def retry_later(lease: Lease, *, reason: str) -> datetime | None:
    """Put the record back to pending after a passing failure, due after the backoff; return
    when it is due, or None if the lease was lost."""
    due = timezone.now() + backoff(lease.record.analysis_attempts)
    saved = _settle(
        lease, analysis_status=Analysis.PENDING, analysis_reason=reason, analysis_due_at=due
    )
    return due if saved else None


def request(records: "QuerySet[MediaFile]") -> int:
    """Ask for (another) analysis of these uploaded records, from the first attempt; return how
    many. A record being analysed right now keeps its lease: its result will be replaced."""
    now = timezone.now()
    return (
        records.filter(status=MediaFile.Status.UPLOADED)
        .exclude(analysis_status=Analysis.RUNNING, analysis_lease_until__gte=now)
        .update(
            analysis_status=Analysis.PENDING,
            analysis_attempts=0,
            analysis_due_at=now,
            analysis_reason="",
            updated_at=now,
        )
    )


def lost(now: datetime | None = None) -> "QuerySet[MediaFile]":
    """Records whose analysis should have started and didn't, or whose worker's lease passed."""
    now = now or timezone.now()
    return MediaFile.objects.filter(status=MediaFile.Status.UPLOADED).filter(
        Q(analysis_status=Analysis.PENDING, analysis_due_at__lte=now - LOST_AFTER)
        | Q(analysis_status=Analysis.RUNNING, analysis_lease_until__lt=now)
    )


def give_up(media_id: uuid.UUID) -> bool:
    """Mark a record that used up its attempts as failed ('gave_up'), unless it moved on."""
    now = timezone.now()
    return bool(
        MediaFile.objects.filter(_startable(now), pk=media_id).update(
            analysis_status=Analysis.FAILED,
            analysis_reason="gave_up",
            analysis_token=None,
            analysis_lease_until=None,
            updated_at=now,
        )
    )
