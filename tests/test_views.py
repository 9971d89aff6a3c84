"""The uploader page: login required, and the settings its script needs."""

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/upload/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/upload/"


def test_root_leads_to_the_uploader(client):
    assert client.get("/")["Location"] == "/upload/"


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_login_lands_on_the_uploader(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password"})
    assert response["Location"] == "/upload/"


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


def test_page_never_contains_s3_credentials(client, user, settings):
    settings.AWS_SECRET_ACCESS_KEY = "super-secret-value"
    settings.AWS_ACCESS_KEY_ID = "AKIAEXAMPLEKEY"
    client.force_login(user)
    html = client.get("/upload/").content.decode()
    assert "super-secret-value" not in html and "AKIAEXAMPLEKEY" not in html
