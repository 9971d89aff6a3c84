"""System checks: misconfiguration is reported at start, not at the first upload."""

import pytest
from django.core.checks import INFO
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from uploads import conf
from uploads.checks import check_upload_settings


def ids(settings_messages) -> set[str]:
    """Return the ids of the check messages."""
    return {message.id for message in settings_messages}


def test_complete_configuration_passes():
    assert check_upload_settings() == []


def test_missing_bucket_is_an_error(settings):
    settings.CONTENT_UPLOAD_BUCKET = ""
    assert "uploads.E001" in ids(check_upload_settings())


def test_size_limit_up_to_five_tebibytes_is_fine(settings):
    settings.UPLOAD_MAX_BYTES = 5 * 1024**4
    assert check_upload_settings() == []


def test_size_limit_above_the_object_limit_is_an_error(settings):
    settings.UPLOAD_MAX_BYTES = 5 * 1024**4 + 1
    assert "uploads.E003" in ids(check_upload_settings())


def test_part_size_below_s3_minimum_is_an_error(settings):
    settings.UPLOAD_PART_SIZE = 5 * 1024**2 - 1
    assert "uploads.E006" in ids(check_upload_settings())


def test_parallelism_below_one_is_an_error(settings):
    settings.UPLOAD_PARALLEL_PARTS = 0
    assert "uploads.E008" in ids(check_upload_settings())


def test_empty_allowed_types_is_an_error(settings):
    settings.UPLOAD_ALLOWED_TYPES = []
    assert "uploads.E004" in ids(check_upload_settings())


def test_policy_lifetime_out_of_range_is_an_error(settings):
    settings.UPLOAD_POLICY_EXPIRES = 0
    assert "uploads.E005" in ids(check_upload_settings())


def test_half_set_credentials_warn(settings):
    settings.AWS_SECRET_ACCESS_KEY = ""
    assert "uploads.W001" in ids(check_upload_settings())


def test_overlapping_key_spaces_are_an_error(settings):
    settings.UPLOAD_KEY_PREFIX = "uploads/"
    settings.UPLOAD_MEDIA_PREFIX = "uploads/verified/"
    assert "uploads.E009" in ids(check_upload_settings())
    settings.UPLOAD_MEDIA_PREFIX = ""
    assert "uploads.E009" in ids(check_upload_settings())


def test_minimum_throughput_must_be_positive(settings):
    settings.UPLOAD_MIN_THROUGHPUT = 0
    assert "uploads.E010" in ids(check_upload_settings())


def test_a_post_policy_may_not_need_more_than_seven_days(settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 5 * 1024**3  # POSTs up to 5 GiB
    settings.UPLOAD_MIN_THROUGHPUT = 1024  # at 1 KiB/s: about 60 days
    assert "uploads.E011" in ids(check_upload_settings())
    settings.UPLOAD_MIN_THROUGHPUT = 64 * 1024  # under a day
    assert check_upload_settings() == []


# ---------------------------------------------------------------- the bucket's own connection


def test_the_app_settings_replace_the_aws_ones_as_a_group_and_check_says_which(settings):
    settings.UPLOAD_S3_ENDPOINT_URL = "http://127.0.0.1:9100"
    messages = check_upload_settings()
    [info] = [message for message in messages if message.id == "uploads.I001"]
    assert info.level == INFO  # nothing is wrong: the project chose the app's own names
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT_URL"):
        assert name in info.msg
    assert "uploads.W001" not in ids(messages)  # neither key of the app's group is set


def test_one_key_of_the_group_in_use_is_named_by_its_own_name(settings):
    settings.UPLOAD_S3_ACCESS_KEY_ID = "only-the-id"
    [warning] = [m for m in check_upload_settings() if m.id == "uploads.W001"]
    assert "UPLOAD_S3_ACCESS_KEY_ID and UPLOAD_S3_SECRET_ACCESS_KEY" in warning.msg
    settings.UPLOAD_S3_SECRET_ACCESS_KEY = "and-the-secret"
    assert "uploads.W001" not in ids(check_upload_settings())


def test_an_unknown_addressing_style_or_a_non_http_endpoint_is_an_error(settings):
    settings.AWS_S3_ADDRESSING_STYLE = "sideways"
    settings.AWS_S3_ENDPOINT_URL = "127.0.0.1:9000"
    found = {m.id: m.msg for m in check_upload_settings()}
    assert "AWS_S3_ADDRESSING_STYLE" in found["uploads.E012"]
    assert "AWS_S3_ENDPOINT_URL" in found["uploads.E013"]


def test_api_authentication_classes_that_cannot_work_are_errors(settings):
    settings.UPLOAD_API_AUTHENTICATION_CLASSES = ["no.such.Authentication"]
    assert "uploads.E014" in ids(check_upload_settings())
    settings.UPLOAD_API_AUTHENTICATION_CLASSES = [
        "rest_framework.authentication.TokenAuthentication"
    ]
    settings.INSTALLED_APPS = [
        a for a in settings.INSTALLED_APPS if a != "rest_framework.authtoken"
    ]
    assert "uploads.E015" in ids(check_upload_settings())


@pytest.mark.parametrize(
    ("login_url", "warned"),
    [
        ("/accounts/login/", False),
        ("login", False),
        ("admin:login", False),
        ("https://sso.example.com/login", False),
        ("/nowhere/", True),
        ("no-such-name", True),
    ],
)
def test_a_login_url_that_leads_nowhere_is_a_warning(settings, login_url, warned):
    settings.LOGIN_URL = login_url
    assert ("uploads.W003" in ids(check_upload_settings())) is warned


@pytest.mark.django_db
def test_the_models_and_their_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if not


# ---------------------------------------------------------------- fetching URLs for attach()


def test_attach_networks_and_ports_are_read_as_lists_or_comma_strings(settings):
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = "10.20.0.0/16, fd00::/8,"
    settings.UPLOAD_ATTACH_ALLOWED_PORTS = "443, 8443"
    assert [str(network) for network in conf.attach_allowed_networks()] == [
        "10.20.0.0/16",
        "fd00::/8",
    ]
    assert conf.attach_allowed_ports() == [443, 8443]
    settings.UPLOAD_ATTACH_ALLOWED_PORTS = [443, "8443"]
    assert conf.attach_allowed_ports() == [443, 8443]
    assert check_upload_settings() == []


def test_attach_defaults_are_no_network_and_port_443():
    assert conf.attach_allowed_networks() == []
    assert conf.attach_allowed_ports() == [443]


@pytest.mark.parametrize(
    "networks", [["10.0.0.1/8"], ["intranet"], ["10.0.0.0/33"], "10.0.0.0/8,x", 10]
)
def test_an_attach_network_that_is_not_one_is_an_error(settings, networks):
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = networks
    assert "uploads.E022" in ids(check_upload_settings())
    with pytest.raises(ImproperlyConfigured, match="UPLOAD_ATTACH_ALLOWED_NETWORKS"):
        conf.attach_allowed_networks()


@pytest.mark.parametrize("ports", [[0], [65536], ["https"], [True], [443.5], "443,-1"])
def test_an_attach_port_that_is_not_one_is_an_error(settings, ports):
    settings.UPLOAD_ATTACH_ALLOWED_PORTS = ports
    assert "uploads.E022" in ids(check_upload_settings())
    with pytest.raises(ImproperlyConfigured, match="UPLOAD_ATTACH_ALLOWED_PORTS"):
        conf.attach_allowed_ports()
