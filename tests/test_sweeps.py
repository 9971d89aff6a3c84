"""reconcile_uploads and expire_uploads on a moto S3: what each settles, deletes and reports."""

import io
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.uploads import declare, send
from uploads import sweeps
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional]

MiB = 1024**2


def run(command: str, *args: str) -> str:
    """Run a management command and return what it printed."""
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def small_parts(settings):
    """Multipart from 1 MiB up, in 5 MiB parts (S3's minimum)."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB


def send_parts(api, created: dict[str, Any], body: bytes, numbers: list[int]) -> None:
    """PUT these parts of a multipart upload through signed URLs."""
    size = created["upload"]["part_size"]
    signed = api.post(f"/api/media/{created['id']}/parts/", {"part_numbers": numbers}).json()
    for part in signed["parts"]:
        start = (part["part_number"] - 1) * size
        chunk = body[start : start + part["size"]]
        assert requests.put(part["url"], data=chunk, timeout=30).status_code == 200


def open_uploads(bucket) -> list[str]:
    """Return the keys of the multipart uploads the bucket holds open."""
    listing = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    return [item["Key"] for item in listing.get("Uploads", [])]


def open_upload_ids(bucket) -> list[tuple[str, str]]:
    """Return the (key, upload id) of every multipart upload the bucket holds open."""
    listing = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    return [(item["Key"], item["UploadId"]) for item in listing.get("Uploads", [])]


def overdue(media_id: str) -> None:
    """Put a record's deadline two hours in the past (beyond the default grace)."""
    MediaFile.objects.filter(pk=media_id).update(expires_at=timezone.now() - timedelta(hours=2))


# ---------------------------------------------------------------- reconcile


@pytest.mark.django_db(transaction=True)
def test_reconcile_completes_lost_callbacks_of_both_kinds(api, bucket, small_parts):
    post = send(api, media_bytes("video/mp4", 2048))
    body = media_bytes("video/mp4", 6 * MiB)
    parts = declare(api, body)
    send_parts(api, parts, body, [1, 2])
    waiting = declare(api, media_bytes("video/mp4", 2048))

    printed = run("reconcile_uploads")

    assert f"completed {post['id']}" in printed
    assert f"completed {parts['id']}" in printed
    statuses = dict(MediaFile.objects.values_list("id", "status"))
    assert statuses[uuid.UUID(post["id"])] == "uploaded"
    assert statuses[uuid.UUID(parts["id"])] == "uploaded"
    assert statuses[uuid.UUID(waiting["id"])] == "pending"
    assert bucket.read(f"media/{parts['id']}.mp4") == body
    assert run("reconcile_uploads").strip() == "reconcile_uploads: nothing to do"


@pytest.mark.django_db(transaction=True)
def test_reconcile_fails_a_lost_callback_whose_bytes_are_wrong(api, bucket):
    created = send(api, b"<html><script>x</script></html>" + b" " * 2000)
    assert f"failed {created['id']}" in run("reconcile_uploads")
    assert MediaFile.objects.get().status == MediaFile.Status.FAILED
    assert bucket.keys() == []


@pytest.mark.django_db
def test_reconcile_removes_stray_scratch_objects_after_the_grace_period(api, bucket):
    orphan = f"incoming/{uuid.uuid4()}.mp4"
    bucket.put(orphan, b"nobody's", "video/mp4")
    aborted = declare(api, media_bytes("video/mp4", 2048))
    api.post(f"/api/media/{aborted['id']}/abort/")
    post_to_s3(aborted["upload"], media_bytes("video/mp4", 2048))  # late, with a valid policy

    assert "deleted" not in run("reconcile_uploads")  # younger than the default hour
    assert sorted(bucket.keys()) == sorted([orphan, aborted["key"]])

    printed = run("reconcile_uploads", "--grace", "0")
    assert f"deleted stray scratch object {orphan}" in printed
    assert f"deleted stray scratch object {aborted['key']}" in printed
    assert bucket.keys() == []


@pytest.mark.django_db
def test_reconcile_moves_records_verified_before_the_two_key_spaces(api, bucket):
    body = media_bytes("video/mp4", 2048)
    legacy = declare(api, body)
    bucket.put(legacy["key"], body, "video/mp4")
    etag = bucket.client.head_object(Bucket=bucket.name, Key=legacy["key"])["ETag"].strip('"')
    MediaFile.objects.filter(pk=legacy["id"]).update(status=MediaFile.Status.UPLOADED, etag=etag)

    printed = run("reconcile_uploads", "--grace", "0")

    target = f"media/{legacy['id']}.mp4"
    assert f"moved {legacy['id']} from {legacy['key']} to {target}" in printed
    assert bucket.keys() == [target]
    assert bucket.read(target) == body
    assert MediaFile.objects.get().key == target


@pytest.mark.django_db
def test_reconcile_keeps_what_pending_records_await(api, bucket):
    waiting = send(api, media_bytes("video/mp4", 2048))
    # Another worker is settling it right now: this sweep neither completes nor deletes anything.
    MediaFile.objects.filter(pk=waiting["id"]).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    run("reconcile_uploads", "--grace", "0")
    assert bucket.keys() == [waiting["key"]]
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


@pytest.mark.django_db
def test_reconcile_aborts_multipart_uploads_no_live_record_owns(api, bucket, small_parts):
    live = declare(api, media_bytes("video/mp4", 6 * MiB))
    cancelled = declare(api, media_bytes("video/mp4", 6 * MiB))
    record = MediaFile.objects.get(pk=cancelled["id"])
    MediaFile.objects.filter(pk=record.pk).update(status=MediaFile.Status.ABORTED)
    orphan_key = f"media/{uuid.uuid4()}.mp4"
    bucket.client.create_multipart_upload(Bucket=bucket.name, Key=orphan_key)

    printed = run("reconcile_uploads", "--grace", "0")

    assert f"aborted orphan multipart upload of {orphan_key}" in printed
    assert f"aborted orphan multipart upload of {record.key}" in printed
    assert open_uploads(bucket) == [live["key"]]


@pytest.mark.django_db
def test_reconcile_aborts_another_upload_left_on_a_pending_records_key(api, bucket, small_parts):
    declare(api, media_bytes("video/mp4", 6 * MiB))
    record = MediaFile.objects.get()
    bucket.client.create_multipart_upload(Bucket=bucket.name, Key=record.key)

    printed = run("reconcile_uploads", "--grace", "0")

    assert f"aborted orphan multipart upload of {record.key}" in printed
    assert open_upload_ids(bucket) == [(record.key, record.upload_id)]
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


@pytest.mark.django_db
def test_reconcile_aborts_orphan_multipart_uploads_under_the_scratch_prefix(api, bucket):
    waiting = declare(api, media_bytes("video/mp4", 2048))  # a POST upload: it has no upload id
    orphan = f"incoming/{uuid.uuid4()}.mp4"
    for key in (orphan, waiting["key"]):
        bucket.client.create_multipart_upload(Bucket=bucket.name, Key=key)

    printed = run("reconcile_uploads", "--grace", "0")

    assert f"aborted orphan multipart upload of {orphan}" in printed
    assert f"aborted orphan multipart upload of {waiting['key']}" in printed
    assert open_uploads(bucket) == []


@pytest.mark.django_db
def test_reconcile_does_not_report_the_media_object_of_a_promotion_in_flight(api, bucket):
    created = send(api, media_bytes("video/mp4", 2048))
    # Another worker has verified it and copied it to its media key, and is about to settle it.
    MediaFile.objects.filter(pk=created["id"]).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    target = f"media/{created['id']}.mp4"
    bucket.client.copy_object(
        Bucket=bucket.name, Key=target, CopySource={"Bucket": bucket.name, "Key": created["key"]}
    )

    printed = run("reconcile_uploads", "--grace", "0")

    assert "REPORT" not in printed
    assert sorted(bucket.keys()) == sorted([created["key"], target])


@pytest.mark.django_db(transaction=True)
def test_reconcile_reports_but_never_deletes_media_problems(api, bucket):
    stray = f"media/{uuid.uuid4()}.mp4"
    bucket.put(stray, b"who made this", "video/mp4")
    created = send(api, media_bytes("video/mp4", 2048))
    run("reconcile_uploads")  # completes it: the record now serves media/<id>.mp4
    record = MediaFile.objects.get()
    bucket.client.delete_object(Bucket=bucket.name, Key=record.key)

    printed = run("reconcile_uploads", "--grace", "0")

    assert f"REPORT media object {stray} belongs to no record (not deleted)" in printed
    assert f"REPORT uploaded record {record.pk} has no object at media/{created['id']}.mp4" in (
        printed
    )
    assert bucket.keys() == [stray]


# ---------------------------------------------------------------- expire


@pytest.mark.django_db
def test_expire_aborts_a_half_done_multipart_upload(api, bucket, small_parts):
    body = media_bytes("video/mp4", 11 * MiB)
    created = declare(api, body)
    send_parts(api, created, body, [1])
    overdue(created["id"])

    printed = run("expire_uploads")

    assert f"expired {created['id']}" in printed
    assert MediaFile.objects.get().status == MediaFile.Status.EXPIRED
    assert open_uploads(bucket) == []
    assert bucket.keys() == []
    assert run("expire_uploads").strip() == "expire_uploads: nothing to do"


@pytest.mark.django_db(transaction=True)
def test_expire_first_completes_a_file_that_arrived(api, bucket):
    created = send(api, media_bytes("video/mp4", 2048))
    overdue(created["id"])
    assert f"completed {created['id']}" in run("expire_uploads")
    assert MediaFile.objects.get().status == MediaFile.Status.UPLOADED


@pytest.mark.django_db
def test_expire_leaves_records_within_their_deadline_and_grace(api, bucket):
    on_time = declare(api, media_bytes("video/mp4", 2048))
    late = declare(api, media_bytes("video/mp4", 2048))
    late_by = timedelta(minutes=6, seconds=30)  # past the 5 minutes of clock skew and 1 of grace
    MediaFile.objects.filter(pk=late["id"]).update(expires_at=timezone.now() - late_by)
    assert run("expire_uploads").strip() == "expire_uploads: nothing to do"
    assert run("expire_uploads", "--grace", "120").strip() == "expire_uploads: nothing to do"
    assert f"expired {late['id']}" in run("expire_uploads", "--grace", "60")
    assert MediaFile.objects.get(pk=on_time["id"]).status == MediaFile.Status.PENDING


@pytest.mark.django_db
def test_a_sweep_that_cannot_reach_s3_fails_loudly(api, bucket, settings):
    overdue(declare(api, media_bytes("video/mp4", 2048))["id"])
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="could not be checked"):
        run("expire_uploads")
    with pytest.raises(CommandError, match="Storage error"):
        run("reconcile_uploads")
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING
    assert MediaFile.objects.get().claim_token is None


# ---------------------------------------------------------------- several machines at once


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_settle_each_record_once(api, bucket, monkeypatch):
    ids = [declare(api, media_bytes("video/mp4", 2048))["id"] for _ in range(6)]
    for media_id in ids:
        overdue(media_id)
    expirations: list[str] = []
    real = MediaFile.mark_expired
    lock = threading.Lock()

    def counting(self, **claim):
        saved = real(self, **claim)
        if saved:
            with lock:
                expirations.append(str(self.pk))
        return saved

    monkeypatch.setattr(MediaFile, "mark_expired", counting)
    start = threading.Barrier(3)

    def sweep(_: int) -> dict[str, int]:
        try:
            start.wait()
            return sweeps.expire(say=lambda line: None).counts
        finally:
            connections.close_all()

    with ThreadPoolExecutor(3) as pool:
        tallies = list(pool.map(sweep, range(3)))

    assert sorted(expirations) == sorted(ids)
    assert sum(tally.get("expired", 0) for tally in tallies) == len(ids)
    assert set(MediaFile.objects.values_list("status", flat=True)) == {"expired"}


# ---------------------------------------------------------------- at scale: pages and leases


def uploaded(user, media_id: uuid.UUID, extension: str = ".mp4") -> MediaFile:
    """An uploaded record serving media/<id><extension> (its object is the caller's business)."""
    return MediaFile.objects.create(
        id=media_id,
        key=f"media/{media_id}{extension}",
        owner=user,
        filename=f"clip{extension}",
        content_type="video/mp4",
        size=3,
        status=MediaFile.Status.UPLOADED,
        expires_at=timezone.now(),
    )


@pytest.fixture
def s3_calls(bucket) -> Iterator[dict[str, int]]:
    """Count the app's S3 calls by operation while the test runs."""
    from uploads import storage

    calls: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    events = storage.get_client().meta.events
    events.register("before-call.s3", count, unique_id="test-sweeps-count")
    yield calls
    events.unregister("before-call.s3", unique_id="test-sweeps-count")


@pytest.fixture
def tiny_pages(monkeypatch):
    """Listings of 3 entries a page, so a handful of objects spans several pages."""
    from uploads.storage import objects

    monkeypatch.setattr(objects, "LIST_PAGE_SIZE", 3)


@pytest.mark.django_db
def test_reconcile_checks_records_against_a_listing_page_by_page(user, bucket, tiny_pages):
    ids = sorted(uuid.uuid4() for _ in range(12))
    for media_id in ids:
        uploaded(user, media_id)
    missing = {ids[2], ids[3], ids[8], ids[11]}  # inside a page, at page ends, the very last
    for media_id in ids:
        if media_id not in missing:
            bucket.put(f"media/{media_id}.mp4", b"abc", "video/mp4")
    # A second object of one id, listed right after its record's own (maybe on the next page).
    bucket.put(f"media/{ids[5]}.webm", b"abc", "video/webm")
    bucket.put("media/zz-not-ours.txt", b"abc", "text/plain")

    printed = run("reconcile_uploads", "--grace", "0")

    reported = {line for line in printed.splitlines() if "has no object" in line}
    assert reported == {
        f"REPORT uploaded record {media_id} has no object at media/{media_id}.mp4"
        for media_id in missing
    }
    assert f"REPORT media object media/{ids[5]}.webm belongs to no record" in printed
    assert "REPORT media object media/zz-not-ours.txt belongs to no record" in printed


@pytest.mark.django_db
def test_reconcile_reports_every_uploaded_record_of_an_empty_bucket(user, bucket, tiny_pages):
    ids = [uuid.uuid4() for _ in range(5)]
    for media_id in ids:
        uploaded(user, media_id)
    printed = run("reconcile_uploads", "--grace", "0")
    assert printed.count("has no object") == 5


@pytest.mark.django_db
def test_reconcile_does_not_judge_a_record_uploaded_after_it_started(user, bucket):
    # Settled by another worker while this sweep walked: the listing may predate its object.
    late = uploaded(user, uuid.uuid4())
    MediaFile.objects.filter(pk=late.pk).update(uploaded_at=timezone.now() + timedelta(minutes=1))
    gone = uploaded(user, uuid.uuid4())
    printed = run("reconcile_uploads", "--grace", "0")
    assert f"REPORT uploaded record {gone.pk} has no object" in printed
    assert str(late.pk) not in printed


@pytest.mark.django_db
def test_reconcile_deletes_stray_scratch_objects_a_page_per_call(bucket, tiny_pages, s3_calls):
    strays = [f"incoming/{uuid.uuid4()}.mp4" for _ in range(7)]
    for key in strays:
        bucket.put(key, b"nobody's", "video/mp4")
    s3_calls.clear()

    printed = run("reconcile_uploads", "--grace", "0")

    assert printed.count("deleted stray scratch object") == 7
    assert bucket.keys() == []
    assert s3_calls["DeleteObjects"] == 3  # pages of 3, 3 and 1
    assert "DeleteObject" not in s3_calls


@pytest.mark.django_db
def test_a_second_reconcile_leaves_the_bucket_walk_to_the_one_walking_it(bucket):
    from uploads import leases

    stray = f"incoming/{uuid.uuid4()}.mp4"
    bucket.put(stray, b"nobody's", "video/mp4")
    with leases.held("reconcile") as lease:
        assert lease is not None
        printed = run("reconcile_uploads", "--grace", "0")
        assert "another reconcile run is walking the bucket" in printed
        assert "its lease runs to" in printed
        assert bucket.keys() == [stray]
        with leases.held("reconcile") as second:
            assert second is None
    assert "deleted stray scratch object" in run("reconcile_uploads", "--grace", "0")


@pytest.mark.django_db
def test_a_stalled_walk_loses_its_lease_to_the_next_run(bucket):
    from uploads import leases
    from uploads.models import SweepLease

    with leases.held("expire") as first:
        assert first is not None
        SweepLease.objects.update(until=timezone.now() - timedelta(seconds=1))  # it stalled
        with leases.held("expire") as second:
            assert second is not None
            with pytest.raises(leases.LeaseLost):
                first.renew()
            second.renew()
    assert not SweepLease.objects.exists()


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_concurrent_reconciles_do_nothing_twice(api, bucket, small_parts):
    arrived = [send(api, media_bytes("video/mp4", 2048))["id"] for _ in range(4)]
    strays = [f"incoming/{uuid.uuid4()}.mp4" for _ in range(5)]
    for key in strays:
        bucket.put(key, b"nobody's", "video/mp4")
    orphans = [f"media/{uuid.uuid4()}.mp4" for _ in range(3)]
    for key in orphans:
        bucket.client.create_multipart_upload(Bucket=bucket.name, Key=key)
    start = threading.Barrier(3)

    def sweep(_: int) -> dict[str, int]:
        try:
            start.wait()
            return sweeps.reconcile(grace=timedelta(0), say=lambda line: None).counts
        finally:
            connections.close_all()

    with ThreadPoolExecutor(3) as pool:
        tallies = list(pool.map(sweep, range(3)))

    def total(kind: str) -> int:
        return sum(tally.get(kind, 0) for tally in tallies)

    assert (total("completed"), total("deleted"), total("aborted")) == (4, 5, 3)
    assert not any(tally.get("errors") for tally in tallies)
    assert set(MediaFile.objects.values_list("status", flat=True)) == {"uploaded"}
    assert sorted(bucket.keys()) == sorted(f"media/{media_id}.mp4" for media_id in arrived)
    assert open_uploads(bucket) == []
