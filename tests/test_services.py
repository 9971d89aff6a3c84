"""Service rules, and the db tier: concurrent completes make exactly one transition (claims)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from tests.support.uploads import sent_record
from uploads import services, storage
from uploads.models import MediaFile

CONCURRENT_CALLS = 8


@pytest.mark.db
@pytest.mark.functional
@pytest.mark.django_db(transaction=True)
def test_concurrent_completes_make_exactly_one_transition(user, bucket, monkeypatch):
    record = sent_record(user)
    transitions: list[str] = []
    real_mark_uploaded = MediaFile.mark_uploaded
    real_look = storage.read_start
    start = threading.Barrier(CONCURRENT_CALLS)

    def counting_mark_uploaded(self, **outcome):
        saved = real_mark_uploaded(self, **outcome)
        if saved:
            transitions.append(outcome["etag"])
        return saved

    def slow_look(**kwargs):
        # Widen the window between reading the status and writing it, so a missing lock shows.
        found = real_look(**kwargs)
        threading.Event().wait(0.05)
        return found

    monkeypatch.setattr(MediaFile, "mark_uploaded", counting_mark_uploaded)
    monkeypatch.setattr(storage, "read_start", slow_look)

    def complete() -> str:
        try:
            start.wait()
            return services.complete_upload(
                media_file=MediaFile.objects.get(pk=record.pk), via="api"
            ).status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        statuses = list(pool.map(lambda _: complete(), range(CONCURRENT_CALLS)))

    assert statuses == ["uploaded"] * CONCURRENT_CALLS
    assert len(transitions) == 1, f"{len(transitions)} transitions on {connection.vendor}"
    assert MediaFile.objects.get(pk=record.pk).status == MediaFile.Status.UPLOADED


@pytest.mark.db
@pytest.mark.functional
@pytest.mark.django_db(transaction=True)
def test_concurrent_completes_over_http_never_error(user, bucket, live_server):
    """The same race through the real server: every caller gets 200, none a 500 or a lock error."""
    import requests
    from rest_framework.authtoken.models import Token

    record = sent_record(user)
    token, _ = Token.objects.get_or_create(user=user)
    url = f"{live_server.url}/api/media/{record.pk}/complete/"
    start = threading.Barrier(CONCURRENT_CALLS)

    def complete() -> int:
        start.wait()
        return requests.post(
            url, headers={"Authorization": f"Token {token.key}"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        codes = list(pool.map(lambda _: complete(), range(CONCURRENT_CALLS)))
    assert codes == [200] * CONCURRENT_CALLS


@pytest.mark.functional
@pytest.mark.django_db
def test_reverify_completes_a_pending_record_whose_object_arrived(user, bucket):
    record = sent_record(user)
    outcome = services.reverify(media_file=record)
    assert outcome.ok and outcome.message == "now uploaded"


@pytest.mark.functional
@pytest.mark.django_db
def test_reverify_reports_an_uploaded_record_whose_object_vanished(user, bucket):
    record = services.complete_upload(media_file=sent_record(user), via="api")
    bucket.client.delete_object(Bucket=bucket.name, Key=record.key)
    outcome = services.reverify(media_file=record)
    assert not outcome.ok and "missing" in outcome.message
    assert MediaFile.objects.get(pk=record.pk).status == MediaFile.Status.UPLOADED  # terminal


@pytest.mark.functional
@pytest.mark.django_db
def test_reverify_leaves_a_pending_record_without_object_pending(user, bucket):
    created = services.create_upload(owner=user, filename="a.mp4", content_type="video/mp4", size=3)
    outcome = services.reverify(media_file=created.media_file)
    assert outcome.ok and "still pending" in outcome.message
