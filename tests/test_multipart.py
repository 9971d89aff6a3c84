"""Multipart uploads through the API against a moto server, with plain HTTP PUTs for the parts."""

from typing import Any

import pytest
import requests
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from tests.support.media import media_bytes
from tests.support.uploads import declare
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

MiB = 1024**2


@pytest.fixture
def small_parts(settings):
    """Multipart from 6 MiB up, in 5 MiB parts (S3's minimum), so tests stay small."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 6 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB


@pytest.fixture
def video() -> bytes:
    """Twelve MiB and a bit: three parts of 5, 5 and 2 MiB (+3 bytes)."""
    return media_bytes("video/mp4", 12 * MiB + 3)


def sign(api, media_id: str, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """Ask for part URLs and return them by part number."""
    response = api.post(f"/api/media/{media_id}/parts/", {"part_numbers": numbers}, format="json")
    assert response.status_code == 200, response.content
    return {part["part_number"]: part for part in response.json()["parts"]}


def put_parts(api, created, body: bytes, numbers: list[int]) -> dict[int, str]:
    """Upload these parts with plain HTTP PUTs, as a browser would; return their ETags."""
    size = created["upload"]["part_size"]
    etags = {}
    for number, part in sign(api, created["id"], numbers).items():
        chunk = body[(number - 1) * size : number * size]
        assert part["size"] == len(chunk)
        response = requests.put(part["url"], data=chunk, timeout=30)
        assert response.status_code == 200, response.text
        etags[number] = response.headers["ETag"]
    return etags


def named(etags: dict[int, str]) -> dict[str, Any]:
    """A complete/ body naming these parts."""
    return {"parts": [{"part_number": n, "etag": etag} for n, etag in sorted(etags.items())]}


def multipart_uploads(bucket) -> list[dict[str, Any]]:
    """Return the multipart uploads S3 still has open in the bucket."""
    uploads: list[dict[str, Any]] = bucket.client.list_multipart_uploads(Bucket=bucket.name).get(
        "Uploads", []
    )
    return uploads


def test_large_file_gets_a_multipart_plan(api, bucket, small_parts, video):
    created = declare(api, video)
    assert created["upload"]["method"] == "multipart"
    assert (created["upload"]["part_size"], created["upload"]["part_count"]) == (5 * MiB, 3)
    assert created["upload_method"] == "multipart"
    assert "url" not in created["upload"] and "upload_id" not in str(created)
    assert len(multipart_uploads(bucket)) == 1
    record = MediaFile.objects.get()
    assert record.upload_id and record.part_size == 5 * MiB


def test_a_new_multipart_upload_comes_with_its_first_part_urls(api, bucket, small_parts, settings):
    settings.UPLOAD_PARALLEL_PARTS = 2
    body = media_bytes("video/mp4", 26 * MiB)  # six parts: the first 2 x 2 come signed
    created = declare(api, body)
    first = created["upload"]["first_parts"]
    assert [part["part_number"] for part in first["parts"]] == [1, 2, 3, 4]
    assert f"X-Amz-Expires={settings.UPLOAD_POLICY_EXPIRES}" in first["parts"][0]["url"]
    for part in first["parts"]:  # S3 takes each part on the URL that came with the record
        number, size = part["part_number"], part["size"]
        chunk = body[(number - 1) * 5 * MiB : (number - 1) * 5 * MiB + size]
        assert requests.put(part["url"], data=chunk, timeout=30).status_code == 200
    for number, part in sign(api, created["id"], [5, 6]).items():
        chunk = body[(number - 1) * 5 * MiB : (number - 1) * 5 * MiB + part["size"]]
        assert requests.put(part["url"], data=chunk, timeout=30).status_code == 200
    done = api.post(f"/api/media/{created['id']}/complete/").json()
    assert (done["status"], done["etag"][-2:]) == ("uploaded", "-6")
    # A plan given again (authorize) signs nothing ahead: a resuming client asks for what it misses.
    again = declare(api, body)
    upload = api.post(f"/api/media/{again['id']}/authorize/").json()["upload"]
    assert upload.get("first_parts") is None


def test_small_file_still_uses_a_single_post(api, bucket, small_parts):
    created = declare(api, b"x" * 6 * MiB)
    assert created["upload"]["method"] == "post"
    assert created["upload_method"] == "post"


def test_multipart_upload_completes_and_object_equals_file(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 2, 3])
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "uploaded"
    assert body["etag"].endswith("-3")
    assert body["bytes_confirmed"] == len(video)
    assert bucket.read(created["key"]) == video
    head = bucket.client.head_object(Bucket=bucket.name, Key=created["key"])
    assert head["ContentType"] == "video/mp4"
    assert multipart_uploads(bucket) == []


def test_complete_with_every_part_named_assembles_without_listing(
    api, bucket, small_parts, video, listings
):
    created = declare(api, video)
    etags = put_parts(api, created, video, [1, 2, 3])
    # Quoted as S3 sent them, or not: S3 gets the quoted form.
    etags[2] = etags[2].strip('"')
    response = api.post(f"/api/media/{created['id']}/complete/", named(etags), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "uploaded"
    assert bucket.read(created["key"]) == video
    assert listings == []
    record = MediaFile.objects.get()
    assert (record.parts_confirmed, record.bytes_confirmed) == (3, len(video))


def test_complete_with_a_wrong_etag_falls_back_to_what_storage_lists(
    api, bucket, small_parts, video, listings
):
    created = declare(api, video)
    etags = put_parts(api, created, video, [1, 2, 3])
    etags[2] = '"0123456789abcdef0123456789abcdef"'  # not what S3 holds for part 2
    response = api.post(f"/api/media/{created['id']}/complete/", named(etags), format="json")
    assert response.status_code == 200, response.content
    assert listings == [created["key"]]
    assert bucket.read(created["key"]) == video


def test_complete_naming_a_part_not_sent_is_refused_and_stays_pending(
    api, bucket, small_parts, video
):
    created = declare(api, video)
    etags = put_parts(api, created, video, [1, 3])
    etags[2] = etags[1]  # the client claims part 2 went up; S3 holds no part 2
    response = api.post(f"/api/media/{created['id']}/complete/", named(etags), format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Parts not uploaded yet: 2."
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING
    assert len(multipart_uploads(bucket)) == 1


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "empty"),
        ([{"part_number": 1, "etag": '"a"'}, {"part_number": 2, "etag": '"b"'}], "parts 1 to 3"),
        ([{"part_number": n, "etag": '"a"'} for n in (1, 2, 3, 4)], "parts 1 to 3"),
        ([{"part_number": n, "etag": '"a"'} for n in (1, 2, 2, 3)], "once"),
        ([{"part_number": 1, "etag": 'a"b'}], "etag"),
        ([{"part_number": 0, "etag": "a"}], "part_number"),
        ([{"part_number": 1}], "etag"),
        ("1", "list"),
        ([{"part_number": n, "etag": "a"} for n in range(1, 10_002)], "no more than 10000"),
    ],
)
def test_bad_part_lists_on_complete_get_400(api, bucket, small_parts, video, parts, message):
    created = declare(api, video)
    response = api.post(f"/api/media/{created['id']}/complete/", {"parts": parts}, format="json")
    assert response.status_code == 400, response.content
    assert message in str(response.json()["fields"]["parts"])
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_parts_named_on_completing_a_post_upload_are_a_conflict(api, bucket):
    created = declare(api, media_bytes("video/mp4", 2048))
    body = {"parts": [{"part_number": 1, "etag": '"a"'}]}
    response = api.post(f"/api/media/{created['id']}/complete/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_multipart")
    assert MediaFile.objects.get().claim_token is None


@pytest.mark.parametrize(
    ("asked", "signed"), [(0, None), (3, [1, 2, 3]), (100, [1, 2, 3, 4, 5, 6])]
)
def test_a_client_says_how_many_part_urls_come_with_its_record(
    api, bucket, small_parts, asked, signed
):
    declared = {"filename": "a.mp4", "content_type": "video/mp4", "size": 26 * MiB}
    response = api.post("/api/media/", {**declared, "first_part_count": asked}, format="json")
    assert response.status_code == 201, response.content
    first = response.json()["upload"].get("first_parts")
    assert (first and [part["part_number"] for part in first["parts"]]) == signed


@pytest.mark.parametrize("asked", [-1, 101, "many"])
def test_a_bad_first_part_count_gets_400(api, bucket, small_parts, asked):
    declared = {"filename": "a.mp4", "content_type": "video/mp4", "size": 26 * MiB}
    response = api.post("/api/media/", {**declared, "first_part_count": asked}, format="json")
    assert response.status_code == 400
    assert "first_part_count" in response.json()["fields"]
    assert not MediaFile.objects.exists()


def test_part_urls_carry_exact_sizes_and_short_expiry(api, bucket, small_parts, video, settings):
    created = declare(api, video)
    parts = sign(api, created["id"], [3, 1])
    assert (parts[1]["size"], parts[3]["size"]) == (5 * MiB, 2 * MiB + 3)
    assert f"X-Amz-Expires={settings.UPLOAD_POLICY_EXPIRES}" in parts[1]["url"]
    assert "X-Amz-SignedHeaders=content-length%3Bhost" in parts[1]["url"]
    assert "partNumber=1" in parts[1]["url"]


def test_resume_uploads_only_the_missing_parts(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 3])

    listing = api.get(f"/api/media/{created['id']}/parts/").json()
    assert [part["part_number"] for part in listing["parts"]] == [1, 3]
    assert listing["bytes_confirmed"] == 7 * MiB + 3
    assert (listing["part_size"], listing["part_count"]) == (5 * MiB, 3)
    assert MediaFile.objects.get().bytes_confirmed == 7 * MiB + 3  # visible in the admin

    missing = sorted({1, 2, 3} - {part["part_number"] for part in listing["parts"]})
    assert missing == [2]
    put_parts(api, created, video, missing)
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    assert bucket.read(created["key"]) == video


def test_complete_with_a_missing_part_is_refused_and_stays_pending(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 3])
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Parts not uploaded yet: 2.",
        "code": "not_received",
        "status": "pending",
    }
    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.PENDING
    assert record.parts_confirmed == 2  # progress kept although complete was refused
    assert len(multipart_uploads(bucket)) == 1


def test_part_of_the_wrong_size_fails_the_upload(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 2])
    # moto ignores the signed Content-Length; a real S3 refuses this PUT (see the strict tier).
    url = sign(api, created["id"], [3])[3]["url"]
    assert requests.put(url, data=b"short", timeout=30).status_code == 200
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert response.json()["status"] == "failed"
    assert "Part 3 holds 5 bytes" in response.json()["detail"]
    assert multipart_uploads(bucket) == []
    assert bucket.keys() == []


def test_complete_twice_after_multipart_is_idempotent(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 2, 3])
    first = api.post(f"/api/media/{created['id']}/complete/").json()
    second = api.post(f"/api/media/{created['id']}/complete/")
    assert second.status_code == 200
    assert second.json()["etag"] == first["etag"]


def test_abort_leaves_no_upload_behind(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1])
    response = api.post(f"/api/media/{created['id']}/abort/")
    assert response.status_code == 200
    assert response.json()["status"] == "aborted"
    assert multipart_uploads(bucket) == []
    assert bucket.keys() == []
    assert MediaFile.objects.get().status == MediaFile.Status.ABORTED
    assert api.post(f"/api/media/{created['id']}/abort/").status_code == 200  # idempotent
    refused = api.post(f"/api/media/{created['id']}/parts/", {"part_numbers": [2]}, format="json")
    assert refused.status_code == 409
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 409


def test_abort_of_a_post_upload_deletes_a_landed_object(api, bucket):
    response = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 3}
    )
    created = response.json()
    bucket.put(created["key"], b"abc", "video/mp4")
    assert api.post(f"/api/media/{created['id']}/abort/").json()["status"] == "aborted"
    assert bucket.keys() == []


def test_uploaded_records_cannot_be_aborted(api, bucket, small_parts, video):
    created = declare(api, video)
    put_parts(api, created, video, [1, 2, 3])
    api.post(f"/api/media/{created['id']}/complete/")
    response = api.post(f"/api/media/{created['id']}/abort/")
    assert response.status_code == 409
    assert response.json()["status"] == "uploaded"
    assert bucket.read(created["key"]) == video


def test_deleting_a_pending_multipart_record_aborts_its_upload(
    api, bucket, small_parts, video, django_capture_on_commit_callbacks
):
    created = declare(api, video)
    put_parts(api, created, video, [1])
    with django_capture_on_commit_callbacks(execute=True):  # the objects go once the row has
        assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    assert multipart_uploads(bucket) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "required"),
        ({"part_numbers": []}, "empty"),
        ({"part_numbers": [0]}, "greater than or equal to 1"),
        ({"part_numbers": [4]}, "parts 1 to 3"),
        ({"part_numbers": [1, 1]}, "once"),
        ({"part_numbers": "1"}, "list"),
        ({"part_numbers": list(range(1, 102))}, "no more than 100"),
    ],
)
def test_bad_part_requests_get_400(api, bucket, small_parts, video, payload, message):
    created = declare(api, video)
    response = api.post(f"/api/media/{created['id']}/parts/", payload, format="json")
    assert response.status_code == 400
    assert message in str(response.json()["fields"]["part_numbers"])


def test_parts_of_a_post_upload_are_a_conflict(api, bucket):
    response = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 3}
    )
    media_id = response.json()["id"]
    assert api.get(f"/api/media/{media_id}/parts/").status_code == 409
    assert api.post(f"/api/media/{media_id}/parts/", {"part_numbers": [1]}).status_code == 409


def test_other_users_cannot_sign_or_list_parts(api, other_api, bucket, small_parts, video):
    created = declare(api, video)
    assert other_api.get(f"/api/media/{created['id']}/parts/").status_code == 404
    assert (
        other_api.post(f"/api/media/{created['id']}/parts/", {"part_numbers": [1]}).status_code
        == 404
    )
    assert other_api.post(f"/api/media/{created['id']}/abort/").status_code == 404
    assert other_api.post(f"/api/media/{created['id']}/authorize/").status_code == 404


@pytest.mark.parametrize("quotas", ["on", "off"])
def test_create_when_s3_is_down_for_multipart_answers_503(
    api, s3_down, small_parts, video, settings, quotas
):
    if quotas == "off":
        settings.UPLOAD_USER_QUOTA_BYTES = settings.UPLOAD_USER_MAX_PENDING = 0
    response = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": len(video)}
    )
    assert response.status_code == 503
    assert not MediaFile.objects.exists()


def test_without_quotas_a_multipart_record_is_written_once_with_its_upload_id(
    api, bucket, small_parts, video, settings
):
    settings.UPLOAD_USER_QUOTA_BYTES = settings.UPLOAD_USER_MAX_PENDING = 0
    with CaptureQueriesContext(connection) as queries:
        created = declare(api, video)
    writes = [
        q["sql"].split()[0] for q in queries.captured_queries if "uploads_mediafile" in q["sql"]
    ]
    assert writes == ["INSERT"]
    (open_upload,) = multipart_uploads(bucket)
    assert MediaFile.objects.get(pk=created["id"]).upload_id == open_upload["UploadId"]


def test_without_quotas_a_record_that_cannot_be_saved_leaves_no_upload_open(
    api, bucket, small_parts, video, settings, monkeypatch
):
    settings.UPLOAD_USER_QUOTA_BYTES = settings.UPLOAD_USER_MAX_PENDING = 0

    def failing_save(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("the database went away")

    monkeypatch.setattr(MediaFile, "save", failing_save)
    with pytest.raises(DatabaseError):
        declare(api, video)
    assert multipart_uploads(bucket) == []


def test_sizes_above_the_post_limit_are_accepted_when_allowed(api, bucket, settings):
    settings.UPLOAD_MAX_BYTES = 5 * 1024**4
    settings.UPLOAD_USER_QUOTA_BYTES = 0  # no quota: the size limit is the point here
    response = api.post(
        "/api/media/",
        {"filename": "film.mkv", "content_type": "video/x-matroska", "size": 5 * 1024**4},
    )
    assert response.status_code == 201
    upload = response.json()["upload"]
    assert upload["method"] == "multipart"
    assert upload["part_count"] <= 10_000
    assert upload["part_size"] * upload["part_count"] >= 5 * 1024**4


# ---------------------------------------------------------------- authorize again and list filters


def test_pending_post_upload_gets_a_fresh_policy_for_the_same_key(api, bucket):
    clip = media_bytes("video/mp4", 1024)
    created = declare(api, clip)
    response = api.post(f"/api/media/{created['id']}/authorize/")
    assert response.status_code == 200
    upload = response.json()["upload"]
    assert upload["method"] == "post"
    assert upload["fields"]["key"] == created["key"]
    assert (
        requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("a.mp4", clip, "video/mp4")},
            timeout=30,
        ).status_code
        == 204
    )
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    assert MediaFile.objects.count() == 1


def test_terminal_records_get_no_new_authorization(api, bucket):
    created = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 3}
    ).json()
    api.post(f"/api/media/{created['id']}/abort/")
    response = api.post(f"/api/media/{created['id']}/authorize/")
    assert response.status_code == 409
    assert response.json()["status"] == "aborted"


def test_multipart_record_authorizes_its_plan_again(api, bucket, small_parts, video):
    created = declare(api, video)
    upload = api.post(f"/api/media/{created['id']}/authorize/").json()["upload"]
    assert upload["method"] == "multipart"
    assert (upload["part_size"], upload["part_count"]) == (5 * MiB, 3)
    assert len(multipart_uploads(bucket)) == 1  # the same S3 upload, not a new one


def test_list_filters_by_status(api, bucket):
    kept = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 3}
    ).json()
    gone = api.post(
        "/api/media/", {"filename": "b.mp4", "content_type": "video/mp4", "size": 3}
    ).json()
    api.post(f"/api/media/{gone['id']}/abort/")
    pending = api.get("/api/media/?status=pending").json()
    assert [item["id"] for item in pending["results"]] == [kept["id"]]
    assert api.get("/api/media/?status=bogus").status_code == 400


def test_parts_of_an_upload_aborted_outside_the_app_are_a_conflict(api, bucket, small_parts, video):
    created = declare(api, video)
    record = MediaFile.objects.get()
    bucket.client.abort_multipart_upload(
        Bucket=bucket.name, Key=record.key, UploadId=record.upload_id
    )
    response = api.get(f"/api/media/{created['id']}/parts/")
    assert response.status_code == 409
    assert response.json()["status"] == "pending"
    assert "start it again" in response.json()["detail"]
