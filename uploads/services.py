"""Business rules for uploads: create, authorise, complete, abort, delete and re-verify records."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from uploads import conf, multipart, storage
from uploads.keys import build_key
from uploads.models import MediaFile
from uploads.parts import plan_parts, uses_multipart

logger = logging.getLogger(__name__)


class UploadNotReceived(Exception):
    """`complete` was called but the bucket does not hold the whole file yet."""

    def __init__(self, detail: str = "The bucket holds no file for this upload yet.") -> None:
        super().__init__(detail)
        self.detail = detail


class NotPending(Exception):
    """The record's status no longer allows this (it is uploaded, failed, expired or aborted)."""

    def __init__(self, media_file: MediaFile) -> None:
        super().__init__(f"upload {media_file.pk} is {media_file.status}")
        self.media_file = media_file


@dataclass(frozen=True)
class MultipartUpload:
    """How a large file goes up: `part_count` parts of `part_size` bytes (the last may be less)."""

    part_size: int
    part_count: int
    expires_at: datetime


UploadAuthorisation = storage.PresignedPost | MultipartUpload


@dataclass(frozen=True)
class CreatedUpload:
    """A new pending record and the authorisation its browser needs."""

    media_file: MediaFile
    upload: UploadAuthorisation


def create_upload(*, owner: User, filename: str, content_type: str, size: int) -> CreatedUpload:
    """Make a pending record and authorise exactly its key, type and size (POST or multipart)."""
    media_id = uuid.uuid4()
    key = build_key(media_id, filename)
    media_file = MediaFile(
        id=media_id, key=key, owner=owner, filename=filename, content_type=content_type, size=size
    )
    if uses_multipart(size):
        media_file.part_size = plan_parts(size).part_size
        media_file.upload_id = storage.create_multipart_upload(key=key, content_type=content_type)
    upload = _authorise(media_file)
    media_file.save(force_insert=True)
    return CreatedUpload(media_file=media_file, upload=upload)


def authorise_upload(*, media_file: MediaFile) -> UploadAuthorisation:
    """Give a pending record a fresh authorisation for the same key (to retry a failed transfer)."""
    if media_file.is_terminal:
        raise NotPending(media_file)
    upload = _authorise(media_file)
    media_file.save(update_fields=["expires_at", "updated_at"])
    return upload


def _authorise(media_file: MediaFile) -> UploadAuthorisation:
    """Sign a POST policy, or describe the multipart plan; set the record's expires_at."""
    if media_file.is_multipart:
        plan = multipart.plan_of(media_file)
        media_file.expires_at = timezone.now() + timedelta(seconds=conf.multipart_expires())
        return MultipartUpload(plan.part_size, plan.part_count, media_file.expires_at)
    post = storage.presign_post(
        key=media_file.key,
        content_type=media_file.content_type,
        size=media_file.size,
        expires_in=conf.policy_expires(),
    )
    media_file.expires_at = post.expires_at
    return post


def complete_upload(*, media_file: MediaFile) -> MediaFile:
    """Check the object in the bucket and settle a pending record; terminal records stay put.

    Raises UploadNotReceived while the file is missing or incomplete (the record stays pending)
    and storage.StorageUnavailable when S3 cannot be asked (nothing changes).
    """
    waiting: UploadNotReceived | None = None
    with transaction.atomic():
        # The row lock makes concurrent completes queue here, so exactly one of them decides.
        record = MediaFile.objects.select_for_update().get(pk=media_file.pk)
        if record.is_terminal:
            return record
        try:
            _settle(record)
        except UploadNotReceived as error:
            waiting = error  # raised after commit, so the progress just recorded is kept
    if waiting is not None:
        raise waiting
    return record


def _settle(record: MediaFile) -> None:
    """Assemble and verify the object, then mark the record uploaded or failed."""
    problem = _assemble_parts(record) if record.is_multipart else ""
    if not problem:
        try:
            info = storage.head_object(record.key)
        except storage.ObjectNotFound as error:
            raise UploadNotReceived() from error
        problem = _mismatch(record, info)
        if not problem:
            record.mark_uploaded(etag=info.etag)
            return
    _discard_upload(record)
    record.mark_failed(reason=problem)
    logger.warning("Upload %s failed verification: %s", record.pk, problem)


def _assemble_parts(record: MediaFile) -> str:
    """Complete a multipart upload from the parts S3 lists; describe any problem, or return ''."""
    try:
        parts = multipart.confirmed_parts(record)
    except storage.ObjectNotFound:
        return ""  # already assembled by an earlier call; the HEAD that follows decides
    missing = multipart.missing_part_numbers(record, parts)
    if missing:
        shown = ", ".join(str(number) for number in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UploadNotReceived(f"Parts not uploaded yet: {shown}{more}.")
    problem = multipart.part_size_problem(record, parts)
    if not problem:
        storage.complete_multipart_upload(key=record.key, upload_id=record.upload_id, parts=parts)
    return problem


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


def _discard_upload(record: MediaFile) -> None:
    """Remove whatever the bucket holds for a record: its parts and its object."""
    if record.is_multipart:
        storage.abort_multipart_upload(key=record.key, upload_id=record.upload_id)
    # A wrong (or late) object must not linger under a key we signed.
    storage.delete_object(record.key)


def abort_upload(*, media_file: MediaFile) -> MediaFile:
    """Cancel a pending upload: free its parts, delete any object, mark it aborted."""
    with transaction.atomic():
        record = MediaFile.objects.select_for_update().get(pk=media_file.pk)
        if record.status == MediaFile.Status.ABORTED:
            return record
        if record.is_terminal:
            raise NotPending(record)
        _discard_upload(record)
        record.mark_aborted()
    return record


def delete_media_file(*, media_file: MediaFile) -> None:
    """Delete what the bucket holds first, then the record, so an outage never orphans objects."""
    if media_file.status == MediaFile.Status.PENDING:
        _discard_upload(media_file)
    else:
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
        except UploadNotReceived as waiting:
            return Verification(True, f"still pending: {waiting.detail}")
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
