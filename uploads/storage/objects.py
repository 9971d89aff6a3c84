"""Object calls: signing browser POSTs, PUTs and downloads; HEAD, GET, PUT, copy, delete, list."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.utils import timezone

from uploads import conf
from uploads.storage import signing
from uploads.storage.client import error_code, get_client, translate_errors


@dataclass(frozen=True)
class PresignedPost:
    """A signed browser form: POST all `fields`, then the file as the last field, named `file`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    method: str = "post"


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD request tells about a stored object."""

    size: int
    content_type: str
    etag: str


@dataclass(frozen=True)
class StoredObject:
    """One entry of a bucket listing."""

    key: str
    size: int
    last_modified: datetime


def presign_post(*, key: str, content_type: str, size: int, expires_in: int) -> PresignedPost:
    """Sign a POST policy for exactly this key, this Content-Type and exactly `size` bytes."""
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    with translate_errors("presign POST"):
        # botocore's own form, made without its per-call overhead (signing.py).
        signed = signing.post_form(
            get_client(),
            bucket=conf.bucket(),
            key=key,  # the exact-match {"key": ...} and {"bucket": ...} conditions are added
            fields={"Content-Type": content_type},
            conditions=[
                {"Content-Type": content_type},
                ["content-length-range", size, size],
            ],
            expires_in=expires_in,
        )
    return PresignedPost(url=signed["url"], fields=dict(signed["fields"]), expires_at=expires_at)


def presign_put(*, key: str, content_type: str, expires_in: int) -> str:
    """Sign a PUT of one object with this Content-Type (used by the bucket self-test only)."""
    with translate_errors("presign PUT"):
        return get_client().generate_presigned_url(
            "put_object",
            Params={"Bucket": conf.bucket(), "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
        )


def presign_get(*, key: str, disposition: str, expires_in: int, content_type: str = "") -> str:
    """Sign a short-lived GET of the object served with this Content-Disposition header value
    (`attachment; filename="clip.mp4"`, `inline`…) and, when given, this Content-Type instead of
    the stored one (`text/plain; charset=utf-8`); the caller decides which is safe."""
    with translate_errors("presign GET"):
        return signing.download_url(
            get_client(),
            bucket=conf.bucket(),
            key=key,
            disposition=disposition,
            expires_in=expires_in,
            content_type=content_type,
        )


def presign_inline(*, key: str, expires_in: int) -> str:
    """Sign a short-lived GET served inline: a poster in an `<img>`, or the worker's reads."""
    return presign_get(key=key, disposition="inline", expires_in=expires_in)


def bucket_origin() -> str:
    """Return the scheme://host[:port] browsers reach the bucket at (signed locally, no S3 call).

    Signed by botocore, which never refuses: every page's Content-Security-Policy names this
    origin, even while links are refused for a server clock too far off S3's (clock.py).
    """
    with translate_errors("presign GET"):
        url = get_client().generate_presigned_url(
            "get_object", Params={"Bucket": conf.bucket(), "Key": "origin-probe"}, ExpiresIn=60
        )
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def head_object(key: str) -> ObjectInfo:
    """Return the stored object's size, type and ETag, or raise ObjectNotFound."""
    with translate_errors("HEAD object"):
        response = get_client().head_object(Bucket=conf.bucket(), Key=key)
    return ObjectInfo(
        size=int(response["ContentLength"]),
        content_type=str(response.get("ContentType", "")),
        etag=str(response.get("ETag", "")).strip('"'),
    )


def read_start(*, key: str, length: int) -> tuple[ObjectInfo, bytes]:
    """Return what a HEAD tells (size, type, ETag) and the object's first `length` bytes, from one
    ranged GET, so the bytes are those of the very version described; or raise ObjectNotFound."""
    with translate_errors("GET object range"):
        try:
            response = get_client().get_object(
                Bucket=conf.bucket(), Key=key, Range=f"bytes=0-{length - 1}"
            )
        except ClientError as error:
            if error_code(error) != "InvalidRange":
                raise
            return head_object(key), b""  # an empty object has no byte 0 to send
        try:
            body: bytes = response["Body"].read(length)
        finally:
            response["Body"].close()  # a store that ignored the range sent more: not read
    # "bytes 0-8191/1234567": the whole object's size follows the slash.
    content_range = str(response.get("ContentRange", ""))
    size = content_range.rpartition("/")[2]
    info = ObjectInfo(
        size=int(size) if size.isdigit() else int(response["ContentLength"]),
        content_type=str(response.get("ContentType", "")),
        etag=str(response.get("ETag", "")).strip('"'),
    )
    return info, body


def read_range(*, key: str, start: int, length: int, if_match: str = "") -> bytes:
    """Return up to `length` bytes of the object from `start` (fewer at its end), in one ranged
    GET; with `if_match`, only of the version with that ETag (else ObjectChanged)."""
    if length <= 0:
        return b""
    byte_range = f"bytes={start}-{start + length - 1}"
    # S3 takes an empty If-Match as "any version" no more reliably than leaving it out.
    condition: dict[str, Any] = {"IfMatch": f'"{if_match}"'} if if_match else {}
    with translate_errors("GET object range"):
        try:
            response = get_client().get_object(
                Bucket=conf.bucket(), Key=key, Range=byte_range, **condition
            )
        except ClientError as error:
            if error_code(error) == "InvalidRange":
                return b""  # `start` is at or past the end
            raise
        try:
            body: bytes = response["Body"].read(length)
        finally:
            response["Body"].close()  # a store that ignored the range sent more: not read
    return body


def read_object(key: str) -> bytes:
    """Return a whole object's bytes (callers bound the size first); or raise ObjectNotFound."""
    with translate_errors("GET object"):
        response = get_client().get_object(Bucket=conf.bucket(), Key=key)
        try:
            body: bytes = response["Body"].read()
        finally:
            response["Body"].close()
    return body


def put_object(*, key: str, body: bytes, content_type: str) -> None:
    """Store a small object the server made (a poster, a thumbnail)."""
    with translate_errors("PUT object"):
        get_client().put_object(Bucket=conf.bucket(), Key=key, Body=body, ContentType=content_type)


def put_file(*, key: str, body: IO[bytes], size: int, content_type: str) -> str:
    """Store exactly `size` bytes read from `body` with the server's credentials (a file attached
    from code); return the object's ETag."""
    with translate_errors("PUT object"):
        response = get_client(slow=True).put_object(
            Bucket=conf.bucket(), Key=key, Body=body, ContentLength=size, ContentType=content_type
        )
    return str(response.get("ETag", "")).strip('"')


def copy_object(*, source_key: str, target_key: str, if_match: str) -> str:
    """Copy the object server-side only if its ETag is still `if_match`; return the copy's ETag."""
    with translate_errors("CopyObject"):
        response = get_client(slow=True).copy_object(
            Bucket=conf.bucket(),
            Key=target_key,
            CopySource={"Bucket": conf.bucket(), "Key": source_key},
            # Bytes swapped in after verification have another ETag: S3 answers 412, copies nothing.
            CopySourceIfMatch=f'"{if_match}"',
            MetadataDirective="COPY",
        )
    return str(response.get("CopyObjectResult", {}).get("ETag", "")).strip('"')


def delete_object(key: str) -> None:
    """Delete the object; deleting a missing object is not an error (S3 answers 204 either way)."""
    with translate_errors("DELETE object"):
        get_client().delete_object(Bucket=conf.bucket(), Key=key)


# S3's limit on the keys of one DeleteObjects request, and on a listing page's entries.
DELETE_BATCH = 1000
LIST_PAGE_SIZE = 1000


def delete_objects(keys: list[str]) -> dict[str, str]:
    """Delete up to 1,000 objects in one call; return S3's reason for each key it did not delete.

    A missing key counts as deleted, as with a single DELETE.
    """
    if not keys:
        return {}
    if len(keys) > DELETE_BATCH:
        raise ValueError(f"DeleteObjects takes at most {DELETE_BATCH} keys, not {len(keys)}")
    with translate_errors("DeleteObjects"):
        answer = get_client().delete_objects(
            Bucket=conf.bucket(),
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
    return {
        str(error.get("Key", "")): f"{error.get('Code', '')} {error.get('Message', '')}".strip()
        for error in answer.get("Errors", [])
    }


def list_object_pages(prefix: str) -> Iterator[list[StoredObject]]:
    """Yield the objects under the prefix a page (up to 1,000, in key order) at a time.

    Sweeps act on one page before asking for the next, so their memory stays flat in bucket size.
    """
    with translate_errors("ListObjectsV2"):
        pages = (
            get_client()
            .get_paginator("list_objects_v2")
            .paginate(
                Bucket=conf.bucket(), Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
        )
        for page in pages:
            yield [
                StoredObject(
                    key=str(item["Key"]),
                    size=int(item.get("Size", 0)),
                    last_modified=item["LastModified"],
                )
                for item in page.get("Contents", [])
            ]
