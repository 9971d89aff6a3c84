"""POST /api/s3-events/ against a moto S3: direct pushes (secret), SNS deliveries (signature),
and what an event may settle or delete."""

import json
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.sns import (
    CERT_URL,
    SUBSCRIBE_URL,
    TOPIC,
    FakeAmazonCA,
    FakeFetch,
    confirmation,
    make_certificate,
    notification,
    pem_of,
    sign_sns,
    sns_time,
)
from tests.support.uploads import declare, send
from uploads import claims, storage, sweeps
from uploads.events import notifications as events
from uploads.events import sns, sns_certificates
from uploads.events.sns_certificates import Certificates
from uploads.models import MediaFile, SnsDelivery

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

SECRET = "a-long-random-shared-secret"
URL = "/api/s3-events/"


@pytest.fixture
def events_on(settings) -> None:
    """Direct pushes carry SECRET; SNS messages of TOPIC are trusted."""
    settings.UPLOAD_EVENTS_SECRET = SECRET
    settings.UPLOAD_EVENTS_SNS_TOPICS = [TOPIC]


def s3_event(
    bucket: str, key: str, *, name: str = "ObjectCreated:Post", **extra: Any
) -> dict[str, Any]:
    """The S3 event JSON a store pushes for one new object (keys URL-encoded, as AWS does)."""
    record = {
        "eventVersion": "2.2",
        "eventSource": "ceph:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1}},
        **extra,
    }
    return {"Records": [record]}


def push(body: Any, *, secret: str | None = SECRET, raw: bytes | None = None) -> Any:
    """POST a delivery to the events endpoint as the storage service would (no user session)."""
    client = APIClient()
    if secret is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    data = raw if raw is not None else json.dumps(body)
    return client.post(URL, data, content_type="application/json")


# ---------------------------------------------------------------- direct pushes


def test_a_push_with_the_bearer_secret_completes_a_lost_callback(api, bucket, events_on, signals):
    created = send(api, media_bytes("video/mp4", 2048))
    response = push(s3_event(bucket.name, created["key"]))
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1}
    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.UPLOADED
    assert record.key == f"media/{created['id']}.mp4"
    assert signals == [(created["id"], "event")]


def test_the_secret_may_come_as_each_records_opaque_data(api, bucket, events_on):
    created = send(api, media_bytes("video/mp4", 2048))
    response = push(s3_event(bucket.name, created["key"], opaqueData=SECRET), secret=None)
    assert response.status_code == 200
    assert MediaFile.objects.get().status == MediaFile.Status.UPLOADED


@pytest.mark.parametrize(
    ("secret", "opaque"),
    [("wrong", None), (None, None), (None, "wrong"), ("", None)],
    ids=["wrong-bearer", "no-secret", "wrong-opaque-data", "empty-bearer"],
)
def test_a_push_without_the_right_secret_is_refused(api, bucket, events_on, secret, opaque):
    created = send(api, media_bytes("video/mp4", 2048))
    extra = {"opaqueData": opaque} if opaque else {}
    response = push(s3_event(bucket.name, created["key"], **extra), secret=secret)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


@pytest.mark.parametrize("where", ["bearer", "opaqueData"])
def test_a_prefix_of_the_secret_is_refused(api, bucket, events_on, where):
    created = send(api, media_bytes("video/mp4", 2048))
    for prefix in (SECRET[:1], SECRET[:-1]):
        if where == "bearer":
            response = push(s3_event(bucket.name, created["key"]), secret=prefix)
        else:
            response = push(s3_event(bucket.name, created["key"], opaqueData=prefix), secret=None)
        assert response.status_code == 403
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_a_push_of_no_records_still_needs_the_secret(bucket, events_on):
    # With no record there is no opaqueData to carry the secret: the push is refused, not a 200.
    assert push({"Records": []}, secret=None).status_code == 403
    assert push({"Records": []}).json() == {"received": 0}


def test_direct_pushes_are_refused_when_no_secret_is_configured(api, bucket, settings):
    settings.UPLOAD_EVENTS_SECRET = ""
    created = send(api, media_bytes("video/mp4", 2048))
    for opaque in ({}, {"opaqueData": ""}):
        response = push(s3_event(bucket.name, created["key"], **opaque), secret="")
        assert response.status_code == 403
    response = push(s3_event(bucket.name, created["key"]), secret="anything")
    assert response.status_code == 403
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'{"Records": "x"}',
        b'{"Records": [{"eventName": "ObjectCreated:Put"}]}',
        b'{"Records": [{"eventName": 1, "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}',
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_get_400(bucket, events_on, raw):
    response = push(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_duplicates_and_either_order_make_one_transition(api, bucket, events_on, signals):
    created = send(api, media_bytes("video/mp4", 2048))
    event = s3_event(bucket.name, created["key"])
    assert push(event).status_code == 200
    assert push(event).status_code == 200
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    assert push(event).status_code == 200
    assert signals == [(created["id"], "event")]
    assert bucket.keys() == [f"media/{created['id']}.mp4"]


def test_events_of_other_buckets_and_kinds_are_acknowledged_and_ignored(api, bucket, events_on):
    created = send(api, media_bytes("video/mp4", 2048))
    assert push(s3_event("another-bucket", created["key"])).status_code == 200
    removed = s3_event(bucket.name, created["key"], name="ObjectRemoved:Delete")
    assert push(removed).status_code == 200
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_s3_test_events_are_acknowledged(bucket, events_on):
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket.name}
    assert push(event).json() == {"received": 0}


# ---------------------------------------------------------------- what an event may delete


def test_an_unknown_scratch_object_is_removed(bucket, events_on):
    for key in (f"incoming/{uuid.uuid4()}.mp4", "incoming/planted.html"):
        bucket.put(key, b"junk", "video/mp4")
        assert push(s3_event(bucket.name, key)).status_code == 200
    assert bucket.keys() == []


def test_an_event_for_a_key_outside_both_prefixes_deletes_nothing(bucket, events_on):
    others = [f"elsewhere/{uuid.uuid4()}.mp4", "incoming", "incomingx/a.mp4", "index.html"]
    for key in others:
        bucket.put(key, b"not ours", "video/mp4")
        assert push(s3_event(bucket.name, key)).status_code == 200
    assert sorted(bucket.keys()) == sorted(others)


def test_an_event_for_a_media_prefix_key_deletes_nothing(api, bucket, events_on):
    strays = [f"media/{uuid.uuid4()}.mp4", "media/not-ours.mp4"]
    for key in strays:
        bucket.put(key, b"junk", "video/mp4")
        assert push(s3_event(bucket.name, key, name="ObjectCreated:Copy")).status_code == 200
    assert sorted(bucket.keys()) == sorted(strays)


def test_a_post_after_abort_leaves_no_object_once_the_event_ran(api, bucket, events_on):
    body = media_bytes("video/mp4", 2048)
    created = declare(api, body)
    assert api.post(f"/api/media/{created['id']}/abort/").json()["status"] == "aborted"
    assert post_to_s3(created["upload"], body).status_code == 204  # the policy still works
    assert push(s3_event(bucket.name, created["key"])).status_code == 200
    assert bucket.keys() == []
    assert MediaFile.objects.get().status == MediaFile.Status.ABORTED


def test_a_repost_after_complete_is_removed_and_changes_nothing_served(api, bucket, events_on):
    body = media_bytes("video/mp4", 2048)
    created = send(api, body)
    served = api.post(f"/api/media/{created['id']}/complete/").json()
    swapped = media_bytes("video/mp4", 2048)
    assert post_to_s3(created["upload"], swapped).status_code == 204
    assert push(s3_event(bucket.name, created["key"])).status_code == 200
    assert bucket.keys() == [served["key"]]
    assert bucket.read(served["key"]) == body


# ---------------------------------------------------------------- AWS SNS deliveries


@pytest.fixture(scope="module")
def sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# Stands in for Amazon's CA: the app trusts it in place of the system's trust store.
CA = FakeAmazonCA()


@pytest.fixture
def trusted_certificate(sns_key, monkeypatch) -> FakeFetch:
    """Serve a certificate CA issued for sns_key wherever the app fetches an SNS URL (trusting CA,
    with nothing cached and no fetch spent), and record the URLs."""
    fetch = FakeFetch(pem_of(CA.issue(sns_key)))
    source = Certificates(fetch, trust=lambda: CA.trust)
    monkeypatch.setattr(sns_certificates, "CERTIFICATES", source)
    monkeypatch.setattr(sns, "https_get", lambda url, limit: fetch(url))
    return fetch


def sns_post(body: dict[str, Any]):
    """POST an SNS delivery: JSON sent as text/plain, with SNS's message-type header."""
    return APIClient().post(
        URL,
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=body.get("Type", ""),
    )


def test_a_signed_sns_notification_completes_an_upload(
    api, bucket, events_on, sns_key, trusted_certificate, signals
):
    created = send(api, media_bytes("video/mp4", 2048))
    message = json.dumps(s3_event(bucket.name, created["key"], name="ObjectCreated:Post"))
    response = sns_post(sign_sns(notification(Message=message), sns_key))
    assert response.status_code == 200, response.content
    assert MediaFile.objects.get().status == MediaFile.Status.UPLOADED
    assert trusted_certificate.urls == [CERT_URL]
    assert signals == [(created["id"], "event")]


def test_a_subscription_confirmation_is_confirmed(events_on, sns_key, trusted_certificate):
    response = sns_post(sign_sns(confirmation(), sns_key))
    assert response.status_code == 200
    assert trusted_certificate.urls == [CERT_URL, SUBSCRIBE_URL]


def test_a_tampered_sns_message_is_refused(api, bucket, events_on, sns_key, trusted_certificate):
    created = send(api, media_bytes("video/mp4", 2048))
    signed = sign_sns(notification(), sns_key)
    signed["Message"] = json.dumps(s3_event(bucket.name, created["key"]))
    assert sns_post(signed).status_code == 403
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_an_unlisted_topic_is_refused_without_fetching(sns_key, trusted_certificate, settings):
    settings.UPLOAD_EVENTS_SNS_TOPICS = ["arn:aws:sns:us-east-1:123456789012:someone-else"]
    assert sns_post(sign_sns(notification(), sns_key)).status_code == 403
    assert trusted_certificate.urls == []


def test_a_certificate_off_the_sns_hosts_is_refused_without_fetching(
    events_on, sns_key, trusted_certificate
):
    forged = notification(SigningCertURL="https://attacker.example/sns.pem")
    assert sns_post(sign_sns(forged, sns_key)).status_code == 403
    assert trusted_certificate.urls == []


def test_an_sns_envelope_cannot_hide_behind_the_bearer_secret(
    api, bucket, events_on, sns_key, trusted_certificate
):
    created = send(api, media_bytes("video/mp4", 2048))
    unsigned = notification(Message=json.dumps(s3_event(bucket.name, created["key"])))
    unsigned.update(SignatureVersion="2", Signature="AAAA")
    assert push(unsigned).status_code == 403
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.s3.amazonaws.com/SimpleNotificationService-x.pem",  # a bucket named "sns"
        "https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-x.pem",
        f"{CERT_URL}?versionId=1",
        f"{CERT_URL}#x",
    ],
)
def test_certificate_urls_that_are_not_sns_endpoints_are_refused_without_fetching(
    api, bucket, events_on, sns_key, trusted_certificate, cert_url
):
    created = send(api, media_bytes("video/mp4", 2048))
    message = json.dumps(s3_event(bucket.name, created["key"]))
    delivery = notification(Message=message, SigningCertURL=cert_url)
    assert sns_post(sign_sns(delivery, sns_key)).status_code == 403
    assert trusted_certificate.urls == []
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_a_self_signed_certificate_from_an_sns_host_is_refused(
    api, bucket, events_on, sns_key, trusted_certificate
):
    trusted_certificate.payload = pem_of(make_certificate(sns_key, hostname="sns.amazonaws.com"))
    created = send(api, media_bytes("video/mp4", 2048))
    message = json.dumps(s3_event(bucket.name, created["key"]))
    response = sns_post(sign_sns(notification(Message=message), sns_key))
    assert response.status_code == 403
    assert "trusted CA" in response.json()["detail"]
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_a_message_two_hours_old_is_refused_without_fetching(
    api, bucket, events_on, sns_key, trusted_certificate
):
    created = send(api, media_bytes("video/mp4", 2048))
    message = json.dumps(s3_event(bucket.name, created["key"]))
    sent = sns_time(datetime.now(UTC) - timedelta(hours=2))
    delivery = sign_sns(notification(Message=message, Timestamp=sent), sns_key)
    assert sns_post(delivery).status_code == 403
    assert trusted_certificate.urls == []
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def stray_delivery(bucket: Any, sns_key: rsa.RSAPrivateKey) -> tuple[str, dict[str, Any]]:
    """A scratch object nobody wants, and a signed delivery of its event (which deletes it)."""
    key = f"incoming/{uuid.uuid4()}.mp4"
    bucket.put(key, b"junk", "video/mp4")
    message = json.dumps(s3_event(bucket.name, key))
    return key, sign_sns(notification(Message=message), sns_key)


def test_a_replayed_message_is_acted_on_once(bucket, events_on, sns_key, trusted_certificate):
    key, delivery = stray_delivery(bucket, sns_key)
    assert sns_post(delivery).json() == {"received": 1}
    assert bucket.keys() == []
    bucket.put(key, b"junk again", "video/mp4")
    assert sns_post(delivery).json() == {"received": 0}  # acknowledged, not acted on
    assert bucket.keys() == [key]
    assert SnsDelivery.objects.get().acted_at is not None
    # Acted on long ago (past any lease): still a replay.
    SnsDelivery.objects.update(started_at=timezone.now() - claims.LEASE)
    assert sns_post(delivery).json() == {"received": 0}
    assert bucket.keys() == [key]


def test_a_delivery_answered_non_2xx_stores_nothing_and_its_retry_acts(
    bucket, events_on, sns_key, trusted_certificate, monkeypatch
):
    _, delivery = stray_delivery(bucket, sns_key)
    delete = storage.delete_object

    def unreachable(key: str) -> None:
        raise storage.StorageUnavailable("S3 is down")

    monkeypatch.setattr(storage, "delete_object", unreachable)
    assert sns_post(delivery).status_code == 503
    assert not SnsDelivery.objects.exists()
    monkeypatch.setattr(storage, "delete_object", delete)
    assert sns_post(delivery).json() == {"received": 1}
    assert bucket.keys() == []


def test_a_delivery_left_unacted_past_the_lease_is_taken_over(
    bucket, events_on, sns_key, trusted_certificate
):
    key, delivery = stray_delivery(bucket, sns_key)
    # Another delivery of it started acting just now and has not answered: this one does not act.
    SnsDelivery.objects.create(message_id=delivery["MessageId"], started_at=timezone.now())
    assert sns_post(delivery).json() == {"received": 0}
    assert bucket.keys() == [key]
    # That worker died: once the lease has run out, a retry acts.
    SnsDelivery.objects.update(started_at=timezone.now() - claims.LEASE)
    assert sns_post(delivery).json() == {"received": 1}
    assert bucket.keys() == []
    assert SnsDelivery.objects.get().acted_at is not None


def test_a_delivery_beyond_the_fetch_budget_gets_503_and_is_fetched_later(
    api, bucket, events_on, sns_key, trusted_certificate, monkeypatch
):
    created = send(api, media_bytes("video/mp4", 2048))
    message = json.dumps(s3_event(bucket.name, created["key"]))
    delivery = sign_sns(notification(Message=message), sns_key)
    monkeypatch.setattr(sns_certificates, "FETCH_BUDGET", 0)
    response = sns_post(delivery)
    assert response.status_code == 503  # SNS retries a 5xx; a 403 it would drop
    assert response.json()["code"] == "events_unavailable"
    assert trusted_certificate.urls == []
    assert not SnsDelivery.objects.exists()
    monkeypatch.setattr(sns_certificates, "FETCH_BUDGET", 1)
    assert sns_post(delivery).status_code == 200
    assert MediaFile.objects.get().status == MediaFile.Status.UPLOADED


def test_the_expiry_sweep_forgets_message_ids_too_old_to_replay(bucket):
    now = timezone.now()
    SnsDelivery.objects.create(message_id="old", started_at=now - sns.MAX_AGE - sns.MAX_AHEAD)
    SnsDelivery.objects.create(message_id="recent", started_at=now - sns.MAX_AGE, acted_at=now)
    sweeps.expire(say=lambda line: None)
    assert list(SnsDelivery.objects.values_list("message_id", flat=True)) == ["recent"]


@pytest.mark.db
def test_a_concurrent_duplicate_gets_200_without_acting(
    bucket, events_on, sns_key, trusted_certificate, monkeypatch
):
    _, delivery = stray_delivery(bucket, sns_key)
    acted: list[str] = []
    release = threading.Event()

    def slow_handle(event: events.ObjectEvent) -> None:
        acted.append(event.key)
        release.wait(10)  # keep the first delivery acting while the second arrives

    monkeypatch.setattr(events, "handle", slow_handle)
    start = threading.Barrier(2)

    def deliver(_: int) -> Any:
        try:
            start.wait()
            return sns_post(delivery)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(deliver, n) for n in range(2)]
        # The duplicate answers while the other delivery is still acting.
        done, _ = wait(futures, timeout=10, return_when=FIRST_COMPLETED)
        assert [f.result().json() for f in done] == [{"received": 0}]
        release.set()
    answers = sorted((f.result().status_code, f.result().json()["received"]) for f in futures)
    assert answers == [(200, 0), (200, 1)]
    assert len(acted) == 1
    assert SnsDelivery.objects.get().acted_at is not None
