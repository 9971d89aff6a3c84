"""Claims (db tier, SQLite and PostgreSQL): one worker at a time holds a pending record, and a
transition is written only while its worker's claim still holds."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from uploads import claims
from uploads.errors import Busy
from uploads.models import MediaFile

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]

WORKERS = 8


@pytest.fixture
def pending(user) -> MediaFile:
    """A pending record nobody holds."""
    return MediaFile.objects.create(
        owner=user,
        key=f"incoming/{uuid.uuid4()}.mp4",
        filename="clip.mp4",
        content_type="video/mp4",
        size=2048,
        expires_at=timezone.now() + timedelta(hours=1),
    )


def test_of_concurrent_claims_exactly_one_is_taken(pending):
    start = threading.Barrier(WORKERS)

    def attempt(_: int) -> str:
        try:
            start.wait()
            return str(claims.claim(MediaFile.objects.get(pk=pending.pk), wait=0).token)
        except Busy:
            return "busy"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(attempt, range(WORKERS)))

    taken = [outcome for outcome in outcomes if outcome != "busy"]
    assert len(taken) == 1, outcomes
    assert str(MediaFile.objects.get(pk=pending.pk).claim_token) == taken[0]


def test_a_transition_is_written_only_under_the_claim_that_holds(pending):
    first = claims.claim(pending, wait=0)
    # The lease runs out (a crashed worker, say) and another worker takes the record over.
    MediaFile.objects.filter(pk=pending.pk).update(claimed_until=timezone.now())
    second = claims.claim(MediaFile.objects.get(pk=pending.pk), wait=0)
    assert second.token not in (None, first.token)

    assert first.token is not None and second.token is not None
    assert not first.record.mark_failed(reason="stale worker", claim_token=first.token)
    stored = MediaFile.objects.get(pk=pending.pk)
    assert (stored.status, stored.claim_token) == (MediaFile.Status.PENDING, second.token)

    assert second.record.mark_uploaded(key="media/x.mp4", etag='"e"', claim_token=second.token)
    stored = MediaFile.objects.get(pk=pending.pk)
    assert (stored.status, stored.key, stored.claim_token, stored.claimed_until) == (
        MediaFile.Status.UPLOADED,
        "media/x.mp4",
        None,
        None,
    )


def test_a_terminal_record_is_returned_unclaimed(pending):
    held = claims.claim(pending, wait=0)
    assert held.token is not None
    assert held.record.mark_aborted(claim_token=held.token)

    again = claims.claim(pending, wait=0)
    assert again.token is None and again.record.status == MediaFile.Status.ABORTED
    assert MediaFile.objects.get(pk=pending.pk).claim_token is None


def test_a_held_record_is_busy_until_its_claim_is_released(pending):
    held = claims.claim(pending, wait=0)
    with pytest.raises(Busy):
        claims.claim(MediaFile.objects.get(pk=pending.pk), wait=0)
    claims.release(held)
    assert claims.claim(MediaFile.objects.get(pk=pending.pk), wait=0).token is not None


def test_claiming_a_deleted_record_raises_does_not_exist(pending):
    MediaFile.objects.filter(pk=pending.pk).delete()
    with pytest.raises(MediaFile.DoesNotExist):
        claims.claim(pending, wait=0)


def test_releasing_a_stale_claim_leaves_the_live_claim_of_another_worker(pending):
    stale = claims.claim(pending, wait=0)
    # Its lease ran out (the worker stalled); another worker claims the record.
    MediaFile.objects.filter(pk=pending.pk).update(claimed_until=timezone.now())
    live = claims.claim(MediaFile.objects.get(pk=pending.pk), wait=0)
    assert live.token is not None and live.token != stale.token
    claims.release(stale)  # the stalled worker wakes up and gives back what it no longer holds
    row = MediaFile.objects.get(pk=pending.pk)
    assert row.claim_token == live.token
    assert row.claimed_until is not None and row.claimed_until > timezone.now()
    with pytest.raises(Busy):
        claims.claim(row, wait=0)
