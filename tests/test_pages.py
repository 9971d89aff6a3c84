"""The HTML pages: the uploader's config and each upload's own page (view, download, delete)."""

import re

import pytest
import requests
from django.test import override_settings
from django.urls import include, path

from tests.support.media import media_bytes
from tests.support.uploads import sent_record
from uploads import services
from uploads.models import MediaFile
from uploads.web.client_config import describe_types


def test_accepted_types_are_said_in_words():
    assert describe_types(["video/mp4", "video/quicktime", "image/png"]) == (
        "video (MP4, MOV), images (PNG)"
    )
    assert describe_types(["video/*", "audio/x-foo"]) == "video, audio (X-FOO)"
    documents = ["application/pdf", "text/plain", "text/csv"]
    assert describe_types(documents) == "documents (PDF), text (TXT, CSV)"


@pytest.mark.functional
@pytest.mark.django_db
def test_an_upload_page_shows_the_file_details_and_a_download(client, user, bucket):
    body = media_bytes("video/mp4", 4096)
    record = services.complete_upload(
        media_file=sent_record(user, body, filename="Summer.mp4"), via="api"
    )
    client.force_login(user)
    response = client.get(f"/uploads/{record.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Summer.mp4" in html
    assert "<video" in html and "video/mp4" in html
    url = response.context["media_url"]
    assert requests.get(url, timeout=10).content == body
    assert "download>Download</a>" in html


@pytest.mark.django_db
def test_another_users_upload_page_is_404(client, user, other_user):
    record = MediaFile.objects.create(
        owner=user, key="incoming/x.mp4", filename="x.mp4", content_type="video/mp4", size=1
    )
    client.force_login(other_user)
    assert client.get(f"/uploads/{record.pk}/").status_code == 404
    assert client.post(f"/uploads/{record.pk}/delete/").status_code == 404
    assert MediaFile.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_upload_pages_need_a_signed_in_user(client, user):
    record = MediaFile.objects.create(
        owner=user, key="incoming/x.mp4", filename="x.mp4", content_type="video/mp4", size=1
    )
    response = client.get(f"/uploads/{record.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------- the uploader page


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/upload/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/upload/"


@pytest.mark.django_db
def test_root_leads_to_the_uploader(client):
    assert client.get("/")["Location"] == "/upload/"


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_login_lands_on_the_uploader(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password"})
    assert response["Location"] == "/upload/"


@pytest.mark.django_db
def test_page_carries_config_and_module(client, user, settings):
    settings.UPLOAD_MAX_BYTES = 1234
    client.force_login(user)
    response = client.get("/upload/")
    assert response.status_code == 200
    config = response.context["uploader_config"]
    assert config["api"] == "/api/media/"
    assert config["maxBytes"] == 1234
    # Checked types only: everything the table can verify that the allowed patterns admit.
    assert {"video/mp4", "video/webm", "audio/mpeg", "image/png"} <= set(config["allowedTypes"])
    assert "image/svg+xml" not in config["allowedTypes"]
    assert config["acceptedSummary"].startswith("video (MP4, M4V, MOV")
    html = response.content.decode()
    assert '<script id="uploader-config" type="application/json">' in html
    assert 'type="module"' in html and "uploads/uploader.js" in html
    assert 'accept="video/mp4,' in html
    assert "Accepted: video (MP4" in html


@pytest.mark.django_db
def test_page_never_contains_s3_credentials(client, user, settings):
    settings.AWS_SECRET_ACCESS_KEY = "super-secret-value"
    settings.AWS_ACCESS_KEY_ID = "AKIAEXAMPLEKEY"
    client.force_login(user)
    html = client.get("/upload/").content.decode()
    assert "super-secret-value" not in html and "AKIAEXAMPLEKEY" not in html


# ---------------------------------------------------------------- the frame of every page

# A project that routes the app and nothing else (no auth URLs, no admin).
urlpatterns = [path("", include("uploads.urls"))]


@pytest.mark.django_db
def test_the_header_names_the_user_and_signs_out_by_post_with_csrf(client, user):
    client.force_login(user)
    html = client.get("/upload/").content.decode()
    assert "Signed in as <strong>alice</strong>" in html
    form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', html, re.S)
    assert form and "csrfmiddlewaretoken" in form.group(1) and "Sign out" in form.group(1)
    signed_out = client.post("/accounts/logout/", {"next": "/upload/"})
    assert signed_out.status_code == 302 and signed_out["Location"] == "/upload/"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LOGIN_URL="/elsewhere/")
def test_a_project_without_a_logout_url_gets_pages_without_sign_out(client, user):
    client.force_login(user)
    response = client.get("/upload/")
    assert response.status_code == 200
    assert "Sign out" not in response.content.decode()


@pytest.mark.functional
@pytest.mark.django_db
def test_an_analysed_video_shows_its_poster_and_what_analysis_found(client, user, bucket):
    record = services.complete_upload(
        media_file=sent_record(user, filename="Summer.mp4"), via="api"
    )
    record.analysis_status = MediaFile.Analysis.DONE
    record.metadata = {
        "kind": "video",
        "container": "webm",
        "width": 1280,
        "height": 720,
        "rotation": 0,
        "display_aspect_ratio": "16:9",
        "duration": 75.4,
        "duration_source": "header",
        "frame_rate": 29.97,
        "video_codec": "vp9",
        "audio_codec": None,
        "has_audio": False,
        "bit_rate": 1_500_000,
    }
    record.derived = {"poster": f"derived/{record.pk}/poster.jpg"}
    record.save()
    client.force_login(user)
    html = client.get(f"/uploads/{record.pk}/").content.decode()
    poster = re.search(r'<video src="[^"]+" poster="([^"]+)"', html)
    assert poster and f"derived/{record.pk}/poster.jpg" in poster.group(1)
    for fact in (
        "<dt>Duration</dt><dd>1:15</dd>",
        "<dt>Picture</dt><dd>1280\N{MULTIPLICATION SIGN}720 (16:9)</dd>",
        "<dt>Frame rate</dt><dd>30 fps</dd>",
        "<dt>Codecs</dt><dd>vp9 video, no audio</dd>",
        "<dt>Bit rate</dt><dd>1.5 Mbit/s</dd>",
    ):
        assert fact in html
    assert "<dt>Analysis</dt>" not in html


@pytest.mark.functional
@pytest.mark.django_db
def test_an_upload_page_says_quietly_where_analysis_stands(client, user, bucket):
    record = services.complete_upload(media_file=sent_record(user, filename="Clip.mp4"), via="api")
    client.force_login(user)
    html = client.get(f"/uploads/{record.pk}/").content.decode()
    assert '<dd class="quiet">Being analysed…</dd>' in html
    assert "poster=" not in html and "<dt>Duration</dt>" not in html
    record.analysis_status = MediaFile.Analysis.FAILED
    record.analysis_reason = "timeout"
    record.save()
    html = client.get(f"/uploads/{record.pk}/").content.decode()
    assert "Not analysed. Analysing the file took longer than the time limit." in html
    assert "Uploaded" in html, "the upload itself is still fine"


@pytest.mark.functional
@pytest.mark.django_db
def test_an_analysed_image_says_its_size_and_format(client, user, bucket):
    body = media_bytes("image/png", 2048)
    sent = sent_record(user, body, filename="Still.png", content_type="image/png")
    record = services.complete_upload(media_file=sent, via="api")
    record.analysis_status = MediaFile.Analysis.DONE
    record.metadata = {
        "kind": "image",
        "format": "PNG",
        "width": 800,
        "height": 600,
        "rotation": 0,
        "orientation": "landscape",
        "animated": False,
        "frames": 1,
    }
    record.save()
    client.force_login(user)
    html = client.get(f"/uploads/{record.pk}/").content.decode()
    assert "<dt>Picture</dt><dd>800\N{MULTIPLICATION SIGN}600 (landscape)</dd>" in html
    assert "<dt>Format</dt><dd>PNG</dd>" in html
    assert "<dt>Animated</dt>" not in html
