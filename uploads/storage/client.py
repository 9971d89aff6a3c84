"""The S3 client, cached per configuration, and the translation of botocore's errors into ours."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from botocore.utils import parse_timestamp

from uploads import conf

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("uploads.storage")

# An unreachable or stalled S3 must become a 503 in seconds, not minutes (botocore's defaults are
# 60 s reads and several retries): 2 attempts x (3 s connect or 5 s read) stays under 15 s.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5
MAX_ATTEMPTS = 2
# Server-side work on a whole object (CopyObject, CompleteMultipartUpload) grows with its size, so
# those calls alone may wait longer for S3's answer.
SLOW_READ_TIMEOUT = 60


class StorageError(Exception):
    """S3 answered with an error we cannot turn into anything more specific."""


class StorageUnavailable(StorageError):
    """S3 could not be reached, or answered with a server error."""


class ClockSkewed(StorageUnavailable):
    """The server's clock is so far off S3's that S3 refuses what the server signs."""


class ObjectNotFound(StorageError):
    """The object, upload or bucket does not exist."""


class ObjectChanged(StorageError):
    """The object no longer has the ETag a conditional request named (it was replaced)."""


class PartsRefused(StorageError):
    """S3 refused the parts named for an assembly: one is missing, or its ETag is not the part's."""


NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchUpload"}
_CHANGED_CODES = {"412", "PreconditionFailed"}
_PARTS_CODES = {"InvalidPart", "InvalidPartOrder"}
# S3 refuses a request dated more than 15 minutes off its own clock.
_SKEWED_CODE = "RequestTimeTooSkewed"


def error_code(error: ClientError) -> str:
    """Return the S3 error code of a ClientError ('' when it carries none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn botocore's exceptions into the app's own."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in NOT_FOUND_CODES or status == 404:
            raise ObjectNotFound(f"{action}: not found") from error
        if code in _CHANGED_CODES or status == 412:
            raise ObjectChanged(f"{action}: the object changed") from error
        if code in _PARTS_CODES:
            raise PartsRefused(f"{action}: S3 refused the parts ({code})") from error
        if code == _SKEWED_CODE:
            raise ClockSkewed(
                f"{action}: the server's clock is over 15 minutes off S3's ({code}); "
                "fix its time (NTP)"
            ) from error
        if status >= 500:
            raise StorageUnavailable(f"{action}: S3 answered {status} {code}") from error
        logger.error("S3 refused %s: %s", action, error)
        raise StorageError(f"{action}: S3 refused the request ({code})") from error
    except (ConnectionError, HTTPClientError) as error:
        raise StorageUnavailable(f"{action}: S3 is unreachable") from error
    except BotoCoreError as error:
        logger.error("S3 client error during %s: %s", action, error)
        raise StorageError(f"{action}: {error}") from error


@lru_cache(maxsize=8)
def _build_client(
    endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    addressing_style: str,
    read_timeout: int,
) -> "S3Client":
    """Build an S3 client; creating one costs milliseconds, so it is cached per configuration."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": cast(Literal["auto", "virtual", "path"], addressing_style)},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    )
    session = boto3.session.Session()
    session._session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=fast_timestamp
    )
    client = session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )
    if endpoint_url:
        client.meta.events.register("before-sign.s3.CopyObject", _also_legacy_copy_condition)
    # Not imported at the top: the clock raises this module's ClockSkewed.
    from uploads.storage import clock

    client.meta.events.register("before-call.s3", clock.before_call)
    client.meta.events.register("after-call.s3", clock.after_call)
    return client


_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def fast_timestamp(value: Any) -> datetime:
    """Parse S3's timestamps without dateutil: ISO 8601 in bodies (`2026-11-29T13:20:00.000Z`)
    and RFC 1123 in headers (`Sun, 29 Nov 2026 13:20:00 GMT`).

    botocore hands every timestamp of a response to dateutil's parser, ~0.1-0.3 ms each: a
    ListParts page of 1,000 parts costs a third of a second of CPU, and every HEAD pays for its
    Last-Modified. The same instant, in UTC; any other form goes to botocore's own parser.
    """
    if isinstance(value, str):
        try:
            if len(value) >= 20 and value[10] == "T" and value[-1] == "Z":
                return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
            if len(value) == 29 and value[3:5] == ", " and value.endswith(" GMT"):
                day, month, year, clock = value[5:25].split(" ")
                hours, minutes, seconds = clock.split(":")
                return datetime(
                    int(year),
                    _MONTHS[month],
                    int(day),
                    int(hours),
                    int(minutes),
                    int(seconds),
                    tzinfo=UTC,
                )
        except (ValueError, KeyError):
            pass
    return parse_timestamp(value)


def _also_legacy_copy_condition(request: Any, **kwargs: Any) -> None:
    """Repeat a copy's source ETag condition under the name Ceph RGW up to 16.x honours.

    RGW (measured on 16.2) ignores the standard `x-amz-copy-source-if-match` and copies whatever the
    source holds, but refuses with 412 on `x-amz-copy-if-match`. Sent only to custom endpoints: AWS
    knows the standard name.
    """
    condition = request.headers.get("x-amz-copy-source-if-match")
    if condition:
        request.headers["x-amz-copy-if-match"] = condition


def credentials_found() -> bool:
    """Tell whether the server has S3 credentials: in settings, or from boto3's default chain."""
    connection = conf.s3_connection()
    if connection.access_key_id and connection.secret_access_key:
        return True
    return boto3.session.Session().get_credentials() is not None


def get_client(*, slow: bool = False) -> "S3Client":
    """Return the S3 client for the current settings (`slow`: for whole-object server-side work)."""
    connection = conf.s3_connection()
    endpoint = connection.endpoint_url
    # S3-compatible stores on a custom endpoint rarely resolve bucket subdomains: use path style.
    style = connection.addressing_style or ("path" if endpoint else "virtual")
    return _build_client(
        endpoint,
        connection.region,
        connection.access_key_id,
        connection.secret_access_key,
        style,
        SLOW_READ_TIMEOUT if slow else READ_TIMEOUT,
    )
