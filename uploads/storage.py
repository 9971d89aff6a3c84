"""The only module that talks to S3: a cached boto3 client, signing, and a few object calls.

botocore's errors never leave this module; callers see `ObjectNotFound`, `StorageUnavailable` or
`StorageError`.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from django.utils import timezone
from django.utils.http import content_disposition_header

from uploads import conf

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """S3 answered with an error we cannot turn into anything more specific."""


class StorageUnavailable(StorageError):
    """S3 could not be reached, or answered with a server error."""


class ObjectNotFound(StorageError):
    """The object (or bucket) does not exist."""


@dataclass(frozen=True)
class PresignedPost:
    """A signed browser form: POST all `fields`, then the file as the last field, named `file`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD request tells about a stored object."""

    size: int
    content_type: str
    etag: str


_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchUpload"}


@contextmanager
def _translate_errors(action: str) -> Iterator[None]:
    """Turn botocore's exceptions into the app's own."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _NOT_FOUND_CODES or status == 404:
            raise ObjectNotFound(f"{action}: not found") from error
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
    endpoint_url: str, region: str, access_key: str, secret_key: str, addressing_style: str
) -> "S3Client":
    """Build an S3 client; creating one costs milliseconds, so it is cached per configuration."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": cast(Literal["auto", "virtual", "path"], addressing_style)},
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


def get_client() -> "S3Client":
    """Return the S3 client for the current settings."""
    endpoint = str(conf.get("AWS_S3_ENDPOINT_URL"))
    # S3-compatible stores on a custom endpoint rarely resolve bucket subdomains: use path style.
    style = str(conf.get("AWS_S3_ADDRESSING_STYLE")) or ("path" if endpoint else "virtual")
    return _build_client(
        endpoint,
        str(conf.get("AWS_DEFAULT_REGION")),
        str(conf.get("AWS_ACCESS_KEY_ID")),
        str(conf.get("AWS_SECRET_ACCESS_KEY")),
        style,
    )


def presign_post(*, key: str, content_type: str, size: int, expires_in: int) -> PresignedPost:
    """Sign a POST policy for exactly this key, this Content-Type and exactly `size` bytes."""
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    with _translate_errors("presign POST"):
        signed = get_client().generate_presigned_post(
            Bucket=conf.bucket(),
            Key=key,  # boto3 adds the exact-match {"key": ...} and {"bucket": ...} conditions
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", size, size],
            ],
            ExpiresIn=expires_in,
        )
    return PresignedPost(url=signed["url"], fields=dict(signed["fields"]), expires_at=expires_at)


def presign_download(*, key: str, filename: str, expires_in: int) -> str:
    """Sign a short-lived GET whose download is named after the original filename."""
    with _translate_errors("presign GET"):
        return get_client().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": conf.bucket(),
                "Key": key,
                # RFC 6266 header with an ASCII fallback and a UTF-8 filename* for other names.
                "ResponseContentDisposition": content_disposition_header(
                    as_attachment=True, filename=filename
                )
                or "attachment",
            },
            ExpiresIn=expires_in,
        )


def head_object(key: str) -> ObjectInfo:
    """Return the stored object's size, type and ETag, or raise ObjectNotFound."""
    with _translate_errors("HEAD object"):
        response = get_client().head_object(Bucket=conf.bucket(), Key=key)
    return ObjectInfo(
        size=int(response["ContentLength"]),
        content_type=str(response.get("ContentType", "")),
        etag=str(response.get("ETag", "")).strip('"'),
    )


def delete_object(key: str) -> None:
    """Delete the object; deleting a missing object is not an error (S3 answers 204 either way)."""
    with _translate_errors("DELETE object"):
        get_client().delete_object(Bucket=conf.bucket(), Key=key)


def configure_bucket(*, cors_origins: list[str]) -> None:
    """Create the bucket if it is missing and let these origins upload to it from a browser."""
    client = get_client()
    bucket = conf.bucket()
    with _translate_errors("configure bucket"):
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) not in _NOT_FOUND_CODES:
                raise
            client.create_bucket(Bucket=bucket, **_location_constraint())
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors_configuration(cors_origins))


def cors_configuration(origins: list[str]) -> Any:
    """Return the CORS rules a browser upload needs (ETag exposed for multipart)."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": origins,
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def _location_constraint() -> dict[str, Any]:
    """Return CreateBucket's location argument; us-east-1 must not send one."""
    region = str(conf.get("AWS_DEFAULT_REGION"))
    if region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}


# ---------------------------------------------------------------- multipart uploads


@dataclass(frozen=True)
class PartInfo:
    """One part S3 holds for a multipart upload."""

    part_number: int
    size: int
    etag: str


def create_multipart_upload(*, key: str, content_type: str) -> str:
    """Start a multipart upload for the key with its final Content-Type; return the upload id."""
    with _translate_errors("create multipart upload"):
        response = get_client().create_multipart_upload(
            Bucket=conf.bucket(), Key=key, ContentType=content_type
        )
    return str(response["UploadId"])


def presign_upload_part(
    *, key: str, upload_id: str, part_number: int, size: int, expires_in: int
) -> str:
    """Sign a PUT for one part with its exact Content-Length, so no other size is accepted."""
    with _translate_errors("presign UploadPart"):
        return get_client().generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": conf.bucket(),
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
                # Signed as a header (X-Amz-SignedHeaders=content-length;host): S3 refuses N±1.
                "ContentLength": size,
            },
            ExpiresIn=expires_in,
        )


def list_parts(*, key: str, upload_id: str) -> list[PartInfo]:
    """Return every part S3 holds for the upload, in part order; ObjectNotFound if it is gone."""
    parts: list[PartInfo] = []
    marker = 0
    with _translate_errors("ListParts"):
        while True:
            # ListParts answers at most 1,000 parts a page; an upload may have 10,000.
            page = get_client().list_parts(
                Bucket=conf.bucket(), Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
            parts.extend(
                PartInfo(
                    part_number=int(part["PartNumber"]),
                    size=int(part["Size"]),
                    etag=str(part["ETag"]),
                )
                for part in page.get("Parts", [])
            )
            if not page.get("IsTruncated"):
                break
            marker = int(page["NextPartNumberMarker"])
    return sorted(parts, key=lambda part: part.part_number)


def complete_multipart_upload(*, key: str, upload_id: str, parts: list[PartInfo]) -> None:
    """Assemble the object from these parts."""
    with _translate_errors("CompleteMultipartUpload"):
        get_client().complete_multipart_upload(
            Bucket=conf.bucket(),
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": part.part_number, "ETag": part.etag} for part in parts]
            },
        )


def abort_multipart_upload(*, key: str, upload_id: str) -> None:
    """Abort the upload and free its parts; an upload that is already gone is fine."""
    try:
        with _translate_errors("AbortMultipartUpload"):
            get_client().abort_multipart_upload(Bucket=conf.bucket(), Key=key, UploadId=upload_id)
    except ObjectNotFound:
        pass
