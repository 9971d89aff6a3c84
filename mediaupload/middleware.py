"""Project middleware: the load balancer's health probe, and the Content-Security-Policy header."""

import json
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

from uploads import conf, storage
from uploads.storage import clock

# The bucket is asked at most this often; a load balancer probes every few seconds.
BUCKET_CHECK_SECONDS = 5.0
_bucket_seen: dict[str, tuple[float, str]] = {}


class HealthCheck:
    """Answer `/healthz` first of all: no HTTPS redirect, no host check, no session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Report the database and the bucket: 200 when both answer, else 503 saying which; and
        S3's time minus this server's (over 15 minutes, S3 refuses what it signs: 503)."""
        if request.path_info != "/healthz":
            return self.get_response(request)
        checks = {"database": _database(), "storage": _bucket()}
        # Read after the bucket check, whose answer may have just measured S3's clock.
        skewed = clock.problem()
        if skewed:
            checks["storage"] = f"error: {skewed}"
        healthy = all(result == "ok" for result in checks.values())
        offset = clock.offset()
        report = {
            "status": "ok" if healthy else "unavailable",
            **checks,
            "clock_offset_seconds": None if offset is None else round(offset),
        }
        return HttpResponse(
            json.dumps(report),
            status=200 if healthy else 503,
            content_type="application/json",
        )


def _database() -> str:
    """Run `SELECT 1`; say 'ok' or what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver error means the database is not usable
        return f"error: {type(error).__name__}"
    return "ok"


def _bucket() -> str:
    """List one key of the bucket, at most every few seconds; say 'ok' or what went wrong."""
    now = time.monotonic()
    seen_at, result = _bucket_seen.get("bucket", (0.0, ""))
    if now - seen_at < BUCKET_CHECK_SECONDS and result:
        return result
    try:
        problem = storage.access_problem()
        result = f"error: {problem}" if problem else "ok"
    except storage.StorageError as error:
        result = f"error: {type(error).__name__}"
    _bucket_seen["bucket"] = (now, result)
    return result


class ContentSecurityPolicy:
    """Scripts, styles and frames from this site only; media and uploads also to the bucket."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Add the header unless a view set its own."""
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy(_bucket_origin_setting()))
        return response


def _bucket_origin_setting() -> str:
    """Return the origin of the URLs the app signs for the current S3 settings."""
    return _cached_origin(conf.s3_connection(), conf.bucket())


@lru_cache(maxsize=8)
def _cached_origin(connection: conf.S3Connection, bucket: str) -> str:
    """Sign once per configuration (no S3 call) and keep the origin."""
    return storage.bucket_origin()


def policy(bucket_origin: str) -> str:
    """Return the Content-Security-Policy: 'self', blob: for local previews, and the bucket."""
    extra = [origin for origin in getattr(settings, "CSP_EXTRA_ORIGINS", []) if origin]
    bucket = " ".join([bucket_origin, *extra])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' blob: data: {bucket}",
            f"media-src 'self' blob: {bucket}",
            f"connect-src 'self' {bucket}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
