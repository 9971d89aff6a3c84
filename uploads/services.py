"""Business rules for uploads: create, authorize, sign parts, abort, delete and re-verify records.

Completion lives in `completion.py`; every rule that talks to S3 about a pending record does so
under a claim (`claims.py`), never inside a transaction.
"""

import contextlib
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from uploads import (
    claims,
    completion,
    conf,
    deletions,
    handles,
    idempotency,
    keys,
    multipart,
    quotas,
    storage,
)
from uploads.errors import (
    Busy,
    IdempotencyKeyReused,
    InvalidInput,
    NotPending,
    NotUploaded,
    PartsGone,
    UploadExpired,
    UploadFailed,
    UploadNotReceived,
)
from uploads.integration import field_values, registry
from uploads.models import IdempotencyKey, MediaFile
from uploads.multipart import plan_parts, uses_multipart

logger = logging.getLogger(__name__)

complete_upload = completion.complete_upload


@dataclass(frozen=True)
class MultipartUpload:
    """How a large file goes up: `part_count` parts of `part_size` bytes (the last may be less)."""

    part_size: int
    part_count: int
    expires_at: datetime
    # URLs for the parts a new upload sends first, so it starts without a parts/ call.
    first_parts: multipart.SignedParts | None = None
    method: str = "multipart"


UploadAuthorization = storage.PresignedPost | MultipartUpload


@dataclass(frozen=True)
class CreatedUpload:
    """A record and the authorization its client needs (None once it is final or expired)."""

    media_file: MediaFile
    upload: UploadAuthorization | None
    replayed: bool = False


def post_lifetime(size: int) -> timedelta:
    """Return how long a POST upload of `size` bytes may take: the policy time plus the transfer
    at UPLOAD_MIN_THROUGHPUT (a POST policy is checked when the body has arrived, not at its start).
    """
    return timedelta(seconds=conf.policy_expires() + math.ceil(size / conf.min_throughput()))


def create_upload(
    *,
    owner: User,
    filename: str,
    content_type: str,
    size: int,
    field: str = "",
    idempotency_key: str = "",
    looked_up: idempotency.Lookup | None = None,
    first_part_count: int | None = None,
    check_quota: bool = True,
) -> CreatedUpload:
    """Make a pending record with its deadline and authorize exactly its key, type and size.

    A repeated `idempotency_key` returns the first request's record instead (IdempotencyKeyReused
    if it declared something else); `looked_up` is what the caller already found of that key.
    Quotas are checked, and the space reserved, under a short lock on the owner's row, before
    any S3 call. A multipart answer carries `first_part_count` signed part URLs (default: two
    rounds of parallel parts). `check_quota=False` (a file the server itself attaches, when
    told to) neither checks nor takes the owner's lock.
    """
    digest = idempotency.fingerprint(
        filename=filename, content_type=content_type, size=size, field=field
    )
    found = idempotency.Lookup(None, stale=False)
    if idempotency_key:
        found = looked_up or idempotency.look_up(owner=owner, key=idempotency_key)
        if found.recent:
            return _replay(found.recent, digest)
    media_file = _new_record(owner, filename, content_type, size)
    media_file.field = field
    quota = check_quota and quotas.enabled()
    # With quotas, the space is reserved (the record saved) before any S3 call. Without, nothing
    # needs the record before S3 answers: a multipart upload starts first and its record is saved
    # once, with the upload id (and none is left behind if S3 fails).
    starts_first = media_file.is_multipart and not quota
    if starts_first:
        media_file.upload_id = storage.create_multipart_upload(
            key=media_file.key, content_type=media_file.content_type
        )
    try:
        _save_new(media_file, quota=quota, key=idempotency_key, digest=digest, found=found)
    except IntegrityError:
        if starts_first:
            _abort_quietly(media_file)
        # A concurrent request with the same key got there first: answer with its record.
        earlier = idempotency.find(owner=owner, key=idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _replay(earlier, digest)
    except BaseException:
        if starts_first:
            _abort_quietly(media_file)
        raise
    if media_file.is_multipart and not starts_first:
        _start_multipart(media_file)
    upload = _authorize(media_file)
    if isinstance(upload, MultipartUpload) and first_part_count != 0:
        # The first parts come signed, as a client would ask for them next: the upload starts
        # without a parts/ call (a signature costs far less than a request).
        wanted = 2 * conf.parallel_parts() if first_part_count is None else first_part_count
        count = min(upload.part_count, wanted, multipart.MAX_PARTS_PER_REQUEST)
        first = multipart.sign_parts(media_file=media_file, part_numbers=list(range(1, count + 1)))
        upload = replace(upload, first_parts=first)
    return CreatedUpload(media_file=media_file, upload=upload)


def _save_new(
    media_file: MediaFile, *, quota: bool, key: str, digest: str, found: idempotency.Lookup
) -> None:
    """Insert a new record (and its Idempotency-Key), under the owner's lock when quotas apply."""
    # With no quota to check and no key to store, the INSERT is atomic by itself: no BEGIN, lock
    # and COMMIT round trips.
    atomic = transaction.atomic() if quota or key else contextlib.nullcontext()
    with atomic:
        if quota:
            User.objects.select_for_update().filter(
                pk=media_file.owner_id
            ).exists()  # per-user lock
            quotas.check_room(owner=media_file.owner, size=media_file.size)
        media_file.save(force_insert=True)
        if key:
            idempotency.remember(
                owner=media_file.owner,
                key=key,
                digest=digest,
                media_file=media_file,
                stale=found.stale,
            )


def _new_record(owner: User, filename: str, content_type: str, size: int) -> MediaFile:
    """Build (unsaved) a pending record: its key, its plan and its deadline."""
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
    else:
        media_file.key = keys.scratch_key(media_id, content_type)
        media_file.expires_at = timezone.now() + post_lifetime(size)
    return media_file


def _start_multipart(media_file: MediaFile) -> None:
    """Start the S3 multipart upload of a saved record; without it, the record goes away."""
    try:
        media_file.upload_id = storage.create_multipart_upload(
            key=media_file.key, content_type=media_file.content_type
        )
    except BaseException:
        MediaFile.objects.filter(pk=media_file.pk).delete()  # frees the reserved space
        raise
    MediaFile.objects.filter(pk=media_file.pk).update(upload_id=media_file.upload_id)


def _abort_quietly(media_file: MediaFile) -> None:
    """Abort a multipart upload no record was saved for; if S3 refuses now, reconcile will."""
    try:
        storage.abort_multipart_upload(key=media_file.key, upload_id=media_file.upload_id)
    except storage.StorageError as error:
        logger.warning(
            "Could not abort the upload of %s (left for reconcile): %s", media_file.key, error
        )


def _replay(earlier: IdempotencyKey, digest: str) -> CreatedUpload:
    """Answer a repeated create: the same record, re-authorized while it can still be uploaded."""
    if earlier.fingerprint != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another file; use a new key for each file."
        )
    record = MediaFile.objects.get(pk=earlier.media_file_id)
    upload: UploadAuthorization | None = None
    if not record.is_terminal and (record.upload_id or not record.is_multipart):
        with contextlib.suppress(UploadExpired):
            upload = _authorize(record)
    return CreatedUpload(media_file=record, upload=upload, replayed=True)


def closed_refusal(media_file: MediaFile) -> NotPending | UploadExpired:
    """Say why a settled record takes no more requests: an expired one needs a new record."""
    if media_file.status == MediaFile.Status.EXPIRED:
        return UploadExpired(media_file)
    return NotPending(media_file)


def authorize_upload(*, media_file: MediaFile) -> UploadAuthorization:
    """Give a pending record a fresh authorization for the same key, never past its deadline."""
    if media_file.is_terminal:
        raise closed_refusal(media_file)
    return _authorize(media_file)


def _authorize(media_file: MediaFile) -> UploadAuthorization:
    """Sign a POST policy that ends at the deadline, or describe the multipart plan."""
    assert media_file.expires_at is not None  # every record gets its deadline when it is created
    # Rounded down, so the policy (whole seconds) never outlives the deadline.
    seconds_left = math.floor((media_file.expires_at - timezone.now()).total_seconds())
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
    """Refuse part requests for terminal records, single-POST uploads and unstarted ones."""
    if media_file.is_terminal:
        raise closed_refusal(media_file)
    multipart.plan_of(media_file)  # raises NotMultipart
    if not media_file.upload_id:
        raise Busy(media_file)  # its create is still starting the S3 upload


def abort_upload(*, media_file: MediaFile) -> MediaFile:
    """Cancel a pending upload: free its parts, delete any object, mark it aborted."""
    held = claims.claim(media_file)
    if held.token is None:
        if held.record.status == MediaFile.Status.ABORTED:
            return held.record
        raise closed_refusal(held.record)
    # Its POST policy can still write until the deadline: the bytes stay counted until then.
    closed = close_claimed(held, mark=MediaFile.mark_aborted, via="api", also=quotas.hold)
    return closed or MediaFile.objects.get(pk=media_file.pk)


def close_claimed(
    held: claims.Claim,
    *,
    mark: Callable[..., bool],
    via: str,
    also: Callable[[MediaFile], None] | None = None,
) -> MediaFile | None:
    """Remove what the bucket holds for a claimed record, then `mark` it (aborted or expired)
    and, in the same transaction, do `also` with it.

    Returns None, changing nothing, if another worker took the claim over (or the record was
    deleted) meanwhile.
    """
    try:
        completion.discard(held.record)
    except BaseException:
        claims.release(held)
        raise
    with transaction.atomic():
        if not mark(held.record, claim_token=held.token):
            return None
        if also is not None:
            also(held.record)
    held.record.log_transition(before=MediaFile.Status.PENDING, via=via)
    return held.record


def delete_media_file(*, media_file: MediaFile) -> None:
    """Delete a record, then its objects; InUse (409 `in_use`) while a model's field holds it."""
    deletions.delete(media_file)


def field_value(*, media_file: MediaFile, field: str) -> str:
    """Return the signed value a form's `field` submits to attach this uploaded record.

    Raises NotUploaded for an unfinished record, InvalidInput (on `field`) for a file outside the
    field's limits, and registry.UnknownField for an unknown field.
    """
    limits = registry.limits_for(field)
    if media_file.status != MediaFile.Status.UPLOADED:
        raise NotUploaded(media_file)
    problem = limits.type_problem(media_file.content_type) or limits.size_problem(media_file.size)
    if problem:
        raise InvalidInput(problem, field="field")
    return field_values.sign(media_file=media_file, field_id=field)


@dataclass(frozen=True)
class Finished:
    """An upload its client completed: the uploaded record, and the value its form field submits."""

    media_file: MediaFile
    field_value: str | None


def finish_upload(
    *, media_file: MediaFile, part_etags: Mapping[int, str] | None = None
) -> Finished:
    """Complete an upload for its client; raise the conflict that says why it is not uploaded.

    A record created for a model field comes back with that field's signed value, on a repeated
    call too, so a form needs no other request.
    """
    record = complete_upload(media_file=media_file, via="api", part_etags=part_etags)
    if record.status == MediaFile.Status.FAILED:
        raise UploadFailed(record)
    if record.status != MediaFile.Status.UPLOADED:
        raise closed_refusal(record)
    value = field_value(media_file=record, field=record.field) if record.field else None
    return Finished(media_file=record, field_value=value)


def download_url(media_file: MediaFile) -> str | None:
    """Return a short-lived download link for an uploaded record, else None (the file handle's
    default link: an attachment named after the upload, text served as UTF-8)."""
    return handles.url(media_file)


def derived_url(media_file: MediaFile, kind: str) -> str | None:
    """Return a short-lived inline link to a file analysis made ("poster", "thumbnail"), or None
    while there is none (not analysed yet, or not that kind of file)."""
    key = media_file.derived.get(kind) if media_file.status == MediaFile.Status.UPLOADED else None
    if not key:
        return None
    return storage.presign_inline(key=key, expires_in=conf.download_expires())


def preview_url(media_file: MediaFile) -> str | None:
    """Return a download link for a page to show, or None when none can be signed now (the
    server's clock is too far off S3's: the page still renders, and /healthz says why)."""
    try:
        return download_url(media_file)
    except storage.ClockSkewed:
        return None


def derived_preview_url(media_file: MediaFile, kind: str) -> str | None:
    """Return a link to a file analysis made ("poster", "thumbnail") for a page to show, or None
    when there is none, or none can be signed now (as preview_url)."""
    try:
        return derived_url(media_file, kind)
    except storage.ClockSkewed:
        return None


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
