"""The strict tier: a production S3 (Ceph RGW) refuses every upload our signed policies forbid.

Each attack takes an authorization issued by our own API, bends it one way, and checks three things:
RGW refuses the request, nothing is stored under the key, and `complete` leaves the record short of
`uploaded`. moto would accept all of these, so this tier must run on RGW.
"""

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support.media import media_bytes
from tests.support.s3 import Bucket, post_to_s3, raw_s3_client
from tests.support.uploads import declare, send
from uploads.models import MediaFile

pytestmark = [pytest.mark.s3strict, pytest.mark.django_db]

BODY = media_bytes("video/mp4", 3 * 1024)


def create(api, body: bytes = BODY, **declared: str) -> dict[str, Any]:
    """Declare an upload of BODY through our API."""
    return declare(api, body, **declared)


def stored(bucket: Bucket, key: str) -> bool:
    """Tell whether RGW holds an object under the key."""
    try:
        bucket.client.head_object(Bucket=bucket.name, Key=key)
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


def assert_refused(
    response: requests.Response, bucket: Bucket, api, created, *statuses: int
) -> None:
    """RGW refused, nothing is under the key, and complete does not mark the record uploaded."""
    assert response.status_code in (statuses or (400, 403)), (response.status_code, response.text)
    assert not stored(bucket, created["key"])
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 409
    assert MediaFile.objects.get(pk=created["id"]).status != MediaFile.Status.UPLOADED


def rewrite_policy(fields: dict[str, str], change) -> dict[str, str]:
    """Return the fields with the base64 policy edited by `change`, signature untouched."""
    policy = json.loads(base64.b64decode(fields["policy"]))
    change(policy)
    return {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}


# ---------------------------------------------------------------- the legitimate upload


def test_legitimate_post_upload_is_stored_and_completes(api, strict_bucket):
    created = create(api)
    response = post_to_s3(created["upload"], BODY)
    assert response.status_code == 204, response.text
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 200, completed.content
    assert completed.json()["status"] == "uploaded"
    # Promoted out of the scratch prefix browsers write into.
    assert completed.json()["key"] == f"media/{created['id']}.mp4"
    assert strict_bucket.read(completed.json()["key"]) == BODY
    assert not stored(strict_bucket, created["key"])


# ---------------------------------------------------------------- forged or out-of-policy POSTs


def test_tampered_signature_is_refused(api, strict_bucket):
    created = create(api)
    fields = dict(created["upload"]["fields"])
    signature = fields["x-amz-signature"]
    fields["x-amz-signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    response = post_to_s3(created["upload"], BODY, fields=fields)
    assert_refused(response, strict_bucket, api, created, 403)


def test_widened_policy_with_the_old_signature_is_refused(api, strict_bucket):
    created = create(api)

    def widen(policy: dict[str, Any]) -> None:
        for condition in policy["conditions"]:
            if isinstance(condition, list) and condition[0] == "content-length-range":
                condition[1:] = [1, 10 * len(BODY)]

    fields = rewrite_policy(created["upload"]["fields"], widen)
    response = post_to_s3(created["upload"], BODY + b"more bytes", fields=fields)
    assert_refused(response, strict_bucket, api, created, 403)


def test_body_one_byte_larger_than_declared_is_refused(api, strict_bucket):
    created = create(api)
    response = post_to_s3(created["upload"], BODY + b"x")
    assert_refused(response, strict_bucket, api, created, 400)
    assert "EntityTooLarge" in response.text


def test_body_one_byte_smaller_than_declared_is_refused(api, strict_bucket):
    created = create(api)
    response = post_to_s3(created["upload"], BODY[:-1])
    assert_refused(response, strict_bucket, api, created, 400)
    assert "EntityTooSmall" in response.text


def test_another_users_key_is_refused(api, other_api, strict_bucket):
    mine = create(api)
    theirs = create(other_api)
    fields = {**mine["upload"]["fields"], "key": theirs["key"]}
    response = post_to_s3(mine["upload"], BODY, fields=fields)
    assert_refused(response, strict_bucket, api, mine, 403)
    assert not stored(strict_bucket, theirs["key"])
    assert other_api.post(f"/api/media/{theirs['id']}/complete/").status_code == 409


def test_changed_content_type_is_refused(api, strict_bucket):
    created = create(api)
    fields = {**created["upload"]["fields"], "Content-Type": "text/html"}
    response = post_to_s3(created["upload"], BODY, fields=fields, content_type="text/html")
    assert_refused(response, strict_bucket, api, created, 403)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("acl", "public-read"),
        ("x-amz-meta-owner", "mallory"),
        ("success_action_redirect", "https://evil.example/"),
    ],
)
def test_extra_form_field_not_in_the_policy_is_refused(api, strict_bucket, name, value):
    created = create(api)
    fields = {**created["upload"]["fields"], name: value}
    response = post_to_s3(created["upload"], BODY, fields=fields)
    assert_refused(response, strict_bucket, api, created, 403)


def test_post_without_any_policy_is_refused(api, strict_bucket):
    created = create(api)
    fields = {"key": created["key"], "Content-Type": "video/mp4"}
    response = post_to_s3(created["upload"], BODY, fields=fields)
    assert_refused(response, strict_bucket, api, created, 403)


def test_expired_policy_is_refused(api, strict_bucket, settings):
    settings.UPLOAD_POLICY_EXPIRES = 1
    created = create(api)
    time.sleep(2.5)
    response = post_to_s3(created["upload"], BODY)
    assert_refused(response, strict_bucket, api, created, 403)


def policy_signed_by(
    rgw, bucket: Bucket, key: str, access_key: str, secret_key: str
) -> dict[str, str]:
    """Sign a generous POST policy for the key with someone else's keys."""
    signer = raw_s3_client(rgw.endpoint, access_key, secret_key)
    signed = signer.generate_presigned_post(
        Bucket=bucket.name,
        Key=key,
        Fields={"Content-Type": "video/mp4"},
        Conditions=[{"Content-Type": "video/mp4"}, ["content-length-range", 1, 10**9]],
        ExpiresIn=60,
    )
    fields: dict[str, str] = signed["fields"]
    return fields


def test_policy_signed_with_another_secret_for_our_access_key_is_refused(api, strict_bucket, rgw):
    created = create(api)
    forged = policy_signed_by(
        rgw, strict_bucket, created["key"], rgw.admin.access_key, rgw.other.secret_key
    )
    response = post_to_s3(created["upload"], BODY, fields=forged)
    assert_refused(response, strict_bucket, api, created, 403)


def test_policy_signed_by_another_access_key_is_refused(api, strict_bucket, rgw):
    created = create(api)
    foreign = policy_signed_by(
        rgw, strict_bucket, created["key"], rgw.other.access_key, rgw.other.secret_key
    )
    response = post_to_s3(created["upload"], BODY, fields=foreign)
    assert_refused(response, strict_bucket, api, created, 403)


# ---------------------------------------------------------------- downloads and anonymous access


def uploaded(api, bucket: Bucket) -> dict[str, Any]:
    """Upload and complete a file, returning the record with its download_url."""
    created = send(api, BODY, filename="Été.mp4")
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    record: dict[str, Any] = api.get(f"/api/media/{created['id']}/").json()
    return record


def test_download_url_works_while_valid(api, strict_bucket):
    record = uploaded(api, strict_bucket)
    response = requests.get(record["download_url"], timeout=10)
    assert response.status_code == 200
    assert response.content == BODY
    assert "filename*=utf-8''%C3%89t%C3%A9.mp4" in response.headers["Content-Disposition"]


def test_expired_download_url_is_refused(api, strict_bucket, settings):
    settings.UPLOAD_DOWNLOAD_EXPIRES = 1
    record = uploaded(api, strict_bucket)
    time.sleep(2.5)
    response = requests.get(record["download_url"], timeout=10)
    assert response.status_code == 403
    assert BODY not in response.content


def _with_query(url: str, **changes: str) -> str:
    """Return the URL with some query parameters replaced."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: _with_query(url, **{"X-Amz-Signature": "0" * 64}),
        lambda url: _with_query(url, **{"X-Amz-Expires": "604800"}),
        lambda url: _with_query(url, **{"response-content-disposition": "inline"}),
    ],
    ids=["signature", "longer-expiry", "disposition"],
)
def test_tampered_download_url_is_refused(api, strict_bucket, tamper):
    record = uploaded(api, strict_bucket)
    response = requests.get(tamper(record["download_url"]), timeout=10)
    assert response.status_code in (403, 404)
    assert BODY not in response.content


def test_download_url_of_one_object_cannot_fetch_another_that_exists(api, strict_bucket):
    mine = uploaded(api, strict_bucket)
    other = uploaded(api, strict_bucket)
    assert stored(strict_bucket, other["key"])
    url = mine["download_url"].replace(mine["key"], other["key"], 1)
    assert url != mine["download_url"]
    response = requests.get(url, timeout=10)
    # A signature failure on a key that exists, not a 404 for one that doesn't.
    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text
    assert BODY not in response.content


def test_anonymous_get_and_put_on_objects_are_refused(api, strict_bucket, rgw):
    record = uploaded(api, strict_bucket)
    object_url = f"{rgw.endpoint}/{strict_bucket.name}/{record['key']}"
    assert requests.get(object_url, timeout=10).status_code == 403
    put = requests.put(object_url, data=b"overwritten", timeout=10)
    assert put.status_code == 403
    new_key = f"{rgw.endpoint}/{strict_bucket.name}/incoming/anonymous.mp4"
    assert requests.put(new_key, data=b"planted", timeout=10).status_code == 403
    assert strict_bucket.read(record["key"]) == BODY
    assert not stored(strict_bucket, "incoming/anonymous.mp4")


# ---------------------------------------------------------------- multipart part URLs

MiB = 1024**2


@pytest.fixture
def multipart_upload(api, strict_bucket, settings):
    """A declared multipart upload of 5 MiB + 1 KiB: part 1 of 5 MiB, part 2 of 1 KiB."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB
    body = media_bytes("video/mp4", 5 * MiB + 1024)
    created = create(api, body)
    assert created["upload"]["method"] == "multipart"
    return created, body


def part_urls(api, media_id: str, numbers: list[int]) -> dict[int, str]:
    """Return freshly signed part URLs by part number."""
    response = api.post(f"/api/media/{media_id}/parts/", {"part_numbers": numbers}, format="json")
    assert response.status_code == 200, response.content
    return {part["part_number"]: part["url"] for part in response.json()["parts"]}


def held_parts(bucket: Bucket, created) -> list[int]:
    """Return the part numbers RGW holds for the record's multipart upload."""
    record = MediaFile.objects.get(pk=created["id"])
    listing = bucket.client.list_parts(
        Bucket=bucket.name, Key=record.key, UploadId=record.upload_id
    )
    return [part["PartNumber"] for part in listing.get("Parts", [])]


def test_legitimate_multipart_upload_completes(api, strict_bucket, multipart_upload):
    created, body = multipart_upload
    urls = part_urls(api, created["id"], [1, 2])
    assert requests.put(urls[1], data=body[: 5 * MiB], timeout=30).status_code == 200
    assert requests.put(urls[2], data=body[5 * MiB :], timeout=30).status_code == 200
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 200, completed.content
    assert strict_bucket.read(created["key"]) == body


@pytest.mark.parametrize("extra", [1, -1], ids=["one-byte-longer", "one-byte-shorter"])
def test_part_url_refuses_a_body_of_another_length(api, strict_bucket, multipart_upload, extra):
    created, body = multipart_upload
    url = part_urls(api, created["id"], [2])[2]
    part = body[5 * MiB :]
    wrong = part + b"x" if extra > 0 else part[:-1]
    response = requests.put(url, data=wrong, timeout=30)
    assert response.status_code == 403, response.text
    assert held_parts(strict_bucket, created) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: _with_query(url, **{"X-Amz-Signature": "f" * 64}),
        lambda url: _with_query(url, partNumber="3"),
        lambda url: _with_query(url, **{"X-Amz-SignedHeaders": "host"}),
    ],
    ids=["signature", "part-number", "signed-headers"],
)
def test_tampered_part_url_is_refused(api, strict_bucket, multipart_upload, tamper):
    created, body = multipart_upload
    url = part_urls(api, created["id"], [2])[2]
    response = requests.put(tamper(url), data=body[5 * MiB :], timeout=30)
    assert response.status_code == 403, response.text
    assert held_parts(strict_bucket, created) == []


def test_complete_with_a_missing_part_fails_cleanly(api, strict_bucket, multipart_upload):
    created, body = multipart_upload
    url = part_urls(api, created["id"], [1])[1]
    assert requests.put(url, data=body[: 5 * MiB], timeout=30).status_code == 200
    completed = api.post(f"/api/media/{created['id']}/complete/")
    assert completed.status_code == 409
    assert completed.json() == {
        "detail": "Parts not uploaded yet: 2.",
        "code": "not_received",
        "status": "pending",
    }
    assert MediaFile.objects.get(pk=created["id"]).status == MediaFile.Status.PENDING
    assert not stored(strict_bucket, created["key"])
    assert held_parts(strict_bucket, created) == [1]  # the upload can still be resumed


def test_abort_frees_every_part_on_rgw(api, strict_bucket, multipart_upload):
    created, body = multipart_upload
    url = part_urls(api, created["id"], [1])[1]
    assert requests.put(url, data=body[: 5 * MiB], timeout=30).status_code == 200
    assert api.post(f"/api/media/{created['id']}/abort/").json()["status"] == "aborted"
    uploads = strict_bucket.client.list_multipart_uploads(Bucket=strict_bucket.name)
    assert uploads.get("Uploads", []) == []
    assert not stored(strict_bucket, created["key"])


@pytest.mark.parametrize("named", ["as-sent", "forged-etag"])
def test_complete_with_named_parts_assembles_only_what_rgw_holds(
    api, strict_bucket, multipart_upload, named, listings
):
    created, body = multipart_upload
    urls = part_urls(api, created["id"], [1, 2])
    etags = {
        1: requests.put(urls[1], data=body[: 5 * MiB], timeout=30).headers["ETag"],
        2: requests.put(urls[2], data=body[5 * MiB :], timeout=30).headers["ETag"],
    }
    if named == "forged-etag":
        etags[2] = (
            '"0123456789abcdef0123456789abcdef"'  # RGW refuses it; the server's listing rules
        )
    parts = [{"part_number": n, "etag": etag} for n, etag in etags.items()]
    completed = api.post(f"/api/media/{created['id']}/complete/", {"parts": parts}, format="json")
    assert completed.status_code == 200, completed.content
    assert strict_bucket.read(created["key"]) == body
    # RGW took the list as sent, or refused the forged ETag and the server assembled what it lists.
    assert listings == ([] if named == "as-sent" else [created["key"]])


def test_complete_naming_a_part_rgw_lacks_stays_pending(api, strict_bucket, multipart_upload):
    created, body = multipart_upload
    url = part_urls(api, created["id"], [1])[1]
    etag = requests.put(url, data=body[: 5 * MiB], timeout=30).headers["ETag"]
    parts = [{"part_number": 1, "etag": etag}, {"part_number": 2, "etag": etag}]
    completed = api.post(f"/api/media/{created['id']}/complete/", {"parts": parts}, format="json")
    assert completed.status_code == 409
    assert completed.json()["detail"] == "Parts not uploaded yet: 2."
    assert not stored(strict_bucket, created["key"])
    assert held_parts(strict_bucket, created) == [1]  # the upload can still be resumed
