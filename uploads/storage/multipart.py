"""S3 multipart upload calls: start, sign or send a part, list parts, assemble, abort, list open
uploads."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from uploads import conf
from uploads.storage import objects, signing
from uploads.storage.client import ObjectNotFound, get_client, translate_errors


@dataclass(frozen=True)
class PartInfo:
    """One part S3 holds for a multipart upload."""

    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload S3 still holds parts for (neither completed nor aborted)."""

    key: str
    upload_id: str
    initiated: datetime


def create_multipart_upload(*, key: str, content_type: str) -> str:
    """Start a multipart upload for the key with its final Content-Type; return the upload id."""
    with translate_errors("create multipart upload"):
        response = get_client().create_multipart_upload(
            Bucket=conf.bucket(), Key=key, ContentType=content_type
        )
    return str(response["UploadId"])


def presign_upload_parts(
    *, key: str, upload_id: str, parts: list[tuple[int, int]], expires_in: int
) -> list[str]:
    """Sign a PUT for each (part number, size) with that exact Content-Length, so no other size
    is accepted."""
    client, bucket = get_client(), conf.bucket()
    with translate_errors("presign UploadPart"):
        # Signed as a header (X-Amz-SignedHeaders=content-length;host): S3 refuses N±1. The URLs
        # are botocore's own, made without its per-call overhead (signing.py).
        return [
            signing.upload_part_url(
                client,
                bucket=bucket,
                key=key,
                upload_id=upload_id,
                part_number=number,
                size=size,
                expires_in=expires_in,
            )
            for number, size in parts
        ]


def upload_part(*, key: str, upload_id: str, part_number: int, body: bytes) -> str:
    """Send one part with the server's credentials (a file attached from code); return its ETag."""
    with translate_errors("UploadPart"):
        response = get_client(slow=True).upload_part(
            Bucket=conf.bucket(), Key=key, UploadId=upload_id, PartNumber=part_number, Body=body
        )
    return str(response["ETag"])


def list_parts(*, key: str, upload_id: str) -> list[PartInfo]:
    """Return every part S3 holds for the upload, in part order; ObjectNotFound if it is gone."""
    parts: list[PartInfo] = []
    marker = 0
    with translate_errors("ListParts"):
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


def complete_multipart_upload(*, key: str, upload_id: str, etags: Mapping[int, str]) -> None:
    """Assemble the object from these parts (part number → ETag), in part order.

    Raises PartsRefused if S3 holds no such part or another ETag for one, ObjectNotFound if the
    upload is gone (already assembled, or aborted).
    """
    with translate_errors("CompleteMultipartUpload"):
        get_client(slow=True).complete_multipart_upload(
            Bucket=conf.bucket(),
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": number, "ETag": etags[number]} for number in sorted(etags)]
            },
        )


def abort_multipart_upload(*, key: str, upload_id: str) -> None:
    """Abort the upload and free its parts; an upload that is already gone is fine."""
    try:
        with translate_errors("AbortMultipartUpload"):
            get_client().abort_multipart_upload(Bucket=conf.bucket(), Key=key, UploadId=upload_id)
    except ObjectNotFound:
        pass


def list_multipart_upload_pages(prefix: str) -> Iterator[list[OpenUpload]]:
    """Yield the open multipart uploads under the prefix a page (up to 1,000) at a time."""
    with translate_errors("ListMultipartUploads"):
        pages = (
            get_client()
            .get_paginator("list_multipart_uploads")
            .paginate(
                Bucket=conf.bucket(),
                Prefix=prefix,
                PaginationConfig={"PageSize": objects.LIST_PAGE_SIZE},
            )
        )
        for page in pages:
            yield [
                OpenUpload(
                    key=str(item["Key"]),
                    upload_id=str(item["UploadId"]),
                    initiated=item["Initiated"],
                )
                for item in page.get("Uploads", [])
            ]
