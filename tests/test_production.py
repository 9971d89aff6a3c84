"""Production serving: deploy checks, the health probe, CSP, logs, sign-in throttling, static files
under hashed names, and two gunicorn nodes serving one user interchangeably."""

import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import override_settings
from django.urls import path

from mediaupload import middleware as project_middleware
from mediaupload.urls import urlpatterns as project_urls
from tests.support.clock import shift_app_clock
from tests.support.live import database_url
from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from uploads.storage.local_s3 import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production-like environment: no DEBUG, a real secret, one host, its own database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "UPLOAD_", "DJANGO_", "DEBUG", "SECURE_", "DATABASE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mediaupload.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "media.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://media.example.com",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
            "SECURE_HSTS_PRELOAD": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "CONTENT_UPLOAD_BUCKET": "media-bucket",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
            "AWS_SECRET_ACCESS_KEY": "example-secret-example-secret-example-00",
            "STATIC_ROOT": str(tmp_path / "static"),
            **extra,
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a child process with this environment."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_a_production_like_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_static_files_get_hashed_names_and_module_imports_follow(tmp_path):
    env = production_env(tmp_path)
    result = manage(env, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr
    static = tmp_path / "static" / "uploads"
    hashed = sorted(static.glob("uploader.*.js"))
    assert hashed, sorted(p.name for p in static.iterdir())
    # Follow the imports from the page's entry through every folder: each names a hashed module
    # that collectstatic wrote.
    seen, todo = set(), [hashed[0]]
    while todo:
        module = todo.pop()
        for name in re.findall(r'^import [^;]*? from "(\.{1,2}/[^"]+)";', module.read_text(), re.M):
            target = (module.parent / name).resolve()
            assert re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", target.name), (module.name, name)
            assert target.exists(), (module.name, name)
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert {path.parent.name for path in seen} >= {"core", "ui", "page"}, seen
    assert (static / f"{hashed[0].name}.gz").exists() or (static / f"{hashed[0].name}.br").exists()


# ---------------------------------------------------------------- the health probe


def test_favicon_ico_points_to_the_apps_icon(client):
    response = client.get("/favicon.ico")  # asked by browsers on every page, the admin's too
    assert response.status_code == 302
    assert response["Location"] == static("uploads/favicon.svg")
    assert finders.find("uploads/favicon.svg")


@pytest.mark.functional
@pytest.mark.django_db
def test_healthz_reports_database_and_bucket(client, bucket, settings):
    project_middleware._bucket_seen.clear()
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["media.example.com"]
    # A load balancer probes the node's own address, over plain HTTP.
    response = client.get("/healthz", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "storage": "ok",
        "clock_offset_seconds": 0,  # moto runs on this machine's clock
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_bucket_is_unreachable(client, s3_down):
    project_middleware._bucket_seen.clear()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["storage"].startswith("error")


@pytest.mark.functional
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ahead", "status", "storage"),
    [
        (600, 200, "ok"),  # links are signed with S3's time: the node serves
        (
            1200,
            503,
            "error: the server's clock is 20 minutes ahead of S3's: "
            "S3 refuses requests over 15 minutes off; fix its time (NTP)",
        ),
    ],
)
def test_healthz_reports_the_servers_clock_against_s3s(
    client, bucket, monkeypatch, ahead, status, storage
):
    project_middleware._bucket_seen.clear()
    shift_app_clock(monkeypatch, ahead)
    response = client.get("/healthz")
    assert response.status_code == status
    body = response.json()
    assert body["storage"] == storage
    assert body["clock_offset_seconds"] == pytest.approx(-ahead, abs=2)


# ---------------------------------------------------------------- CSP and logs


@pytest.mark.functional
@pytest.mark.django_db
def test_csp_allows_this_site_blob_previews_and_the_bucket_only(client, user, bucket, settings):
    client.force_login(user)
    header = client.get("/upload/")["Content-Security-Policy"]
    origin = settings.AWS_S3_ENDPOINT_URL
    assert "default-src 'self'" in header and "script-src 'self';" in header
    assert f"connect-src 'self' {origin}" in header
    assert f"img-src 'self' blob: data: {origin}" in header
    assert f"media-src 'self' blob: {origin}" in header
    assert "unsafe-inline" not in header and "*" not in header


def boom(request: Any) -> Any:
    """A view that fails, as a bug would."""
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), *project_urls]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_500_is_logged_with_its_traceback(client, caplog):
    """(The app's API answers its own 500s as JSON: see test_api.)"""
    client.raise_request_exception = False
    request_log = logging.getLogger("django.request")
    request_log.addHandler(caplog.handler)  # it does not propagate: it has its own handler
    try:
        page = client.get("/boom/")
    finally:
        request_log.removeHandler(caplog.handler)
    assert page.status_code == 500
    errors = [record for record in caplog.records if record.name == "django.request"]
    assert errors and errors[0].exc_info and "a bug in a view" in str(errors[0].exc_info[1])


def test_request_errors_go_to_the_console_handler():
    from mediaupload.settings import LOGGING

    assert LOGGING["loggers"]["django.request"]["handlers"] == ["console"]


# ---------------------------------------------------------------- sign-in throttling


def sign_in(client: Any, password: str, address: str = "203.0.113.5", **headers: str) -> Any:
    """Try alice's sign-in from an address."""
    return client.post(
        "/accounts/login/",
        {"username": "alice", "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


@pytest.mark.django_db
def test_sign_in_slows_down_after_repeated_failures(client, user):
    for _ in range(5):
        assert "Please enter a correct username" in sign_in(client, "wrong").content.decode()
    slowed = sign_in(client, "alice-password").content.decode()  # even the right one, for now
    assert "Too many failed sign-ins. Wait 1 s, then try again." in slowed
    # The owner, from their own address, is not locked out by someone else's guesses.
    assert sign_in(client, "alice-password", address="198.51.100.9").status_code == 302
    time.sleep(1.1)
    assert sign_in(client, "alice-password").status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_too(client, user):
    for _ in range(5):
        client.post(
            "/admin/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR="203.0.113.5"
        )
    page = client.post(
        "/admin/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR="203.0.113.5"
    )
    assert "Too many failed sign-ins" in page.content.decode()


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_client_address_counts(client, user, settings):
    settings.TRUSTED_PROXIES = 1
    for number in range(5):
        # The proxy's own address is the same each time; the clients' differ only when forged.
        sign_in(
            client, "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{number}, 9.9.9.9"
        )
    # The nearest proxy saw 9.9.9.9 every time: that address is slowed, whatever was forged.
    assert (
        "Too many"
        in sign_in(
            client, "alice-password", address="10.0.0.1", HTTP_X_FORWARDED_FOR="7.7.7.7, 9.9.9.9"
        ).content.decode()
    )
    other = sign_in(client, "alice-password", address="10.0.0.1", HTTP_X_FORWARDED_FOR="8.8.8.8")
    assert other.status_code == 302


# ---------------------------------------------------------------- stateless nodes


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start one gunicorn node of the app and wait until it answers."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mediaupload.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return process
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    stop_process(process)
    raise RuntimeError("gunicorn did not start")


@pytest.mark.db
@pytest.mark.functional
@pytest.mark.django_db(transaction=True)
def test_create_on_one_node_and_complete_on_another(tmp_path, user, bucket, settings):
    from rest_framework.authtoken.models import Token

    token = Token.objects.get_or_create(user=user)[0].key
    env = production_env(
        tmp_path,
        DATABASE_URL=database_url(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        AWS_S3_ENDPOINT_URL=settings.AWS_S3_ENDPOINT_URL,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        CONTENT_UPLOAD_BUCKET=bucket.name,
    )
    ports = [free_port(), free_port()]
    nodes = [start_gunicorn(env, port) for port in ports]
    try:
        headers = {"Authorization": f"Token {token}"}
        body = media_bytes("video/mp4", 4096)
        created = requests.post(
            f"http://127.0.0.1:{ports[0]}/api/media/",
            json={"filename": "a.mp4", "content_type": "video/mp4", "size": len(body)},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        assert post_to_s3(created.json()["upload"], body).status_code == 204
        completed = requests.post(
            f"http://127.0.0.1:{ports[1]}/api/media/{created.json()['id']}/complete/",
            headers=headers,
            timeout=30,
        )
        assert completed.status_code == 200, completed.text
        assert bucket.read(completed.json()["key"]) == body
    finally:
        for node in nodes:
            stop_process(node)
