"""Unit tests for signing (no S3 needed) and functional tests for the object calls (moto)."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from uploads import storage

KEY = "incoming/0b6f1c1e-4a3e-4c56-9a55-5a0c7d2a1b11.mp4"


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    """Return the JSON policy a signed POST carries."""
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


@pytest.fixture
def signed(settings):
    settings.CONTENT_UPLOAD_BUCKET = "media-bucket"
    return storage.presign_post(key=KEY, content_type="video/mp4", size=1234, expires_in=60)


def test_policy_pins_bucket_key_type_and_exact_size(signed):
    conditions = decode_policy(signed.fields)["conditions"]
    assert {"bucket": "media-bucket"} in conditions
    assert {"key": KEY} in conditions
    assert {"Content-Type": "video/mp4"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions


def test_policy_has_only_the_conditions_we_mean(signed):
    conditions = decode_policy(signed.fields)["conditions"]
    names = sorted(next(iter(c)) if isinstance(c, dict) else c[0] for c in conditions)
    assert names == sorted(
        [
            "bucket",
            "key",
            "Content-Type",
            "content-length-range",
            "x-amz-algorithm",
            "x-amz-credential",
            "x-amz-date",
        ]
    )
    # Nothing is a prefix match: every value is pinned exactly.
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]


def test_policy_is_sigv4_signed(signed):
    fields = signed.fields
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert re.fullmatch(r"testing/\d{8}/us-east-1/s3/aws4_request", fields["x-amz-credential"])
    assert re.fullmatch(r"[0-9a-f]{64}", fields["x-amz-signature"])


def test_fields_match_the_policy(signed):
    assert signed.fields["key"] == KEY
    assert signed.fields["Content-Type"] == "video/mp4"
    assert "file" not in signed.fields


def test_policy_expires_after_the_configured_seconds(settings):
    settings.CONTENT_UPLOAD_BUCKET = "media-bucket"
    before = datetime.now(UTC)
    signed = storage.presign_post(key=KEY, content_type="video/mp4", size=1, expires_in=60)
    expiration = datetime.fromisoformat(decode_policy(signed.fields)["expiration"])
    assert timedelta(seconds=59) <= expiration - before <= timedelta(seconds=61)
    assert abs((signed.expires_at - expiration).total_seconds()) <= 1


def test_url_is_the_bucket_on_the_configured_endpoint(signed, settings):
    assert signed.url == f"{settings.AWS_S3_ENDPOINT_URL}/media-bucket"


def test_aws_endpoint_uses_virtual_hosted_urls(settings):
    settings.AWS_S3_ENDPOINT_URL = ""
    settings.CONTENT_UPLOAD_BUCKET = "media-bucket"
    signed = storage.presign_post(key=KEY, content_type="video/mp4", size=1, expires_in=60)
    assert signed.url == "https://media-bucket.s3.amazonaws.com/"


@pytest.mark.functional
@pytest.mark.django_db
def test_the_bucket_keeps_its_own_connection_beside_django_storages(api, bucket, settings):
    """django-storages' AWS_* point at store A with A's keys; the UPLOAD_S3_* group at store B
    (the moto server here) with B's: uploads are signed for B, with B's keys, and complete there."""
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # store A: nothing listens
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "A-KEY-ID", "a-secret"
    settings.AWS_DEFAULT_REGION = "eu-west-3"
    settings.UPLOAD_S3_ENDPOINT_URL = bucket.client.meta.endpoint_url  # store B
    settings.UPLOAD_S3_ACCESS_KEY_ID, settings.UPLOAD_S3_SECRET_ACCESS_KEY = "B-KEY-ID", "b-secret"
    body = media_bytes("video/mp4", 2048)
    created = api.post(
        "/api/media/", {"filename": "b.mp4", "content_type": "video/mp4", "size": len(body)}
    ).json()
    upload = created["upload"]
    assert upload["url"] == f"{settings.UPLOAD_S3_ENDPOINT_URL}/{bucket.name}"
    # B's key, and B's region: no AWS_* setting was read (us-east-1 is the group's default).
    assert upload["fields"]["x-amz-credential"].startswith("B-KEY-ID/")
    assert "/us-east-1/s3/" in upload["fields"]["x-amz-credential"]
    assert post_to_s3(upload, body).status_code == 204
    done = api.post(f"/api/media/{created['id']}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "uploaded"
    download = api.get(f"/api/media/{created['id']}/").json()["download_url"]
    assert download.startswith(settings.UPLOAD_S3_ENDPOINT_URL) and "B-KEY-ID" in download


def test_without_any_app_setting_the_aws_ones_serve_the_bucket_as_before(settings):
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9200"
    settings.AWS_ACCESS_KEY_ID = "OLD-KEY-ID"
    signed = storage.presign_post(key=KEY, content_type="video/mp4", size=1, expires_in=60)
    assert signed.url.startswith("http://127.0.0.1:9200/")
    assert signed.fields["x-amz-credential"].startswith("OLD-KEY-ID/")


def test_client_is_built_once_per_configuration():
    assert storage.get_client() is storage.get_client()


@pytest.mark.parametrize(
    "disposition",
    [
        'attachment; filename="clip.mp4"',
        "attachment; filename*=utf-8''vid%C3%A9o%20%C3%A9t%C3%A9.mp4",
        'attachment; filename="say \\"hi\\".mp4"',
    ],
)
def test_a_get_link_carries_its_disposition(disposition, settings):
    settings.CONTENT_UPLOAD_BUCKET = "media-bucket"
    url = storage.presign_get(key=KEY, disposition=disposition, expires_in=300)
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == [disposition]
    assert query["X-Amz-Expires"] == ["300"]
    assert urlsplit(url).path == f"/media-bucket/{KEY}"


@pytest.mark.functional
def test_head_reports_size_type_and_etag(bucket):
    bucket.put(KEY, b"12345", "video/mp4")
    info = storage.head_object(KEY)
    assert (info.size, info.content_type) == (5, "video/mp4")
    assert re.fullmatch(r"[0-9a-f]{32}", info.etag)


@pytest.mark.functional
@pytest.mark.parametrize("size", [1, 100, 8192, 8193, 100_000])
def test_read_start_tells_what_a_head_does_with_the_first_bytes(bucket, size):
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    bucket.put(KEY, body, "video/mp4")
    info, start = storage.read_start(key=KEY, length=8192)
    assert info == storage.head_object(KEY)
    assert start == body[:8192]


@pytest.mark.functional
def test_read_start_of_an_empty_or_missing_object(bucket):
    bucket.put(KEY, b"", "video/mp4")
    info, start = storage.read_start(key=KEY, length=8192)
    assert (info.size, start) == (0, b"")
    with pytest.raises(storage.ObjectNotFound):
        storage.read_start(key="media/missing.mp4", length=8192)


@pytest.mark.functional
def test_head_of_missing_object_raises_not_found(bucket):
    with pytest.raises(storage.ObjectNotFound):
        storage.head_object(KEY)


@pytest.mark.functional
def test_delete_removes_the_object_and_tolerates_missing_ones(bucket):
    bucket.put(KEY, b"x", "video/mp4")
    storage.delete_object(KEY)
    storage.delete_object(KEY)
    assert bucket.keys() == []


def test_unreachable_s3_raises_storage_unavailable(s3_down):
    with pytest.raises(storage.StorageUnavailable):
        storage.head_object(KEY)


@pytest.mark.functional
def test_configure_bucket_creates_it_and_sets_cors(moto_endpoint, settings):
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.CONTENT_UPLOAD_BUCKET = "configured-bucket"
    storage.configure_bucket(cors_origins=["http://127.0.0.1:8000"])
    storage.configure_bucket(cors_origins=["http://127.0.0.1:8000"])  # idempotent
    rules = storage.get_client().get_bucket_cors(Bucket="configured-bucket")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["http://127.0.0.1:8000"]
    assert "POST" in rules[0]["AllowedMethods"]
    assert rules[0]["ExposeHeaders"] == ["ETag"]
