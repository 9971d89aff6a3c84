"""What limits API clients: throttles (429 + Retry-After), quotas (403 quota_exceeded), and
idempotent create (the same Idempotency-Key gives the same record)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.uploads import send
from uploads import idempotency, services, sweeps
from uploads.errors import QuotaExceeded
from uploads.models import IdempotencyKey, MediaFile, QuotaHold

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

MiB = 1024**2


def create(api, size: int = 2048, key: str | None = None, **declared: Any) -> Any:
    """POST a declaration, with an Idempotency-Key when given."""
    body = {"filename": "clip.mp4", "content_type": "video/mp4", "size": size, **declared}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post("/api/media/", body, format="json", **headers)


# ---------------------------------------------------------------- throttles


def test_creates_beyond_the_rate_get_429_with_retry_after(api, bucket, settings):
    settings.UPLOAD_THROTTLE_CREATE = "3/minute"
    assert [create(api).status_code for _ in range(3)] == [201, 201, 201]
    refused = create(api)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert MediaFile.objects.count() == 3


def test_authorize_and_part_signing_are_throttled_per_user(api, other_api, bucket, settings):
    settings.UPLOAD_THROTTLE_AUTHORIZE = "2/minute"
    settings.UPLOAD_THROTTLE_PARTS = "2/minute"
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    single = create(api).json()["id"]
    parts = create(api, size=6 * MiB).json()["id"]
    codes = [api.post(f"/api/media/{single}/authorize/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    signed = [
        api.post(f"/api/media/{parts}/parts/", {"part_numbers": [1]}).status_code for _ in range(3)
    ]
    assert signed == [200, 200, 429]
    assert api.get(f"/api/media/{parts}/parts/").status_code == 200  # listing is not throttled
    theirs = create(other_api).json()["id"]
    assert other_api.post(f"/api/media/{theirs}/authorize/").status_code == 200  # per user


def test_a_rate_can_be_turned_off(api, bucket, settings):
    settings.UPLOAD_THROTTLE_CREATE = ""
    assert {create(api).status_code for _ in range(5)} == {201}


# ---------------------------------------------------------------- quotas


def test_bytes_over_the_quota_are_refused_before_anything_is_signed(api, bucket, settings):
    settings.UPLOAD_USER_QUOTA_BYTES = 10 * MiB
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    assert create(api, size=6 * MiB).status_code == 201
    refused = create(api, size=5 * MiB)
    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"
    assert "only 4.0\xa0MB of your 10.0\xa0MB is left" in refused.json()["detail"]
    uploads = bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])
    assert len(uploads) == 1  # the refused one started nothing in the bucket
    assert MediaFile.objects.count() == 1


def test_the_bytes_of_finished_uploads_still_count(api, bucket, settings):
    settings.UPLOAD_USER_QUOTA_BYTES = 3000
    created = send(api, media_bytes("video/mp4", 2000))
    assert api.post(f"/api/media/{created['id']}/complete/").json()["status"] == "uploaded"
    refused = create(api, size=2000)
    assert refused.status_code == 403 and refused.json()["code"] == "quota_exceeded"
    assert create(api, size=1000).status_code == 201


def test_a_cancelled_post_upload_holds_its_bytes_until_its_policy_is_dead(api, bucket, settings):
    settings.UPLOAD_USER_QUOTA_BYTES = 3000
    first = create(api, size=2000).json()
    assert create(api, size=2000).status_code == 403
    api.post(f"/api/media/{first['id']}/abort/")
    [hold] = QuotaHold.objects.all()
    deadline = MediaFile.objects.get(pk=first["id"]).expires_at
    assert deadline is not None and (hold.bytes, hold.until) == (2000, deadline + timedelta(0, 300))
    assert hold.key == f"incoming/{first['id']}.mp4"
    refused = create(api, size=2000)  # the policy could still POST 2000 bytes
    assert refused.status_code == 403
    assert "2.0\xa0KB of cancelled or deleted uploads comes free by" in refused.json()["detail"]
    assert create(api, size=1000).status_code == 201  # but not more than that is held
    QuotaHold.objects.update(until=timezone.now())  # S3 accepts no POST with that policy now
    assert create(api, size=2000).status_code == 201  # the 1000 pending above, and these 2000


def test_a_deleted_post_upload_holds_its_bytes_too(
    api, bucket, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_USER_QUOTA_BYTES = 3000
    created = send(api, media_bytes("video/mp4", 2000))
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    assert QuotaHold.objects.get().bytes == 2000
    assert create(api, size=2000).status_code == 403
    QuotaHold.objects.update(until=timezone.now())
    assert create(api, size=2000).status_code == 201


def test_once_the_policy_is_dead_expire_deletes_the_late_copy_and_the_hold(api, bucket, settings):
    body = media_bytes("video/mp4", 2000)
    created = create(api, size=len(body)).json()
    api.post(f"/api/media/{created['id']}/abort/")
    assert post_to_s3(created["upload"], body).status_code == 204  # the policy still writes
    key = QuotaHold.objects.get().key
    assert key in set(bucket.keys())
    sweeps.expire(say=lambda line: None)
    assert key in set(bucket.keys()) and QuotaHold.objects.exists()  # not before its time
    QuotaHold.objects.update(until=timezone.now())
    tally = sweeps.expire(say=lambda line: None)
    assert tally.counts["released"] == 1
    assert key not in set(bucket.keys()) and not QuotaHold.objects.exists()


def test_failed_and_cancelled_multipart_uploads_give_their_space_back(api, bucket, settings):
    settings.UPLOAD_USER_QUOTA_BYTES = 3000
    failed = send(api, b"not a video at all" * 100)  # 1800 bytes that are no MP4
    assert api.post(f"/api/media/{failed['id']}/complete/").json()["status"] == "failed"
    assert create(api, size=2000).status_code == 201  # nothing held for a failed upload
    settings.UPLOAD_USER_QUOTA_BYTES = 20 * MiB
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    big = create(api, size=18 * MiB).json()
    assert create(api, size=6 * MiB).status_code == 403
    api.post(f"/api/media/{big['id']}/abort/")  # S3 refuses the parts of an aborted upload
    assert not QuotaHold.objects.exists()
    assert create(api, size=6 * MiB).status_code == 201


def test_too_many_pending_uploads_are_refused(api, other_api, bucket, settings):
    settings.UPLOAD_USER_MAX_PENDING = 2
    assert [create(api).status_code for _ in range(2)] == [201, 201]
    refused = create(api)
    assert refused.status_code == 403
    assert "2 uploads in progress" in refused.json()["detail"]
    assert create(other_api).status_code == 201  # someone else's count


def test_a_finished_upload_frees_a_pending_slot(api, bucket, settings):
    settings.UPLOAD_USER_MAX_PENDING = 1
    created = send(api, media_bytes("video/mp4", 2048))
    assert create(api).status_code == 403
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    assert create(api).status_code == 201


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_both_slip_under_the_quota(user, bucket, settings):
    settings.UPLOAD_USER_QUOTA_BYTES = 10_000
    start = threading.Barrier(6)

    def attempt(_: int) -> bool:
        try:
            start.wait()
            services.create_upload(
                owner=user, filename="a.mp4", content_type="video/mp4", size=4000
            )
            return True
        except QuotaExceeded:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(attempt, range(6)))
    assert made.count(True) == 2
    assert sum(MediaFile.objects.values_list("size", flat=True)) == 8000


# ---------------------------------------------------------------- idempotent create


def test_the_same_key_and_body_give_the_same_record(api, bucket):
    key = str(uuid.uuid4())
    first = create(api, key=key)
    again = create(api, key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["upload"]["method"] == "post"  # pending: a fresh authorization
    assert MediaFile.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api, bucket):
    key = str(uuid.uuid4())
    assert create(api, key=key).status_code == 201
    refused = create(api, key=key, size=4096)
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_key_reused"
    assert MediaFile.objects.count() == 1


def test_keys_are_per_user(api, other_api, bucket):
    key = str(uuid.uuid4())
    mine, theirs = create(api, key=key).json(), create(other_api, key=key).json()
    assert mine["id"] != theirs["id"]


def test_a_finished_or_expired_record_comes_back_without_authorization(api, bucket):
    key = str(uuid.uuid4())
    body = media_bytes("video/mp4", 2048)
    created = send(api, body)  # without a key, to get the policy
    IdempotencyKey.objects.create(
        owner=MediaFile.objects.get().owner,
        key=key,
        fingerprint=idempotency.fingerprint(
            filename="clip.mp4", content_type="video/mp4", size=len(body), field=""
        ),
        media_file=MediaFile.objects.get(),
    )
    api.post(f"/api/media/{created['id']}/complete/")
    finished = create(api, size=len(body), key=key).json()
    assert (finished["status"], finished["upload"]) == ("uploaded", None)

    late_key = str(uuid.uuid4())
    pending = create(api, key=late_key).json()
    MediaFile.objects.filter(pk=pending["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = create(api, key=late_key).json()
    assert (expired["id"], expired["upload"]) == (pending["id"], None)


def test_keys_are_forgotten_after_a_day(api, bucket):
    key = str(uuid.uuid4())
    first = create(api, key=key).json()
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=1, seconds=1))
    second = create(api, key=key).json()
    assert second["id"] != first["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency.forget_old() == 1


def test_forgetting_stale_keys_never_deletes_a_recent_use(api, other_api, bucket):
    key = str(uuid.uuid4())
    mine = create(api, key=key).json()
    theirs = create(other_api, key=key).json()  # bob's recent use of the same key
    IdempotencyKey.objects.filter(media_file_id=mine["id"]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    again = create(api, key=key).json()  # alice's key is stale: a new record, stored anew
    assert again["id"] != mine["id"]
    assert idempotency.forget_old() == 0  # alice's stale use was replaced; nothing else is old
    remembered = {str(row.media_file_id) for row in IdempotencyKey.objects.filter(key=key)}
    assert remembered == {again["id"], theirs["id"]}
    assert create(other_api, key=key).json()["id"] == theirs["id"]


def test_storing_a_key_again_never_deletes_its_recent_use(api, bucket, user):
    """A concurrent repeat that got past the lookup must fail on the constraint and replay the
    recent use, not replace it with a second record for one key."""
    key = str(uuid.uuid4())
    first = create(api, key=key).json()
    second = create(api).json()  # another record the racing request would have made
    with pytest.raises(IntegrityError), transaction.atomic():
        idempotency.remember(
            owner=user,
            key=key,
            digest="d" * 64,
            media_file=MediaFile.objects.get(pk=second["id"]),
            stale=True,
        )
    assert str(IdempotencyKey.objects.get(owner=user, key=key).media_file_id) == first["id"]


def test_a_repeat_is_answered_before_the_pending_limit(api, bucket, settings):
    """(A repeat does count against the create rate: see test_throttles.)"""
    settings.UPLOAD_THROTTLE_CREATE = ""
    settings.UPLOAD_USER_MAX_PENDING = 1
    key = str(uuid.uuid4())
    first = create(api, key=key).json()
    assert create(api).status_code == 403  # a new create is over the pending limit...
    again = create(api, key=key)  # ...a repeat is no new upload in progress
    assert again.status_code == 201 and again.json()["id"] == first["id"]


def test_an_unusable_key_is_a_400(api, bucket):
    refused = create(api, key="x" * 256)
    assert refused.status_code == 400
    assert "idempotency_key" in refused.json()["fields"]


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_one_key_make_one_record(user, bucket):
    start = threading.Barrier(6)
    key = str(uuid.uuid4())

    def attempt(_: int) -> str:
        try:
            start.wait()
            created = services.create_upload(
                owner=user,
                filename="a.mp4",
                content_type="video/mp4",
                size=2048,
                idempotency_key=key,
            )
            return str(created.media_file.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(attempt, range(6)))
    assert len(ids) == 1
    assert MediaFile.objects.count() == 1
