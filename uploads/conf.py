"""The app's settings with their defaults, read at call time so `override_settings` works."""

from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings

MiB = 1024**2
# S3's limits: a single POST (or PUT) carries at most 5 GiB; an object is at most 5 TiB; a multipart
# upload has at most 10,000 parts of 5 MiB to 5 GiB each (the last part may be smaller).
SINGLE_POST_MAX_BYTES = 5 * 1024**3
OBJECT_MAX_BYTES = 5 * 1024**4
MULTIPART_MAX_PARTS = 10_000
PART_MIN_BYTES = 5 * MiB
PART_MAX_BYTES = 5 * 1024**3

DEFAULTS: dict[str, Any] = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_S3_ENDPOINT_URL": "",
    "AWS_S3_ADDRESSING_STYLE": "",
    "CONTENT_UPLOAD_BUCKET": "",
    "UPLOAD_MAX_BYTES": SINGLE_POST_MAX_BYTES,
    "UPLOAD_ALLOWED_TYPES": ["video/*", "audio/*", "image/*"],
    "UPLOAD_POLICY_EXPIRES": 60,
    "UPLOAD_DOWNLOAD_EXPIRES": 300,
    "UPLOAD_KEY_PREFIX": "incoming/",
    "UPLOAD_MULTIPART_THRESHOLD": 64 * MiB,
    "UPLOAD_PART_SIZE": 16 * MiB,
    "UPLOAD_MULTIPART_EXPIRES": 24 * 3600,
    "UPLOAD_PARALLEL_PARTS": 4,
    "UPLOAD_PARALLEL_FILES": 2,
}


def get(name: str) -> Any:
    """Return the project's value for an app setting, or the app's default."""
    return getattr(settings, name, DEFAULTS[name])


def bucket() -> str:
    """Return the bucket that receives uploads."""
    return str(get("CONTENT_UPLOAD_BUCKET"))


def max_bytes() -> int:
    """Return the largest declared size an upload may have."""
    return int(get("UPLOAD_MAX_BYTES"))


def allowed_types() -> list[str]:
    """Return the allowed content-type patterns, such as `video/*`."""
    value = get("UPLOAD_ALLOWED_TYPES")
    if isinstance(value, str):
        value = value.split(",")
    return [pattern.strip().lower() for pattern in value if pattern.strip()]


def is_type_allowed(content_type: str) -> bool:
    """Tell whether a content type matches one of the allowed patterns."""
    return any(fnmatchcase(content_type, pattern) for pattern in allowed_types())


def policy_expires() -> int:
    """Return how many seconds an upload authorisation stays valid."""
    return int(get("UPLOAD_POLICY_EXPIRES"))


def download_expires() -> int:
    """Return how many seconds a download link stays valid."""
    return int(get("UPLOAD_DOWNLOAD_EXPIRES"))


def key_prefix() -> str:
    """Return the prefix every object key starts with."""
    return str(get("UPLOAD_KEY_PREFIX"))


def multipart_threshold() -> int:
    """Return the size above which uploads use S3 multipart instead of one POST."""
    return int(get("UPLOAD_MULTIPART_THRESHOLD"))


def part_size() -> int:
    """Return the preferred multipart part size (enlarged where a file needs it)."""
    return int(get("UPLOAD_PART_SIZE"))


def multipart_expires() -> int:
    """Return how many seconds a multipart upload may take before it counts as abandoned."""
    return int(get("UPLOAD_MULTIPART_EXPIRES"))


def parallel_parts() -> int:
    """Return how many parts of one file the browser sends at once."""
    return int(get("UPLOAD_PARALLEL_PARTS"))


def parallel_files() -> int:
    """Return how many files the browser uploads at once."""
    return int(get("UPLOAD_PARALLEL_FILES"))
