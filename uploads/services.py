"""Business rules for uploads: create, complete, delete and re-verify MediaFile records."""

import logging
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from uploads import conf, storage
from uploads.keys import build_key
from uploads.models import MediaFile

logger = logging.getLogger(__name__)


class UploadNotReceived(Exception):
    """`complete` was called but the bucket holds no object under the record's key."""


@dataclass(frozen=True)
class CreatedUpload:
    """A new pending record and the authorisation its browser needs."""

    media_file: MediaFile
    upload: storage.PresignedPost


def create_upload(*, owner: User, filename: str, content_type: str, size: int) -> CreatedUpload:
    """Make a pending record and sign a POST policy for exactly its key, type and size."""
    media_id = uuid.uuid4()
    key = build_key(media_id, filename)
    upload = storage.presign_post(
        key=key, content_type=content_type, size=size, expires_in=conf.policy_expires()
    )
    media_file = MediaFile.objects.create(
        id=media_id,
        key=key,
        owner=owner,
        filename=filename,
        content_type=content_type,
        size=size,
        expires_at=upload.expires_at,
    )
    return CreatedUpload(media_file=media_file, upload=upload)


def complete_upload(*, media_file: MediaFile) -> MediaFile:
    """Check the object in the bucket and settle a pending record; terminal records stay put.

    Raises UploadNotReceived while the object is missing (the record stays pending) and
    storage.StorageUnavailable when S3 cannot be asked (nothing changes).
    """
    with transaction.atomic():
        # The row lock makes concurrent completes queue here, so exactly one of them decides.
        record = MediaFile.objects.select_for_update().get(pk=media_file.pk)
        if record.is_terminal:
            return record
        try:
            info = storage.head_object(record.key)
        except storage.ObjectNotFound as error:
            raise UploadNotReceived(record.key) from error
        problem = _mismatch(record, info)
        if problem:
            # A wrong object must not linger under a key we signed: delete it before failing.
            storage.delete_object(record.key)
            record.mark_failed(reason=problem)
            logger.warning("Upload %s failed verification: %s", record.pk, problem)
        else:
            record.mark_uploaded(etag=info.etag)
    return record


def _mismatch(record: MediaFile, info: storage.ObjectInfo) -> str:
    """Describe how the stored object differs from the declaration, or return ''."""
    if info.size != record.size:
        return f"Size mismatch: declared {record.size} bytes, the bucket holds {info.size}."
    if info.content_type != record.content_type:
        return (
            f"Type mismatch: declared {record.content_type!r}, "
            f"the bucket holds {info.content_type!r}."
        )
    return ""


def delete_media_file(*, media_file: MediaFile) -> None:
    """Delete the object first, then the record, so a storage outage never orphans an object."""
    storage.delete_object(media_file.key)
    media_file.delete()


def download_url(media_file: MediaFile) -> str | None:
    """Return a short-lived download link for an uploaded record, else None."""
    if media_file.status != MediaFile.Status.UPLOADED:
        return None
    return storage.presign_download(
        key=media_file.key, filename=media_file.filename, expires_in=conf.download_expires()
    )


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a record against the bucket again."""

    ok: bool
    message: str


def reverify(*, media_file: MediaFile) -> Verification:
    """Check a record against the bucket again; pending records get completed if they can be."""
    if media_file.status == MediaFile.Status.PENDING:
        try:
            record = complete_upload(media_file=media_file)
        except UploadNotReceived:
            return Verification(True, "still pending: the bucket holds no object yet")
        return Verification(record.status == MediaFile.Status.UPLOADED, f"now {record.status}")
    if media_file.status != MediaFile.Status.UPLOADED:
        return Verification(True, f"{media_file.status}: nothing to verify")
    try:
        info = storage.head_object(media_file.key)
    except storage.ObjectNotFound:
        return Verification(False, "uploaded, but the object is missing from the bucket")
    problem = _mismatch(media_file, info)
    # Terminal states never change; staff see the discrepancy and decide what to do.
    if problem:
        return Verification(False, f"uploaded, but: {problem}")
    return Verification(True, "uploaded and verified")
