"""Completion against a moto S3: promotion to the media key, content checks, deadlines, S3 trouble,
races and the `media_uploaded` signal."""

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.support.fake_s3 import failing_s3, stalled_s3
from tests.support.media import media_bytes
from tests.support.uploads import declare, send, sent_record
from uploads import services, storage
from uploads.models import MediaFile
from uploads.signals import media_uploaded

pytestmark = [pytest.mark.functional]

MiB = 1024**2


# ---------------------------------------------------------------- promotion to the media key


@pytest.mark.django_db(transaction=True)
def test_a_verified_post_upload_is_promoted_and_its_scratch_copy_deleted(api, bucket, signals):
    body = media_bytes("video/mp4", 4096)
    created = send(api, body)
    assert created["key"] == f"incoming/{created['id']}.mp4"
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 200, completed.content
    record = completed.json()
    assert record["key"] == f"media/{created['id']}.mp4"
    assert bucket.keys() == [record["key"]]
    assert bucket.read(record["key"]) == body
    assert requests.get(record["download_url"], timeout=10).content == body
    assert signals == [(created["id"], "api")]


@pytest.mark.django_db
def test_multipart_uploads_go_straight_to_the_media_key(api, bucket, settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    created = declare(api, media_bytes("video/webm", 2 * MiB), content_type="video/webm")
    assert created["upload"]["method"] == "multipart"
    assert created["key"] == f"media/{created['id']}.webm"


@pytest.mark.django_db
def test_the_key_extension_comes_from_the_declared_type_not_the_filename(api, bucket):
    created = declare(
        api, media_bytes("image/png", 1024), filename="page.html", content_type="image/png"
    )
    assert created["key"] == f"incoming/{created['id']}.png"
    assert created["filename"] == "page.html"


# ---------------------------------------------------------------- the bytes, not just the label


@pytest.mark.django_db
def test_html_declared_as_png_fails_and_its_object_is_deleted(api, bucket, signals):
    page = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    body = page + b" " * (2048 - len(page))
    created = send(api, body, filename="page.html", content_type="image/png")
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 409
    assert completed.json()["status"] == "failed"
    assert "not image/png" in completed.json()["detail"]
    assert MediaFile.objects.get().status == MediaFile.Status.FAILED
    assert bucket.keys() == []
    assert signals == []


@pytest.mark.django_db
def test_bytes_of_a_shared_container_pass_under_either_type(api, bucket):
    body = media_bytes("video/webm", 4096)
    created = send(api, body, filename="voice.webm", content_type="audio/webm")
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200


@pytest.mark.django_db
def test_svg_is_denied_by_default_even_though_image_star_is_allowed(api, bucket):
    response = api.post(
        "/api/media/", {"filename": "logo.svg", "content_type": "image/svg+xml", "size": 10}
    )
    assert response.status_code == 400
    assert "not accepted" in response.json()["fields"]["content_type"][0]
    assert not MediaFile.objects.exists()


@pytest.mark.django_db
def test_types_whose_bytes_cannot_be_checked_are_refused_until_checks_are_off(
    api, bucket, settings
):
    declared = {"filename": "clip.xyz", "content_type": "video/x-exotic", "size": 64}
    refused = api.post("/api/media/", declared)
    assert refused.status_code == 400
    assert "cannot be checked" in refused.json()["fields"]["content_type"][0]

    settings.UPLOAD_VERIFY_CONTENT = False
    created = send(api, bytes(range(64)), filename="clip.xyz", content_type="video/x-exotic")
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200


# ---------------------------------------------------------------- deadlines


def policy_expiry(upload_descriptor: dict[str, Any]) -> str:
    """Return the `expiration` a POST policy carries."""
    policy = json.loads(base64.b64decode(upload_descriptor["fields"]["policy"]))
    return str(policy["expiration"])


@pytest.mark.django_db
def test_a_post_deadline_allows_the_transfer_at_the_minimum_throughput(
    api, bucket, settings, monkeypatch
):
    settings.UPLOAD_POLICY_EXPIRES = 60
    settings.UPLOAD_MIN_THROUGHPUT = 1000
    # One frozen whole second for the record and the policy, so both can be compared exactly.
    # botocore's presigner (UPLOAD_SPEED_SHORTCUTS off) reads the real clock: start just after a
    # second begins, so that clock is still in the frozen second when it signs.
    time.sleep(1.01 - time.time() % 1)
    frozen = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    monkeypatch.setattr(time, "time", frozen.timestamp)
    created = declare(api, media_bytes("video/mp4", 10_000))
    record = MediaFile.objects.get()
    # 60 s for the policy plus 10,000 bytes at 1,000 bytes a second.
    assert record.created_at == frozen
    assert record.expires_at == frozen + timedelta(seconds=70)
    assert policy_expiry(created["upload"]) == record.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.django_db
def test_authorize_never_extends_the_deadline(api, bucket):
    created = declare(api, media_bytes("video/mp4", 4096))
    deadline = MediaFile.objects.get().expires_at
    assert deadline is not None
    time.sleep(1.1)
    fresh = api.post(f"/api/media/{created['id']}/authorize/").json()["upload"]
    assert MediaFile.objects.get().expires_at == deadline
    assert policy_expiry(fresh) <= deadline.strftime("%Y-%m-%dT%H:%M:%SZ")


def pass_the_deadline(media_id: str) -> None:
    """Move a record's upload deadline into the past."""
    MediaFile.objects.filter(pk=media_id).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_no_authorization_after_the_deadline(api, bucket, settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    created = declare(api, media_bytes("video/mp4", 6 * MiB))
    pass_the_deadline(created["id"])
    for path in ("parts/", "authorize/"):
        response = api.post(f"/api/media/{created['id']}/{path}", {"part_numbers": [1]})
        assert response.status_code == 409, path
        assert response.json()["code"] == "upload_expired"
        assert response.json()["status"] == "pending"


@pytest.mark.django_db
def test_complete_after_the_deadline_still_settles_bytes_that_arrived(api, bucket):
    created = send(api, media_bytes("video/mp4", 4096))
    pass_the_deadline(created["id"])
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200


# ---------------------------------------------------------------- S3 trouble


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503])
def test_s3_server_errors_answer_503_not_502(api, bucket, settings, status):
    created = send(api, media_bytes("video/mp4", 2048))
    with failing_s3(status) as endpoint:
        settings.AWS_S3_ENDPOINT_URL = endpoint
        response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "storage_unavailable"
    record = MediaFile.objects.get()
    assert (record.status, record.claim_token) == (MediaFile.Status.PENDING, None)


@pytest.mark.django_db
def test_assembled_parts_with_a_failed_look_stay_pending_then_complete(
    api, bucket, settings, monkeypatch
):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB
    body = media_bytes("video/mp4", 6 * MiB)
    created = declare(api, body)
    signed = api.post(f"/api/media/{created['id']}/parts/", {"part_numbers": [1, 2]}).json()
    for part in signed["parts"]:
        start = (part["part_number"] - 1) * 5 * MiB
        chunk = body[start : start + part["size"]]
        assert requests.put(part["url"], data=chunk, timeout=30).status_code == 200

    real_look = storage.read_start
    calls = []

    def look_fails_once(**kwargs):
        calls.append(kwargs["key"])
        if len(calls) == 1:
            raise storage.StorageUnavailable("GET object range: S3 answered 503")
        return real_look(**kwargs)

    monkeypatch.setattr(storage, "read_start", look_fails_once)
    first = api.post(f"/api/media/{created['id']}/complete/")
    assert first.status_code == 503
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING
    second = api.post(f"/api/media/{created['id']}/complete/")
    assert second.status_code == 200, second.content
    assert bucket.read(second.json()["key"]) == body


@pytest.mark.django_db
def test_cancelling_an_upload_s3_already_aborted_answers_200(api, bucket, settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    created = declare(api, media_bytes("video/mp4", 6 * MiB))
    record = MediaFile.objects.get()
    bucket.client.abort_multipart_upload(
        Bucket=bucket.name, Key=record.key, UploadId=record.upload_id
    )
    response = api.post(f"/api/media/{created['id']}/abort/")
    assert response.status_code == 200
    assert response.json()["status"] == "aborted"


@pytest.mark.django_db
def test_reverify_reports_an_object_replaced_after_verification(api, bucket):
    created = send(api, media_bytes("video/mp4", 4096))
    key = api.post(f"/api/media/{created['id']}/complete/").json()["key"]
    bucket.put(key, media_bytes("video/mp4", 4096), "video/mp4")  # same size and type
    outcome = services.reverify(media_file=MediaFile.objects.get())
    assert not outcome.ok
    assert "replaced" in outcome.message


# ---------------------------------------------------------------- no transaction across S3


@pytest.mark.django_db(transaction=True)
def test_stalled_s3_answers_503_within_15_s_while_others_still_create(
    user, other_user, bucket, live_server, settings
):
    record = services.create_upload(
        owner=user, filename="a.mp4", content_type="video/mp4", size=2048
    ).media_file
    tokens = {who: Token.objects.create(user=who).key for who in (user, other_user)}

    def call(method: str, path: str, who: User, **kwargs) -> tuple[int, float]:
        started = time.monotonic()
        response = requests.request(
            method,
            f"{live_server.url}{path}",
            headers={"Authorization": f"Token {tokens[who]}"},
            timeout=60,
            **kwargs,
        )
        return response.status_code, time.monotonic() - started

    with stalled_s3() as endpoint, ThreadPoolExecutor(2) as pool:
        settings.AWS_S3_ENDPOINT_URL = endpoint
        completing = pool.submit(call, "POST", f"/api/media/{record.pk}/complete/", user)
        time.sleep(0.5)  # the complete is now waiting on S3
        declared = {"filename": "b.mp4", "content_type": "video/mp4", "size": 10}
        created = call("POST", "/api/media/", other_user, json=declared)
        completed = completing.result()

    assert created[0] == 201
    assert created[1] < 5, created  # not queued behind the stalled complete
    assert completed[0] == 503
    assert completed[1] < 15, completed
    assert MediaFile.objects.get(pk=record.pk).status == MediaFile.Status.PENDING


# ---------------------------------------------------------------- races


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_delete_racing_complete_never_answers_500(user, bucket, live_server, monkeypatch):
    token = Token.objects.get_or_create(user=user)[0].key
    real_look = storage.read_start

    def slow_look(**kwargs):
        time.sleep(0.3)  # widen the window in which the DELETE arrives
        return real_look(**kwargs)

    monkeypatch.setattr(storage, "read_start", slow_look)
    headers = {"Authorization": f"Token {token}"}
    codes: list[tuple[int, int]] = []
    for _ in range(3):
        url = f"{live_server.url}/api/media/{sent_record(user).pk}/"
        start = threading.Barrier(2)

        def complete(url=url, start=start) -> int:
            start.wait()
            return requests.post(f"{url}complete/", headers=headers, timeout=60).status_code

        def delete(url=url, start=start) -> int:
            start.wait()
            time.sleep(0.1)
            return requests.delete(url, headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(2) as pool:
            completing, deleting = pool.submit(complete), pool.submit(delete)
            codes.append((completing.result(), deleting.result()))

    for completed, deleted in codes:
        assert completed in {200, 404, 409}, codes
        assert deleted in {204, 404, 409}, codes
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


@pytest.mark.django_db
def test_a_record_deleted_after_the_promotion_copy_leaves_no_media_object(api, bucket, monkeypatch):
    created = send(api, media_bytes("video/mp4", 2048))
    real_copy = storage.copy_object
    copied: list[str] = []

    def owner_deletes_it_meanwhile(**kwargs: str) -> str:
        etag = real_copy(**kwargs)
        copied.append(kwargs["target_key"])
        MediaFile.objects.filter(pk=created["id"]).delete()
        return etag

    monkeypatch.setattr(storage, "copy_object", owner_deletes_it_meanwhile)
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 404
    assert copied == [f"media/{created['id']}.mp4"]
    assert bucket.keys() == [created["key"]]  # the scratch copy only, for the lifecycle rule


@pytest.mark.django_db
def test_abort_and_authorize_of_a_deleted_record_are_404(api, bucket):
    created = declare(api, media_bytes("video/mp4", 2048))
    assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    for path in ("abort/", "authorize/", "complete/", "parts/"):
        assert api.post(f"/api/media/{created['id']}/{path}").status_code == 404, path


# ---------------------------------------------------------------- users and signals


@pytest.mark.django_db(transaction=True)
def test_deleting_a_user_deletes_their_objects(user, bucket, settings):
    services.complete_upload(media_file=sent_record(user), via="api")
    sent_record(user)  # pending, its file in the bucket
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    services.create_upload(owner=user, filename="c.mp4", content_type="video/mp4", size=6 * MiB)
    assert len(bucket.keys()) == 2

    user.delete()

    assert not MediaFile.objects.exists()
    assert bucket.keys() == []
    listing = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    assert listing.get("Uploads", []) == []


@pytest.mark.django_db(transaction=True)
def test_the_signal_is_sent_once_after_commit_whatever_the_number_of_completes(
    user, bucket, signals
):
    record = sent_record(user)
    seen_committed: list[str] = []

    def check_committed(sender, media_file, via, **kwargs):
        seen_committed.append(MediaFile.objects.get(pk=media_file.pk).status)

    media_uploaded.connect(check_committed, weak=False)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda _: services.complete_upload(media_file=record, via="api"),
                    range(4),
                )
            )
        services.complete_upload(media_file=record, via="api")
    finally:
        media_uploaded.disconnect(check_committed)
    assert signals == [(str(record.pk), "api")]
    assert seen_committed == ["uploaded"]
