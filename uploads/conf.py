"""The app's settings with their defaults, read at call time so `override_settings` works."""

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from uploads import media_types, protocol

MiB = 1024**2
# S3's limits: a single POST (or PUT) carries at most 5 GiB; an object is at most 5 TiB; a multipart
# upload has at most 10,000 parts of 5 MiB to 5 GiB each (the last part may be smaller).
SINGLE_POST_MAX_BYTES = 5 * 1024**3
OBJECT_MAX_BYTES = 5 * 1024**4
MULTIPART_MAX_PARTS = protocol.limit("max_parts")
PART_MIN_BYTES = 5 * MiB
PART_MAX_BYTES = 5 * 1024**3

# The upload bucket's connection, under the app's own names and, as a group, under the `AWS_*` names
# django-storages and boto3 users already set: the first group with any name set wins whole.
S3_CONNECTION_SETTINGS = {
    "access_key_id": ("UPLOAD_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
    "secret_access_key": ("UPLOAD_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
    "region": ("UPLOAD_S3_REGION", "AWS_DEFAULT_REGION"),
    "endpoint_url": ("UPLOAD_S3_ENDPOINT_URL", "AWS_S3_ENDPOINT_URL"),
    "addressing_style": ("UPLOAD_S3_ADDRESSING_STYLE", "AWS_S3_ADDRESSING_STYLE"),
}
S3_ADDRESSING_STYLES = ("", "auto", "path", "virtual")

DEFAULTS: dict[str, Any] = {
    "UPLOAD_S3_ACCESS_KEY_ID": "",
    "UPLOAD_S3_SECRET_ACCESS_KEY": "",
    "UPLOAD_S3_REGION": "us-east-1",
    "UPLOAD_S3_ENDPOINT_URL": "",
    "UPLOAD_S3_ADDRESSING_STYLE": "",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_S3_ENDPOINT_URL": "",
    "AWS_S3_ADDRESSING_STYLE": "",
    "CONTENT_UPLOAD_BUCKET": "",
    # How API clients prove who they are, in order (the first one's challenge answers a 401).
    "UPLOAD_API_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "UPLOAD_MAX_BYTES": SINGLE_POST_MAX_BYTES,
    "UPLOAD_ALLOWED_TYPES": ["video/*", "audio/*", "image/*"],
    # SVG is an image that can carry script, and Office files with macros carry programs; a site
    # that wants them must allow them on purpose.
    "UPLOAD_DENIED_TYPES": ["image/svg+xml", *media_types.MACRO_ENABLED_TYPES],
    "UPLOAD_VERIFY_CONTENT": True,
    "UPLOAD_POLICY_EXPIRES": 60,
    # 64 KiB/s, about a 0.5 Mbit/s uplink: slow mobile and rural links still finish a POST upload.
    "UPLOAD_MIN_THROUGHPUT": 64 * 1024,
    "UPLOAD_DOWNLOAD_EXPIRES": 300,
    # The longest a link `MediaFile.url(expires=…)` may ask for (SigV4 allows 7 days at most).
    "UPLOAD_DOWNLOAD_MAX_EXPIRES": 7 * 24 * 3600,
    "UPLOAD_KEY_PREFIX": "incoming/",
    "UPLOAD_MEDIA_PREFIX": "media/",
    "UPLOAD_MULTIPART_THRESHOLD": 64 * MiB,
    "UPLOAD_PART_SIZE": 16 * MiB,
    "UPLOAD_MULTIPART_EXPIRES": 24 * 3600,
    "UPLOAD_PARALLEL_PARTS": 4,
    "UPLOAD_PARALLEL_FILES": 2,
    "UPLOAD_CORS_ORIGINS": [],
    # Per user: uploaded plus pending bytes, and uploads in progress (0 turns a limit off).
    "UPLOAD_USER_QUOTA_BYTES": 100 * 1024**3,
    "UPLOAD_USER_MAX_PENDING": 20,
    # Per user, DRF rate strings ("N/second|minute|hour|day").
    "UPLOAD_THROTTLE_CREATE": "120/minute",
    "UPLOAD_THROTTLE_AUTHORIZE": "60/minute",
    "UPLOAD_THROTTLE_PARTS": "300/minute",
    # The CACHES alias that holds throttle counts (Redis or Memcached, shared by every node). Empty:
    # the default cache when it is one of those, else the app's own table, so that counts never
    # stay in one worker's memory (see rate_limits.py).
    "UPLOAD_THROTTLE_CACHE": "",
    # How long a form's upload value stays valid, and how long an unattached field upload is kept.
    "UPLOAD_FIELD_VALUE_MAX_AGE": 24 * 3600,
    # How far S3's clock may be behind ours: a POST policy can still write this long after the
    # deadline we signed into it (S3 compares its own clock), so quota holds and sweeps wait it out.
    "UPLOAD_CLOCK_SKEW": 300,
    "UPLOAD_EVENTS_SECRET": "",
    "UPLOAD_EVENTS_SNS_TOPICS": [],
    # The two speed shortcuts, each checked to answer exactly what the generic code answers: the
    # fast SigV4 signer (storage/signing.py) instead of botocore's presigner, and the API's reuse of
    # a serializer's fields (FastRepresentation in api/serializers.py) instead of DRF's own
    # to_representation. False uses botocore's and DRF's own paths for every request (slower);
    # links are then dated by this server's clock, as botocore dates them, so a clock ahead of
    # S3's by more than a link lives makes signing refuse (storage/clock.py) instead of using S3's.
    "UPLOAD_SPEED_SHORTCUTS": True,
    # Background analysis (uploads/analysis/): off, uploaded files are never analysed (`none`).
    "UPLOAD_ANALYSIS": True,
    # The TASKS backend alias the analysis task is enqueued on.
    "UPLOAD_TASKS_BACKEND": "default",
    # Each ffprobe/ffmpeg run: wall-clock seconds and address space before it is killed.
    "UPLOAD_ANALYSIS_TIMEOUT": 120,
    "UPLOAD_ANALYSIS_MEMORY_BYTES": 1024**3,
    # Attempts before a file that keeps failing for a passing cause is marked failed for good.
    "UPLOAD_ANALYSIS_MAX_ATTEMPTS": 5,
    # A container with no duration (a MediaRecorder WebM) is read whole only up to this size.
    "UPLOAD_ANALYSIS_FULL_READ_MAX": 256 * MiB,
    # Images up to this size are read whole (for the thumbnail); larger ones only their header.
    "UPLOAD_ANALYSIS_IMAGE_MAX_BYTES": 50 * 1000**2,
    # Decompression bombs: an image with more pixels than this is refused before it is decoded.
    "UPLOAD_ANALYSIS_MAX_PIXELS": 100_000_000,
    # Where the server's own files (posters, thumbnails) go: beside the media, never writable by
    # browsers. Longest side in pixels of each, and their format ("webp" or "jpeg").
    "UPLOAD_DERIVED_PREFIX": "derived/",
    "UPLOAD_POSTER_SIZE": 1280,
    "UPLOAD_THUMBNAIL_SIZE": 320,
    "UPLOAD_DERIVED_FORMAT": "webp",
    # What `uploads.attach()` may fetch a URL from besides the public internet (CIDR strings, e.g.
    # an internal media host's network), and on which ports: every other address is refused.
    "UPLOAD_ATTACH_ALLOWED_NETWORKS": [],
    "UPLOAD_ATTACH_ALLOWED_PORTS": [443],
}


def get(name: str) -> Any:
    """Return the project's value for an app setting, or the app's default."""
    return getattr(settings, name, DEFAULTS[name])


@dataclass(frozen=True)
class S3Connection:
    """How the server reaches the upload bucket, and which settings said so."""

    access_key_id: str
    secret_access_key: str
    region: str
    endpoint_url: str
    addressing_style: str
    # The settings names this connection was read from (all UPLOAD_S3_* or all AWS_*).
    names: dict[str, str] = field(compare=False)

    @property
    def uses_app_settings(self) -> bool:
        """Tell whether the app's own UPLOAD_S3_* names are in use."""
        return self.names["endpoint_url"].startswith("UPLOAD_S3_")


def s3_connection() -> S3Connection:
    """Return the bucket's connection: all from UPLOAD_S3_* if any is set, else all from AWS_*."""
    own = any(hasattr(settings, names[0]) for names in S3_CONNECTION_SETTINGS.values())
    names = {part: pair[0 if own else 1] for part, pair in S3_CONNECTION_SETTINGS.items()}
    values = {part: str(get(name) or "") for part, name in names.items()}
    return S3Connection(**values, names=names)


def ignored_aws_settings() -> list[str]:
    """Return the AWS_* connection settings the project sets that the app ignores for the bucket."""
    if not s3_connection().uses_app_settings:
        return []
    return [pair[1] for pair in S3_CONNECTION_SETTINGS.values() if hasattr(settings, pair[1])]


def api_authentication_classes() -> list[type]:
    """Return the authentication classes of the app's API (UPLOAD_API_AUTHENTICATION_CLASSES)."""
    return list(_imported(tuple(_list("UPLOAD_API_AUTHENTICATION_CLASSES"))))


@lru_cache(maxsize=8)
def _imported(paths: tuple[str, ...]) -> tuple[type, ...]:
    """Import dotted class paths once."""
    return tuple(import_string(path) for path in paths)


def bucket() -> str:
    """Return the bucket that receives uploads."""
    return str(get("CONTENT_UPLOAD_BUCKET"))


def max_bytes() -> int:
    """Return the largest declared size an upload may have."""
    return int(get("UPLOAD_MAX_BYTES"))


def _list(name: str) -> list[str]:
    """Return a list setting, accepting a comma-separated string as well."""
    value = get(name)
    if isinstance(value, str):
        value = value.split(",")
    return [item.strip() for item in value if item.strip()]


def allowed_types() -> list[str]:
    """Return the allowed content-type patterns, such as `video/*`."""
    return [pattern.lower() for pattern in _list("UPLOAD_ALLOWED_TYPES")]


def denied_types() -> list[str]:
    """Return the content-type patterns refused even when an allowed pattern matches them."""
    return [pattern.lower() for pattern in _list("UPLOAD_DENIED_TYPES")]


def verify_content() -> bool:
    """Tell whether `complete` checks the file's leading bytes against its declared type."""
    return bool(get("UPLOAD_VERIFY_CONTENT"))


def is_type_allowed(content_type: str) -> bool:
    """Tell whether a content type matches an allowed pattern and no denied one."""
    allowed = any(fnmatchcase(content_type, pattern) for pattern in allowed_types())
    return allowed and not is_type_denied(content_type)


def is_type_denied(content_type: str) -> bool:
    """Tell whether a content type matches a pattern of UPLOAD_DENIED_TYPES."""
    return any(fnmatchcase(content_type, pattern) for pattern in denied_types())


def is_type_accepted(content_type: str) -> bool:
    """Tell whether this type is taken: allowed, not denied, and checkable when checks are on."""
    return is_type_allowed(content_type) and (
        not verify_content() or media_types.is_known(content_type)
    )


def accepted_types() -> list[str]:
    """Return what a browser may pick: the checkable types allowed, or the patterns if unchecked."""
    if verify_content():
        return [name for name in media_types.MEDIA_TYPES if is_type_accepted(name)]
    return allowed_types()


def policy_expires() -> int:
    """Return how many seconds an upload authorization stays valid."""
    return int(get("UPLOAD_POLICY_EXPIRES"))


def min_throughput() -> int:
    """Return the slowest upload speed (bytes per second) a POST authorization allows time for."""
    return int(get("UPLOAD_MIN_THROUGHPUT"))


def download_expires() -> int:
    """Return how many seconds a download link stays valid."""
    return int(get("UPLOAD_DOWNLOAD_EXPIRES"))


def download_max_expires() -> int:
    """Return the longest lifetime, in seconds, a link may be signed for."""
    return int(get("UPLOAD_DOWNLOAD_MAX_EXPIRES"))


def key_prefix() -> str:
    """Return the scratch prefix browsers POST into; nothing there is served."""
    return str(get("UPLOAD_KEY_PREFIX"))


def media_prefix() -> str:
    """Return the prefix of verified objects, which no browser POST policy can write."""
    return str(get("UPLOAD_MEDIA_PREFIX"))


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


def cors_origins() -> list[str]:
    """Return the origins `configure_bucket` lets upload from a browser."""
    return _list("UPLOAD_CORS_ORIGINS")


def events_secret() -> str:
    """Return the shared secret direct storage-event pushes must carry ('' refuses them all)."""
    return str(get("UPLOAD_EVENTS_SECRET"))


def events_sns_topics() -> list[str]:
    """Return the SNS topic ARNs whose signed messages the events endpoint accepts."""
    return _list("UPLOAD_EVENTS_SNS_TOPICS")


def user_quota_bytes() -> int:
    """Return how many bytes (uploaded plus pending) one user may hold; 0 means no limit."""
    return int(get("UPLOAD_USER_QUOTA_BYTES"))


def user_max_pending() -> int:
    """Return how many uploads one user may have in progress; 0 means no limit."""
    return int(get("UPLOAD_USER_MAX_PENDING"))


def throttle_rate(scope: str) -> str | None:
    """Return the rate for a throttled call ("create", "authorize", "parts"); '' turns it off."""
    return str(get(f"UPLOAD_THROTTLE_{scope.upper()}")) or None


def clock_skew() -> timedelta:
    """Return how long after its deadline a signed POST policy may still be accepted by S3."""
    return timedelta(seconds=int(get("UPLOAD_CLOCK_SKEW")))


def speed_shortcuts() -> bool:
    """Tell whether the fast signer and the fast API representation are used
    (UPLOAD_SPEED_SHORTCUTS); off, botocore presigns and DRF represents, as they do by default."""
    return bool(get("UPLOAD_SPEED_SHORTCUTS"))


def field_value_max_age() -> int:
    """Return how many seconds a form field's signed upload value is accepted."""
    return int(get("UPLOAD_FIELD_VALUE_MAX_AGE"))


@dataclass(frozen=True)
class AnalysisSettings:
    """How analysis runs: its limits and what it makes (UPLOAD_ANALYSIS_*, UPLOAD_DERIVED_*)."""

    timeout: float
    memory_bytes: int
    max_attempts: int
    full_read_max: int
    image_max_bytes: int
    max_pixels: int
    poster_size: int
    thumbnail_size: int
    derived_format: str


def analysis() -> AnalysisSettings:
    """Return the analysis settings."""
    return AnalysisSettings(
        timeout=float(get("UPLOAD_ANALYSIS_TIMEOUT")),
        memory_bytes=int(get("UPLOAD_ANALYSIS_MEMORY_BYTES")),
        max_attempts=int(get("UPLOAD_ANALYSIS_MAX_ATTEMPTS")),
        full_read_max=int(get("UPLOAD_ANALYSIS_FULL_READ_MAX")),
        image_max_bytes=int(get("UPLOAD_ANALYSIS_IMAGE_MAX_BYTES")),
        max_pixels=int(get("UPLOAD_ANALYSIS_MAX_PIXELS")),
        poster_size=int(get("UPLOAD_POSTER_SIZE")),
        thumbnail_size=int(get("UPLOAD_THUMBNAIL_SIZE")),
        derived_format=str(get("UPLOAD_DERIVED_FORMAT")).lower(),
    )


def analysis_enabled() -> bool:
    """Tell whether uploaded files are analysed (UPLOAD_ANALYSIS)."""
    return bool(get("UPLOAD_ANALYSIS"))


def tasks_backend() -> str:
    """Return the TASKS alias analysis is enqueued on."""
    return str(get("UPLOAD_TASKS_BACKEND"))


def derived_prefix() -> str:
    """Return the prefix of server-made files (posters, thumbnails), which no browser can write."""
    return str(get("UPLOAD_DERIVED_PREFIX"))


def attach_allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return the non-public networks `uploads.attach()` may still fetch from
    (UPLOAD_ATTACH_ALLOWED_NETWORKS); raise ImproperlyConfigured if one is not a network."""
    networks = []
    for item in _items("UPLOAD_ATTACH_ALLOWED_NETWORKS"):
        try:
            # strict: "10.0.0.1/8" is more likely a typo than a way to write 10.0.0.0/8.
            networks.append(ipaddress.ip_network(item))
        except ValueError as error:
            raise ImproperlyConfigured(f"UPLOAD_ATTACH_ALLOWED_NETWORKS: {error}") from error
    return networks


def attach_allowed_ports() -> list[int]:
    """Return the ports `uploads.attach()` may fetch a URL from (UPLOAD_ATTACH_ALLOWED_PORTS);
    raise ImproperlyConfigured if one is not a TCP port."""
    ports = []
    for item in _items("UPLOAD_ATTACH_ALLOWED_PORTS"):
        if not (item.isascii() and item.isdigit()) or not 1 <= int(item) <= 65535:
            raise ImproperlyConfigured(f"UPLOAD_ATTACH_ALLOWED_PORTS: {item!r} is not a TCP port.")
        ports.append(int(item))
    return ports


def _items(name: str) -> list[str]:
    """Return a list setting's items as text (numbers too), accepting a comma-separated string."""
    value = get(name)
    if isinstance(value, str):
        value = value.split(",")
    try:
        items = [str(item).strip() for item in value]
    except TypeError as error:
        raise ImproperlyConfigured(f"{name} must be a list, not {value!r}.") from error
    return [item for item in items if item]
