"""System checks: misconfiguration is reported at start, not at the first upload."""

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
