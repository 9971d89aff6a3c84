"""The strict tier, after `complete`: on Ceph RGW, what a record serves stays what was verified,
slow uploads finish, storage events settle uploads, and stray objects go away."""

import http.client
import io
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from django.core.management import CommandError, call_command

from tests.support.media import media_bytes
from tests.support.s3 import Bucket, post_to_s3
from tests.support.uploads import declare, send
from uploads import services, storage
from uploads.models import MediaFile

pytestmark = [pytest.mark.s3strict]

BODY = media_bytes("video/mp4", 4096)
SECRET = "rgw-topic-shared-secret"


def stored(bucket: Bucket, key: str) -> bool:
    """Tell whether RGW holds an object under the key."""
    return key in set(bucket.keys())


def download(api, media_id: str) -> bytes:
    """Fetch a record's bytes through its download link, as its owner would."""
    record = api.get(f"/api/media/{media_id}/").json()
    response = requests.get(record["download_url"], timeout=10)
    assert response.status_code == 200
    return response.content


# ---------------------------------------------------------------- what was verified is served


@pytest.mark.django_db
def test_a_repost_with_a_still_valid_policy_changes_nothing_served(api, strict_bucket):
    created = send(api, BODY)
    served = api.post(f"/api/media/{created['id']}/complete/").json()
    swapped = media_bytes("video/mp4", len(BODY))  # same size, same type, other bytes
    assert post_to_s3(created["upload"], swapped).status_code == 204  # RGW takes it...

    assert download(api, created["id"]) == BODY  # ...but nothing the record serves changes
    assert strict_bucket.read(served["key"]) == BODY
    assert services.reverify(media_file=MediaFile.objects.get()).ok


@pytest.mark.django_db
def test_bytes_swapped_between_verification_and_promotion_are_never_promoted(
    api, strict_bucket, monkeypatch
):
    created = send(api, BODY)
    swapped = media_bytes("video/mp4", len(BODY))
    real_copy = storage.copy_object

    def attacker_wins_the_race(**kwargs: str) -> str:
        # The file was HEADed and its bytes checked; now the attacker re-POSTs before the copy.
        assert post_to_s3(created["upload"], swapped).status_code == 204
        return real_copy(**kwargs)

    monkeypatch.setattr(storage, "copy_object", attacker_wins_the_race)
    refused = api.post(f"/api/media/{created['id']}/complete/")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "not_received"
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING
    assert not stored(strict_bucket, f"media/{created['id']}.mp4")

    # Checked again, the bytes now in place are the ones verified, promoted and served.
    monkeypatch.setattr(storage, "copy_object", real_copy)
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 200
    assert download(api, created["id"]) == swapped
    assert services.reverify(media_file=MediaFile.objects.get()).ok


def verified_before_the_media_prefix(bucket: Bucket, created: dict[str, Any]) -> str:
    """Make a record uploaded and served from its scratch key, as before the media prefix."""
    etag = str(bucket.client.head_object(Bucket=bucket.name, Key=created["key"])["ETag"]).strip('"')
    MediaFile.objects.filter(pk=created["id"]).update(status=MediaFile.Status.UPLOADED, etag=etag)
    return etag


@pytest.mark.django_db
def test_the_legacy_move_copies_only_the_object_that_was_verified(api, strict_bucket):
    kept, swapped = send(api, BODY), send(api, BODY)
    verified_before_the_media_prefix(strict_bucket, kept)
    etag = verified_before_the_media_prefix(strict_bucket, swapped)
    strict_bucket.put(swapped["key"], media_bytes("video/mp4", len(BODY)), "video/mp4")
    out = io.StringIO()

    call_command("reconcile_uploads", stdout=out)

    assert f"moved {kept['id']} from {kept['key']} to media/{kept['id']}.mp4" in out.getvalue()
    report = f"REPORT uploaded record {swapped['id']}: {swapped['key']} is not the verified object"
    assert report in out.getvalue()
    assert sorted(strict_bucket.keys()) == sorted([f"media/{kept['id']}.mp4", swapped["key"]])
    record = MediaFile.objects.get(pk=swapped["id"])
    assert (record.key, record.etag) == (swapped["key"], etag)


# ---------------------------------------------------------------- slow uploads


def trickle_post(upload_form: dict[str, Any], body: bytes, *, seconds: float) -> int:
    """POST the form with its file trickled over `seconds`, as a slow uplink would send it."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in upload_form["fields"].items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    url = urlsplit(upload_form["url"])
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
    connection.putrequest("POST", url.path or "/")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + len(body) + len(tail)))
    connection.endheaders()
    connection.send(head)
    pieces = 10
    for index in range(pieces):
        connection.send(body[index * len(body) // pieces : (index + 1) * len(body) // pieces])
        time.sleep(seconds / pieces)
    connection.send(tail)
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("throughput", "expected"),
    [(512, 204), (10**9, 403)],
    ids=["within-min-throughput", "no-allowance-control"],
)
def test_a_slow_post_outliving_the_policy_time_is_stored(
    api, strict_bucket, settings, throughput, expected
):
    # 4 KiB over 4.5 s: slower than the 2 s policy time, faster than 512 B/s (2 + 8 s allowed).
    settings.UPLOAD_POLICY_EXPIRES = 2
    settings.UPLOAD_MIN_THROUGHPUT = throughput
    created = declare(api, BODY)
    assert trickle_post(created["upload"], BODY, seconds=4.5) == expected
    assert stored(strict_bucket, created["key"]) == (expected == 204)


# ---------------------------------------------------------------- storage events from RGW


@pytest.fixture
def rgw_pushes_to_the_app(rgw, strict_bucket, live_server, settings) -> None:
    """An RGW topic pushing the bucket's ObjectCreated events to the live app, with our secret."""
    settings.UPLOAD_EVENTS_SECRET = SECRET
    topics = boto3.client(
        "sns",
        endpoint_url=rgw.endpoint,
        region_name=rgw.region,
        aws_access_key_id=rgw.admin.access_key,
        aws_secret_access_key=rgw.admin.secret_key,
    )
    arn = topics.create_topic(
        Name=f"uploads-{uuid.uuid4().hex[:8]}",
        Attributes={
            "push-endpoint": f"{live_server.url}/api/s3-events/",
            "OpaqueData": SECRET,
        },
    )["TopicArn"]
    strict_bucket.client.put_bucket_notification_configuration(
        Bucket=strict_bucket.name,
        NotificationConfiguration={
            "TopicConfigurations": [
                {"Id": "uploads", "TopicArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll until the condition holds (RGW pushes while it answers, but allow it a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


@pytest.mark.django_db(transaction=True)
def test_an_rgw_push_completes_an_upload_that_never_called_complete(
    api, strict_bucket, rgw_pushes_to_the_app, signals
):
    created = send(api, BODY)
    assert wait_for(lambda: MediaFile.objects.get().status == MediaFile.Status.UPLOADED)
    assert signals == [(created["id"], "event")]

    completed = api.post(f"/api/media/{created['id']}/complete/")  # the browser, late
    assert completed.status_code == 200
    assert signals == [(created["id"], "event")]  # one transition, one signal
    assert download(api, created["id"]) == BODY
    assert strict_bucket.keys() == [f"media/{created['id']}.mp4"]


@pytest.mark.django_db(transaction=True)
def test_a_post_after_abort_leaves_no_object_once_the_event_ran(
    api, strict_bucket, rgw_pushes_to_the_app
):
    created = declare(api, BODY)
    assert api.post(f"/api/media/{created['id']}/abort/").json()["status"] == "aborted"
    assert post_to_s3(created["upload"], BODY).status_code == 204  # the policy still works
    assert wait_for(lambda: not stored(strict_bucket, created["key"]))
    assert strict_bucket.keys() == []


@pytest.mark.django_db
def test_a_post_after_delete_leaves_no_object_once_reconcile_ran(api, strict_bucket):
    created = declare(api, BODY)
    assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    assert post_to_s3(created["upload"], BODY).status_code == 204
    assert stored(strict_bucket, created["key"])
    out = io.StringIO()
    call_command("reconcile_uploads", "--grace", "0", stdout=out)
    assert f"deleted stray scratch object {created['key']}" in out.getvalue()
    assert strict_bucket.keys() == []


# ---------------------------------------------------------------- bucket set-up and self-test

ORIGIN = "https://media.example.com"


def check_bucket() -> tuple[str, CommandError | None]:
    """Run check_bucket for ORIGIN; return what it printed and the error it ended with, if any."""
    out = io.StringIO()
    try:
        call_command("check_bucket", "--origin", ORIGIN, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


@pytest.mark.django_db
def test_configure_bucket_then_check_bucket_passes(strict_bucket):
    strict_bucket.client.put_bucket_lifecycle_configuration(
        Bucket=strict_bucket.name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "operators-own-rule",
                    "Filter": {"Prefix": "logs/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )
    call_command("configure_bucket", "--origin", ORIGIN, stdout=io.StringIO())
    printed, error = check_bucket()
    assert error is None, printed
    assert "FAIL" not in printed
    assert f"PASS ETag on a cross-origin PUT from {ORIGIN}" in printed
    assert "PASS signed POST upload" in printed
    assert "PASS derived files: written, read and deleted under derived/" in printed
    rules = strict_bucket.client.get_bucket_lifecycle_configuration(Bucket=strict_bucket.name)
    assert "operators-own-rule" in {rule["ID"] for rule in rules["Rules"]}
    assert strict_bucket.keys() == []  # the self-test cleaned up after itself


@pytest.mark.django_db
def test_check_bucket_fails_on_a_bucket_whose_cors_hides_etag(strict_bucket):
    call_command("configure_bucket", "--origin", ORIGIN, stdout=io.StringIO())
    rules = storage.cors_configuration([ORIGIN])
    del rules["CORSRules"][0]["ExposeHeaders"]
    strict_bucket.client.put_bucket_cors(Bucket=strict_bucket.name, CORSConfiguration=rules)
    printed, error = check_bucket()
    assert error is not None
    assert f"FAIL ETag on a cross-origin PUT from {ORIGIN}" in printed
    assert "PASS signed POST upload" in printed


@pytest.mark.django_db
def test_check_bucket_fails_on_credentials_rgw_does_not_accept(strict_bucket, settings, rgw):
    settings.AWS_SECRET_ACCESS_KEY = rgw.other.secret_key  # our access key, someone else's secret
    printed, error = check_bucket()
    assert error is not None
    assert printed.splitlines() == [
        "FAIL credentials: S3 does not accept them (SignatureDoesNotMatch)"
    ]


@pytest.mark.parametrize("size", [0, 1, 8192, 100_000])
def test_one_ranged_get_tells_size_type_etag_and_first_bytes(strict_bucket, size):
    key = f"media/{uuid.uuid4()}.mp4"
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    strict_bucket.put(key, body, "video/mp4")
    info, start = storage.read_start(key=key, length=8192)
    assert info == storage.head_object(key)
    assert start == body[:8192]
