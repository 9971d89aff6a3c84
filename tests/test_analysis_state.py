"""The record's analysis state (db tier, SQLite and PostgreSQL): one lease at a time, bounded
attempts with backoff, lost work handed on by the sweep, and failures that keep the upload."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from uploads import tasks
from uploads.analysis import run, state
from uploads.analysis import sweep as analysis_sweep
from uploads.analysis.reasons import MESSAGES, AnalysisFailed
from uploads.models import MediaFile
from uploads.signals import media_analyzed

pytestmark = [pytest.mark.db, pytest.mark.django_db(transaction=True)]

Analysis = MediaFile.Analysis


@pytest.fixture
def uploaded(user: Any) -> MediaFile:
    """An uploaded record whose analysis is due."""
    record_id = uuid.uuid4()
    return MediaFile.objects.create(
        id=record_id,
        owner=user,
        key=f"media/{record_id}.mp4",
        filename="clip.mp4",
        content_type="video/mp4",
        size=2048,
        status=MediaFile.Status.UPLOADED,
        analysis_status=Analysis.PENDING,
        analysis_due_at=timezone.now(),
    )


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[uuid.UUID, Any]]:
    """Record what would be handed to a worker (id, run_after) instead of enqueueing it."""
    calls: list[tuple[uuid.UUID, Any]] = []

    def enqueue(media_id: uuid.UUID, *, reanalysis: bool = False, run_after: Any = None) -> bool:
        calls.append((media_id, run_after))
        return True

    monkeypatch.setattr(tasks, "enqueue_analysis", enqueue)
    return calls


@pytest.fixture
def analyzed() -> Any:
    """Collect media_analyzed signals as (record id, analysis status, reanalysis)."""
    sent: list[tuple[str, str, bool]] = []

    def receive(sender: Any, media_file: MediaFile, reanalysis: bool, **kwargs: Any) -> None:
        sent.append((str(media_file.pk), media_file.analysis_status, reanalysis))

    media_analyzed.connect(receive, weak=False)
    yield sent
    media_analyzed.disconnect(receive)


def inspection_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Make every attempt's inspection of the file raise `error`."""

    def inspect(record: MediaFile) -> Any:
        raise error

    monkeypatch.setattr(run, "inspect", inspect)


def test_of_concurrent_starts_exactly_one_takes_the_lease(uploaded: MediaFile) -> None:
    workers = 8
    barrier = threading.Barrier(workers)

    def attempt(_: int) -> bool:
        try:
            barrier.wait()
            return state.start(uploaded.pk) is not None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        taken = list(pool.map(attempt, range(workers)))
    assert taken.count(True) == 1
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert (record.analysis_status, record.analysis_attempts) == ("running", 1)


def test_a_result_is_saved_only_under_the_lease_that_took_it(uploaded: MediaFile) -> None:
    first = state.start(uploaded.pk)
    assert first is not None
    MediaFile.objects.filter(pk=uploaded.pk).update(analysis_lease_until=timezone.now())
    second = state.start(uploaded.pk)  # the first worker's lease passed: another takes over
    assert second is not None
    assert not state.finish(first, metadata={"kind": "video"}, derived={})
    assert state.finish(second, metadata={"kind": "video", "width": 2}, derived={})
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert (record.analysis_status, record.metadata["width"]) == ("done", 2)
    assert state.start(uploaded.pk) is None  # done: nothing more to do


def test_a_passing_failure_is_retried_with_backoff_then_fails_with_its_reason(
    uploaded: MediaFile, monkeypatch: pytest.MonkeyPatch, enqueued: list[Any], analyzed: Any
) -> None:
    inspection_fails(monkeypatch, AnalysisFailed("storage"))
    dues = []
    for attempt in range(1, 6):
        MediaFile.objects.filter(pk=uploaded.pk).update(analysis_due_at=timezone.now())
        outcome = run.analyze(uploaded.pk)
        record = MediaFile.objects.get(pk=uploaded.pk)
        assert record.analysis_attempts == attempt
        if attempt < 5:
            assert (outcome, record.analysis_status) == ("retry", "pending")
            assert record.analysis_due_at is not None
            dues.append(record.analysis_due_at - timezone.now())
    assert (outcome, record.analysis_status, record.analysis_reason) == (
        "failed",
        "failed",
        "storage",
    )
    assert record.status == "uploaded"  # the upload stays whatever analysis does
    assert [round(due.total_seconds() / 30) for due in dues] == [1, 2, 4, 8]
    assert [run_after is not None for _, run_after in enqueued] == [True] * 4
    assert analyzed == [(str(uploaded.pk), "failed", False)]


def test_a_final_failure_is_not_retried(
    uploaded: MediaFile, monkeypatch: pytest.MonkeyPatch, enqueued: list[Any], analyzed: Any
) -> None:
    inspection_fails(monkeypatch, AnalysisFailed("too_many_pixels"))
    assert run.analyze(uploaded.pk) == "failed"
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert (record.analysis_status, record.analysis_reason) == ("failed", "too_many_pixels")
    assert enqueued == []
    assert len(analyzed) == 1


def test_an_unexpected_error_becomes_a_fixed_reason_without_its_text(
    uploaded: MediaFile, monkeypatch: pytest.MonkeyPatch, enqueued: list[Any], caplog: Any
) -> None:
    inspection_fails(monkeypatch, RuntimeError("GET https://bucket/x?X-Amz-Signature=abc failed"))
    assert run.analyze(uploaded.pk) == "retry"
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert record.analysis_reason == "internal"
    assert all("X-Amz-" not in message for message in MESSAGES.values())


def test_the_sweep_hands_on_lost_work_and_gives_up_after_the_attempts(
    uploaded: MediaFile, enqueued: list[Any]
) -> None:
    said: list[str] = []
    counts: list[str] = []
    # Pending for longer than LOST_AFTER (its task was lost), and running under a passed lease.
    late = timezone.now() - state.LOST_AFTER - timedelta(seconds=1)
    MediaFile.objects.filter(pk=uploaded.pk).update(analysis_due_at=late)
    analysis_sweep.requeue_lost(said.append, counts.append)
    assert [media_id for media_id, _ in enqueued] == [uploaded.pk]
    lease = state.start(uploaded.pk)
    assert lease is not None
    MediaFile.objects.filter(pk=uploaded.pk).update(
        analysis_lease_until=timezone.now() - timedelta(seconds=1), analysis_attempts=5
    )
    analysis_sweep.requeue_lost(said.append, counts.append)
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert (record.analysis_status, record.analysis_reason) == ("failed", "gave_up")
    assert counts == ["analysis requeued", "analysis failed"]


def test_a_fresh_pending_record_is_left_to_its_task(
    uploaded: MediaFile, enqueued: list[Any]
) -> None:
    analysis_sweep.requeue_lost(lambda line: None, lambda kind: None)
    assert enqueued == []


def uploaded_now(user: Any) -> MediaFile:
    """A pending record just verified: claimed, then marked uploaded; as saved."""
    record = MediaFile.objects.create(
        owner=user,
        key=f"incoming/{uuid.uuid4()}.mp4",
        filename="clip.mp4",
        content_type="video/mp4",
        size=10,
        claim_token=(token := uuid.uuid4()),
    )
    assert record.analysis_status == "none"
    assert record.mark_uploaded(key=f"media/{record.pk}.mp4", etag="e", claim_token=token)
    return MediaFile.objects.get(pk=record.pk)


def test_the_transition_to_uploaded_asks_for_analysis(user: Any) -> None:
    saved = uploaded_now(user)
    assert (saved.analysis_status, saved.analysis_attempts) == ("pending", 0)
    assert saved.analysis_due_at == saved.uploaded_at


def test_with_analysis_off_nothing_is_owed(user: Any, settings: Any) -> None:
    settings.UPLOAD_ANALYSIS = False
    assert uploaded_now(user).analysis_status == "none"


def test_request_starts_again_from_the_first_attempt(uploaded: MediaFile) -> None:
    MediaFile.objects.filter(pk=uploaded.pk).update(
        analysis_status=Analysis.FAILED, analysis_attempts=5, analysis_reason="timeout"
    )
    assert state.request(MediaFile.objects.filter(pk=uploaded.pk)) == 1
    record = MediaFile.objects.get(pk=uploaded.pk)
    assert (record.analysis_status, record.analysis_attempts, record.analysis_reason) == (
        "pending",
        0,
        "",
    )
