"""configure_bucket and check_bucket against moto (set-up, merging, origins) and without any S3."""

import contextlib
import io
import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.support.clock import shift_app_clock
from uploads import storage

ORIGIN = "http://127.0.0.1:8000"


def run(command: str, *args: str) -> str:
    """Run a management command and return what it printed."""
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def empty_bucket(moto_endpoint, settings) -> str:
    """Point the app at a bucket name that does not exist yet."""
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.CONTENT_UPLOAD_BUCKET = f"configured-{uuid.uuid4().hex[:12]}"
    return str(settings.CONTENT_UPLOAD_BUCKET)


@pytest.mark.functional
def test_configure_bucket_adds_our_lifecycle_rules_and_keeps_the_operators(empty_bucket):
    run("configure_bucket", "--origin", ORIGIN)
    operators_rule: Any = {
        "ID": "operators-own-rule",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
    }
    rules: Any = [*storage.lifecycle_rules(), operators_rule]
    storage.get_client().put_bucket_lifecycle_configuration(
        Bucket=empty_bucket, LifecycleConfiguration={"Rules": rules}
    )
    printed = run("configure_bucket", "--origin", ORIGIN)  # again: idempotent
    assert "mediaupload-abort-incomplete-multipart, mediaupload-expire-scratch" in printed
    by_id = {rule["ID"]: rule for rule in storage.lifecycle_rules()}
    assert set(by_id) == {
        "operators-own-rule",
        "mediaupload-abort-incomplete-multipart",
        "mediaupload-expire-scratch",
    }
    abort = by_id["mediaupload-abort-incomplete-multipart"]
    assert abort["Filter"] == {"Prefix": "media/"}
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert by_id["mediaupload-expire-scratch"]["Filter"] == {"Prefix": "incoming/"}


@pytest.mark.functional
def test_configure_bucket_takes_its_origins_from_the_setting(empty_bucket, settings):
    with pytest.raises(CommandError, match="at least one origin"):
        run("configure_bucket")
    settings.UPLOAD_CORS_ORIGINS = "https://a.example, https://b.example"
    run("configure_bucket")
    rules = storage.get_client().get_bucket_cors(Bucket=empty_bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://a.example", "https://b.example"]


@pytest.mark.functional
def test_check_bucket_names_a_missing_bucket_and_lifecycle(empty_bucket):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_bucket", "--origin", ORIGIN, stdout=out)
    assert f"FAIL bucket reachable: {empty_bucket} does not exist" in out.getvalue()

    storage.get_client().create_bucket(Bucket=empty_bucket)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_bucket", "--origin", ORIGIN, stdout=out)
    assert "FAIL lifecycle: missing mediaupload-abort-incomplete-multipart" in out.getvalue()


def test_check_bucket_without_credentials_says_so_and_stops(settings, monkeypatch):
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = ""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 check"):
        call_command("check_bucket", "--origin", ORIGIN, stdout=out)
    assert out.getvalue().splitlines() == [
        "FAIL credentials: none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]


@pytest.mark.functional
@pytest.mark.parametrize(
    ("ahead", "line"),
    [
        (0, "PASS clock: the server's clock agrees with S3's"),
        (
            300,
            "PASS clock: the server's clock is 5 minutes ahead of S3's; links are signed with "
            "S3's time: fix the server's time (NTP)",
        ),
        (
            1200,
            "FAIL clock: the server's clock is 20 minutes ahead of S3's: S3 refuses requests "
            "over 15 minutes off; fix its time (NTP)",
        ),
    ],
)
def test_check_bucket_reports_the_servers_clock_against_s3s(empty_bucket, monkeypatch, ahead, line):
    run("configure_bucket", "--origin", ORIGIN)
    shift_app_clock(monkeypatch, ahead)
    out = io.StringIO()
    with contextlib.suppress(CommandError):
        call_command("check_bucket", "--origin", ORIGIN, stdout=out)
    printed = out.getvalue().splitlines()
    assert line in printed
    if ahead < 15 * 60:  # links still work: every other check passes
        assert printed[-1] == "The bucket is ready for uploads."
    else:  # S3 refuses whatever this server signs: the rest is not tried
        assert printed[-1] == line
