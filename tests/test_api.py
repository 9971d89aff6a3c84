"""The MediaFile API over HTTP against a moto S3 server: the flow, its refusals, its errors."""

import base64
import json
import logging
import re
import time
import uuid
from typing import Any

import pytest
import requests
from rest_framework.test import APIClient

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.uploads import declare, send
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
ISO_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"


def create(api: APIClient, body: bytes, **declared: str) -> dict[str, Any]:
    """Declare an upload (as Holiday.MP4 unless told otherwise) and return the 201 body."""
    return declare(api, body, **{"filename": "Holiday.MP4", **declared})


def upload_and_complete(api: APIClient, body: bytes, **declared):
    """Run the whole happy path and return the complete response."""
    created = send(api, body, **{"filename": "Holiday.MP4", **declared})
    return api.post(f"/api/media/{created['id']}/complete/")


# ---------------------------------------------------------------- create


def test_create_answers_record_and_signed_post(api, bucket, settings):
    created = create(api, b"x" * 10)
    assert re.fullmatch(UUID_RE, created["id"])
    assert created["key"] == f"incoming/{created['id']}.mp4"
    assert created["filename"] == "Holiday.MP4"
    assert (created["content_type"], created["size"], created["status"]) == (
        "video/mp4",
        10,
        "pending",
    )
    assert re.fullmatch(ISO_RE, created["created_at"])
    assert created["uploaded_at"] is None
    upload = created["upload"]
    assert upload["method"] == "post"
    assert upload["url"] == f"{settings.AWS_S3_ENDPOINT_URL}/{bucket.name}"
    assert upload["fields"]["key"] == created["key"]
    assert re.fullmatch(ISO_RE, upload["expires_at"])
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 10, 10] in policy["conditions"]
    assert {"key": created["key"]} in policy["conditions"]
    assert {"bucket": bucket.name} in policy["conditions"]
    assert {"Content-Type": "video/mp4"} in policy["conditions"]


def test_create_sets_location_and_stores_the_declaration(api, bucket, user):
    response = api.post(
        "/api/media/", {"filename": "a.webm", "content_type": "video/webm", "size": 7}
    )
    record = MediaFile.objects.get()
    assert response["Location"] == f"/api/media/{record.id}/"
    assert (record.owner, record.filename, record.content_type, record.size) == (
        user,
        "a.webm",
        "video/webm",
        7,
    )
    assert record.status == MediaFile.Status.PENDING
    assert record.expires_at is not None


def test_key_never_contains_the_filename(api, bucket):
    created = create(api, b"x", filename="../../../etc/passwd holiday.mp4")
    assert re.fullmatch(rf"incoming/{UUID_RE}\.mp4", created["key"])
    assert created["filename"] == "../../../etc/passwd holiday.mp4"


def test_unicode_filename_is_kept_for_display(api, bucket):
    created = create(api, b"x", filename="Été à Zürich 🎬.mkv", content_type="video/x-matroska")
    assert created["filename"] == "Été à Zürich 🎬.mkv"
    assert created["key"].endswith(".mkv")


def test_content_type_is_normalised_to_lowercase(api, bucket):
    created = create(api, b"x", content_type="Video/MP4")
    assert created["content_type"] == "video/mp4"
    assert created["upload"]["fields"]["Content-Type"] == "video/mp4"


def test_create_signs_without_contacting_s3(api, s3_down):
    create(api, b"x")


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"content_type": "video/mp4", "size": 1}, "filename", "required"),
        ({"filename": "", "content_type": "video/mp4", "size": 1}, "filename", "blank"),
        ({"filename": "   ", "content_type": "video/mp4", "size": 1}, "filename", "blank"),
        ({"filename": "x" * 256, "content_type": "video/mp4", "size": 1}, "filename", "255"),
        ({"filename": "a\x00b.mp4", "content_type": "video/mp4", "size": 1}, "filename", "Null"),
        ({"filename": "a.mp4", "size": 1}, "content_type", "required"),
        (
            {"filename": "a.txt", "content_type": "text/plain", "size": 1},
            "content_type",
            "not accepted",
        ),
        (
            {"filename": "a.exe", "content_type": "application/x-msdownload", "size": 1},
            "content_type",
            "not accepted",
        ),
        ({"filename": "a.mp4", "content_type": "video", "size": 1}, "content_type", "media type"),
        (
            {"filename": "a.mp4", "content_type": "video/mp4; x=1", "size": 1},
            "content_type",
            "media type",
        ),
        (
            {"filename": "a.mp4", "content_type": "video/mp4\r\nX: y", "size": 1},
            "content_type",
            "media type",
        ),
        ({"filename": "a.mp4", "content_type": "video/mp4"}, "size", "required"),
        (
            {"filename": "a.mp4", "content_type": "video/mp4", "size": 0},
            "size",
            "greater than or equal to 1",
        ),
        (
            {"filename": "a.mp4", "content_type": "video/mp4", "size": -5},
            "size",
            "greater than or equal to 1",
        ),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 1.5}, "size", "valid integer"),
        (
            {"filename": "a.mp4", "content_type": "video/mp4", "size": "lots"},
            "size",
            "valid integer",
        ),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": None}, "size", "null"),
        (
            {"filename": "a.mp4", "content_type": "video/mp4", "size": 5 * 1024**3 + 1},
            "size",
            "not accepted",
        ),
        (
            {"filename": "a.mp4", "content_type": "video/mp4", "size": 10**30},
            "size",
            "not accepted",
        ),
    ],
)
def test_bad_input_gets_400_with_field_messages(api, bucket, payload, field, message):
    response = api.post("/api/media/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert message.lower() in " ".join(body["fields"][field]).lower()
    assert body["detail"].startswith(f"{field}: ")
    assert not MediaFile.objects.exists()


def test_size_limit_follows_settings(api, bucket, settings):
    settings.UPLOAD_MAX_BYTES = 100
    assert (
        api.post(
            "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 101}
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 100}
        ).status_code
        == 201
    )


def test_allowed_types_follow_settings(api, bucket, settings):
    settings.UPLOAD_ALLOWED_TYPES = ["video/mp4"]
    assert (
        api.post(
            "/api/media/", {"filename": "a.webm", "content_type": "video/webm", "size": 1}
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}
        ).status_code
        == 201
    )


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"', b"null"])
def test_malformed_json_gets_400(api, bucket, raw):
    response = api.post("/api/media/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()
    assert not MediaFile.objects.exists()


def test_unsupported_body_type_gets_415(api, bucket):
    response = api.post("/api/media/", b"<xml/>", content_type="application/xml")
    assert response.status_code == 415


# ---------------------------------------------------------------- complete


def test_full_flow_uploads_and_completes(api, bucket, media_bytes):
    response = upload_and_complete(api, media_bytes)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "uploaded"
    assert re.fullmatch(ISO_RE, body["uploaded_at"])
    assert re.fullmatch(r"[0-9a-f]{32}", body["etag"])
    assert bucket.read(body["key"]) == media_bytes
    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.UPLOADED and record.etag == body["etag"]


def test_complete_before_upload_is_refused_and_stays_pending(api, bucket):
    created = create(api, b"abc")
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert response.json()["status"] == "pending"
    assert "no file" in response.json()["detail"]
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_complete_with_wrong_size_fails_and_deletes_the_object(api, bucket):
    created = create(api, b"abc")
    # moto does not enforce the policy's content-length-range, so a wrong size reaches the bucket.
    bucket.put(created["key"], b"abcd", "video/mp4")
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert response.json()["status"] == "failed"
    assert response.json()["code"] == "upload_failed"
    assert "Size mismatch" in response.json()["detail"]
    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.FAILED
    assert "declared 3 bytes" in record.failure_reason
    assert bucket.keys() == []


def test_complete_with_wrong_type_fails_and_deletes_the_object(api, bucket):
    created = create(api, b"abc")
    bucket.put(created["key"], b"abc", "text/html")
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert "Type mismatch" in response.json()["detail"]
    assert MediaFile.objects.get().status == MediaFile.Status.FAILED
    assert bucket.keys() == []


def test_failed_record_stays_failed(api, bucket):
    created = create(api, b"abc")
    bucket.put(created["key"], b"abcd", "video/mp4")
    api.post(f"/api/media/{created['id']}/complete/")
    bucket.put(
        created["key"], b"abc", "video/mp4"
    )  # a correct object arriving late changes nothing
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert MediaFile.objects.get().status == MediaFile.Status.FAILED


def test_complete_answers_the_field_value_a_form_submits_on_every_call(api, user, bucket):
    from uploads.integration import field_values

    first = upload_and_complete(api, media_bytes("video/mp4", 1024), field="demo.episode.video")
    again = api.post(f"/api/media/{first.json()['id']}/complete/")
    assert first.status_code == again.status_code == 200
    for answer in (first.json(), again.json()):
        named = field_values.unsign(
            answer["field_value"], user_id=user.pk, field_id="demo.episode.video"
        )
        assert named == answer["id"]


def test_complete_answers_no_field_value_for_an_upload_made_for_no_field(api, bucket):
    answer = upload_and_complete(api, media_bytes("video/mp4", 1024)).json()
    assert answer["status"] == "uploaded"
    assert answer["field_value"] is None


def test_complete_after_a_cancel_answers_not_pending(api, bucket):
    created = send(api, media_bytes("video/mp4", 1024), filename="Holiday.MP4")
    api.post(f"/api/media/{created['id']}/abort/")
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 409
    assert response.json() | {"detail": ""} == {
        "detail": "",
        "code": "not_pending",
        "status": "aborted",
    }


def test_complete_again_is_idempotent(api, bucket):
    first = upload_and_complete(api, media_bytes("video/mp4", 1024))
    record = MediaFile.objects.get()
    second = api.post(f"/api/media/{record.id}/complete/")
    assert second.status_code == 200
    assert second.json()["uploaded_at"] == first.json()["uploaded_at"]
    assert second.json()["etag"] == first.json()["etag"]
    assert MediaFile.objects.get().updated_at == record.updated_at


def test_complete_when_s3_is_down_answers_503_and_changes_nothing(api, bucket, settings):
    created = create(api, b"abc")
    post_to_s3(created["upload"], b"abc")
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "unavailable" in response.json()["detail"]
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING


def test_complete_of_unknown_id_is_404(api, bucket):
    assert api.post(f"/api/media/{uuid.uuid4()}/complete/").status_code == 404


def test_complete_needs_post(api, bucket):
    created = create(api, b"abc")
    assert api.get(f"/api/media/{created['id']}/complete/").status_code == 405


# ---------------------------------------------------------------- read and delete


def test_list_shows_own_records_newest_first_paginated(api, other_api, bucket):
    ids = [create(api, b"x", filename=f"{n}.mp4")["id"] for n in range(3)]
    create(other_api, b"x", filename="bob.mp4")
    body = api.get("/api/media/").json()
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == ids[::-1]
    page = api.get("/api/media/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]


def test_retrieve_pending_has_no_download_url(api, bucket):
    created = create(api, b"abc")
    body = api.get(f"/api/media/{created['id']}/").json()
    assert body["status"] == "pending" and body["download_url"] is None


def test_uploaded_record_downloads_under_its_original_name(api, bucket):
    video = media_bytes("video/mp4", 1024)
    upload_and_complete(api, video, filename="Été 2026.mp4")
    record = MediaFile.objects.get()
    url = api.get(f"/api/media/{record.id}/").json()["download_url"]
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content == video
    assert "filename*=utf-8''%C3%89t%C3%A9%202026.mp4" in download.headers["Content-Disposition"]
    assert "X-Amz-Expires=300" in url


def test_a_misleading_extension_is_not_what_the_download_is_named(api, bucket):
    png = media_bytes("image/png", 1024)
    upload_and_complete(api, png, filename="invoice.html", content_type="image/png")
    url = api.get(f"/api/media/{MediaFile.objects.get().id}/").json()["download_url"]
    download = requests.get(url, timeout=10)
    assert download.headers["Content-Disposition"] == 'attachment; filename="invoice.png"'


def test_delete_removes_record_and_object(api, bucket, django_capture_on_commit_callbacks):
    upload_and_complete(api, media_bytes("video/mp4", 1024))
    record = MediaFile.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{record.id}/").status_code == 204
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


# ---------------------------------------------------------------- authentication and scoping


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/media/"),
        ("post", "/api/media/"),
        ("get", "/api/media/{id}/"),
        ("delete", "/api/media/{id}/"),
        ("post", "/api/media/{id}/complete/"),
    ],
)
def test_anonymous_requests_get_401(bucket, user, method, path):
    record = MediaFile.objects.create(
        key="incoming/x.mp4", owner=user, filename="x.mp4", content_type="video/mp4", size=1
    )
    response = getattr(APIClient(), method)(path.format(id=record.id))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_gets_401(bucket, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/media/").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/media/{id}/"),
        ("delete", "/api/media/{id}/"),
        ("post", "/api/media/{id}/complete/"),
    ],
)
def test_other_users_records_are_404(api, other_api, bucket, method, path):
    created = create(api, b"abc")
    post_to_s3(created["upload"], b"abc")
    response = getattr(other_api, method)(path.format(id=created["id"]))
    assert response.status_code == 404
    assert MediaFile.objects.get().status == MediaFile.Status.PENDING
    assert other_api.get("/api/media/").json()["count"] == 0


def test_session_auth_requires_csrf(user, bucket):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    payload = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}
    refused = client.post("/api/media/", payload, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/upload/")  # the page sets the CSRF cookie, as in the browser
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/media/", payload, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_malformed_id_is_404(api, bucket):
    assert api.get("/api/media/not-a-uuid/").status_code == 404
    assert api.get("/api/media/12345678-1234-1234-1234-1234567890zz/").status_code == 404


# ---------------------------------------------------------------- one error shape


def test_every_error_answer_has_one_shape(api, bucket, user):
    created = create(api, b"abc")
    answers = {
        "not_authenticated": APIClient().get("/api/media/"),
        "not_found": api.get(f"/api/media/{uuid.uuid4()}/"),
        "method_not_allowed": api.get(f"/api/media/{created['id']}/complete/"),
        "unsupported_media_type": api.post("/api/media/", b"<x/>", content_type="application/xml"),
        "parse_error": api.post("/api/media/", b"{nope", content_type="application/json"),
        "invalid": api.post("/api/media/", {"filename": "a.mp4"}, format="json"),
        "not_received": api.post(f"/api/media/{created['id']}/complete/"),
    }
    for code, response in answers.items():
        body = response.json()
        assert body.get("code") == code, (code, body)
        assert isinstance(body["detail"], str) and body["detail"], (code, body)
    assert answers["not_received"].json()["status"] == "pending"
    assert set(answers["invalid"].json()["fields"]) == {"content_type", "size"}


@pytest.mark.parametrize(
    "path",
    ["/api/media/nothing-here/", f"/api/media/{uuid.uuid4()}/nope/", "/api/s3-events/x"],
)
def test_unknown_urls_under_the_apps_api_prefixes_are_json_404s(api, path):
    for answer in (api.get(path), api.post(path, {}), APIClient().delete(path)):
        assert answer.status_code == 404, (path, answer)
        assert answer.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.functional
def test_the_projects_rest_framework_settings_change_nothing_here(api, bucket, settings):
    settings.REST_FRAMEWORK = {
        "TEST_REQUEST_DEFAULT_FORMAT": "json",
        "DATETIME_FORMAT": "%s",
        "DEFAULT_PAGINATION_CLASS": None,
        "DEFAULT_THROTTLE_RATES": {"user": "1/day"},
    }
    declared = {"filename": "a.mp4", "content_type": "video/mp4", "size": 9}
    created = api.post("/api/media/", declared)
    assert created.status_code == 201
    for stamp in (created.json()["upload"]["expires_at"], created.json()["created_at"]):
        assert stamp.endswith("Z") and "T" in stamp  # ISO 8601, not seconds since the epoch
    listing = api.get("/api/media/")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    again = api.post("/api/media/", declared)
    assert again.status_code == 201  # the project's 1/day rate is not the app's


def test_the_api_authenticates_as_upload_api_authentication_classes_say(api, settings, user):
    settings.UPLOAD_API_AUTHENTICATION_CLASSES = [
        "rest_framework.authentication.SessionAuthentication"
    ]
    assert api.get("/api/media/").status_code == 403  # the token is no longer looked at
    browser = APIClient()
    browser.force_login(user)
    assert browser.get("/api/media/").status_code == 200


def test_the_projects_other_urls_keep_their_html_errors(api):
    for path in ("/no-such-page/", "/api/nothing-here/"):  # /api/ itself is the project's
        page = api.get(path)
        assert page.status_code == 404 and not page["Content-Type"].startswith("application/json")


def test_an_unexpected_error_is_a_json_500_logged_and_signalled(api, monkeypatch, caplog):
    from django.core.signals import got_request_exception

    def broken(**kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("uploads.services.create_upload", broken)
    signalled = []

    def listener(sender, request, **kwargs):
        signalled.append(request.path)

    got_request_exception.connect(listener)
    request_log = logging.getLogger("django.request")  # it does not propagate to caplog's root
    request_log.addHandler(caplog.handler)
    api.raise_request_exception = False
    try:
        response = api.post(
            "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 9}
        )
    finally:
        got_request_exception.disconnect(listener)
        request_log.removeHandler(caplog.handler)
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}
    assert signalled == ["/api/media/"]
    [logged] = [record for record in caplog.records if record.name == "django.request"]
    assert logged.levelname == "ERROR" and logged.exc_info[0] is ZeroDivisionError


def test_deeply_nested_json_is_a_400_not_a_500(api):
    response = api.post(
        "/api/media/", b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_oversized_body_is_a_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api.post(
        "/api/media/", {"filename": "a" * 2000, "content_type": "video/mp4", "size": 1}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_10000_element_part_list_is_refused_quickly_with_a_small_answer(api, bucket, settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1024**2
    created = declare(api, media_bytes("video/mp4", 6 * 1024**2))
    started = time.process_time()
    response = api.post(
        f"/api/media/{created['id']}/parts/",
        {"part_numbers": ["x"] * 10_000},
        format="json",
    )
    spent = time.process_time() - started
    assert response.status_code == 400
    assert "no more than 100" in response.json()["fields"]["part_numbers"][0]
    assert len(response.content) < 1000
    assert spent < 1.0, spent  # the list's length is checked before any element


def test_the_former_json_errors_middleware_still_imports_and_passes_through():
    from django.http import HttpResponse
    from django.test import RequestFactory

    from uploads.middleware import ApiErrorsAsJson

    teapot = HttpResponse(status=418)
    passed = ApiErrorsAsJson(lambda request: teapot)(RequestFactory().get("/api/media/nope/"))
    assert passed is teapot
