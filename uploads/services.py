"""Business rules for uploads: create, authorize, sign parts, abort, delete and re-verify records.

Completion lives in `completion.py`; every rule that talks to S3 about a pending record does so
under a claim (`claims.py`), never inside a transaction.
"""

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from uploads import claims, completion, conf, keys, multipart, storage
from uploads.errors import NotPending, PartsGone, UploadExpired, UploadNotReceived
from uploads.models import MediaFile
from uploads.parts import plan_parts, uses_multipart

logger = logging.getLogger(__name__)

complete_upload = completion.complete_upload


@dataclass(frozen=True)
class MultipartUpload:
    """How a large file goes up: `part_count` parts of `part_size` bytes (the last may be less)."""

    part_size: int
    part_count: int
    expires_at: datetime
    method: str = "multipart"


UploadAuthorization = storage.PresignedPost | MultipartUpload


@dataclass(frozen=True)
class CreatedUpload:
    """A new pending record and the authorization its browser needs."""

    media_file: MediaFile
    upload: UploadAuthorization


def post_lifetime(size: int) -> timedelta:
    """Return how long a POST upload of `size` bytes may take: the policy time plus the transfer
    at UPLOAD_MIN_THROUGHPUT (a POST policy is checked when the body has arrived, not at its start).
    """
    return timedelta(seconds=conf.policy_expires() + math.ceil(size / conf.min_throughput()))


def create_upload(*, owner: User, filename: str, content_type: str, size: int) -> CreatedUpload:
    """Make a pending record with its deadline and authorize exactly its key, type and size."""
    media_id = uuid.uuid4()
    media_file = MediaFile(
        id=media_id, owner=owner, filename=filename, content_type=content_type, size=size
    )
    if uses_multipart(size):
        # Parts go straight to the media key: their upload id dies at completion, so nothing
        # can be written there after the server has verified it.
        media_file.key = keys.media_key(media_id, content_type)
        media_file.part_size = plan_parts(size).part_size
        media_file.expires_at = timezone.now() + timedelta(seconds=conf.multipart_expires())
        media_file.upload_id = storage.create_multipart_upload(
            key=media_file.key, content_type=content_type
        )
    else:
        media_file.key = keys.scratch_key(media_id, content_type)
        media_file.expires_at = timezone.now() + post_lifetime(size)
    upload = _authorize(media_file)
    media_file.save(force_insert=True)
    return CreatedUpload(media_file=media_file, upload=upload)


def authorize_upload(*, media_file: MediaFile) -> UploadAuthorization:
    """Give a pending record a fresh authorization for the same key, never past its deadline."""
    if media_file.is_terminal:
        raise NotPending(media_file)
    return _authorize(media_file)


def _authorize(media_file: MediaFile) -> UploadAuthorization:
    """Sign a POST policy that ends at the deadline, or describe the multipart plan."""
    assert media_file.expires_at is not None  # every record gets its deadline when it is created
    # Rounded up: boto3 writes the policy's expiration in whole seconds, rounding down.
    seconds_left = math.ceil((media_file.expires_at - timezone.now()).total_seconds())
    if seconds_left < 1:
        raise UploadExpired(media_file)
    if media_file.is_multipart:
        plan = multipart.plan_of(media_file)
        return MultipartUpload(plan.part_size, plan.part_count, media_file.expires_at)
    return storage.presign_post(
        key=media_file.key,
        content_type=media_file.content_type,
        size=media_file.size,
        expires_in=seconds_left,
    )


def sign_parts(*, media_file: MediaFile, part_numbers: list[int]) -> multipart.SignedParts:
    """Sign PUT URLs for parts of a pending multipart upload whose deadline has not passed."""
    _check_multipart_pending(media_file)
    if media_file.past_deadline:
        raise UploadExpired(media_file)
    return multipart.sign_parts(media_file=media_file, part_numbers=part_numbers)


def held_parts(*, media_file: MediaFile) -> multipart.PartsListing:
    """Return the parts S3 holds for a pending multipart upload, and those missing (to resume)."""
    _check_multipart_pending(media_file)
    try:
        return multipart.listing(media_file)
    except storage.ObjectNotFound as gone:
        # Aborted outside the app (e.g. by a lifecycle rule): nothing left to resume.
        raise PartsGone(media_file) from gone


def _check_multipart_pending(media_file: MediaFile) -> None:
    """Refuse part requests for terminal records and single-POST uploads."""
    if media_file.is_terminal:
        raise NotPending(media_file)
    multipart.plan_of(media_file)  # raises NotMultipart


def abort_upload(*, media_file: MediaFile) -> MediaFile:
    """Cancel a pending upload: free its parts, delete any object, mark it aborted."""
    held = claims.claim(media_file.pk)
    if held.token is None:
        if held.record.status == MediaFile.Status.ABORTED:
            return held.record
        raise NotPending(held.record)
    close_claimed(held, mark=MediaFile.mark_aborted, via="api")
    return MediaFile.objects.get(pk=media_file.pk)


def close_claimed(
    held: claims.Claim, *, mark: Callable[[MediaFile], None], via: str
) -> MediaFile | None:
    """Remove what the bucket holds for a claimed record, then `mark` it (aborted or expired).

    Returns None, changing nothing, if another worker took the claim over meanwhile.
    """
    try:
        completion.discard(held.record)
    except BaseException:
        claims.release(held)
        raise
    with transaction.atomic():
        record = claims.locked_if_held(held)
        if record is not None:
            mark(record)
            logger.info("Upload %s: pending → %s (via %s)", record.pk, record.status, via)
    return record


def delete_media_file(*, media_file: MediaFile) -> None:
    """Delete what the bucket holds first, then the record, so an outage never orphans objects."""
    held = claims.claim(media_file.pk)
    try:
        if held.token is None:
            # Terminal: the served object, and a late POST that may have landed in scratch.
            storage.delete_object(held.record.key)
            scratch = keys.scratch_key(held.record.pk, held.record.content_type)
            if scratch != held.record.key:
                storage.delete_object(scratch)
        else:
            completion.discard(held.record)
    except BaseException:
        if held.token is not None:
            claims.release(held)
        raise
    MediaFile.objects.filter(pk=media_file.pk).delete()


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
            record = complete_upload(media_file=media_file, via="admin")
        except UploadNotReceived as waiting:
            return Verification(True, f"still pending: {waiting.detail}")
        return Verification(record.status == MediaFile.Status.UPLOADED, f"now {record.status}")
    if media_file.status != MediaFile.Status.UPLOADED:
        return Verification(True, f"{media_file.status}: nothing to verify")
    try:
        info = storage.head_object(media_file.key)
    except storage.ObjectNotFound:
        return Verification(False, "uploaded, but the object is missing from the bucket")
    problem = completion.mismatch(media_file, info)
    if not problem and info.etag != media_file.etag:
        problem = (
            f"the object was replaced: its ETag is {info.etag}, "
            f"the verified one was {media_file.etag}."
        )
    # Terminal states never change; staff see the discrepancy and decide what to do.
    if problem:
        return Verification(False, f"uploaded, but: {problem}")
    return Verification(True, "uploaded and verified")
