"""Completing an upload: assemble and verify the object, promote it, settle the record once.

Every path that settles a pending record (the REST callback, storage events, reconcile, expire, the
admin's re-verify) comes through `complete_upload` or `settle_claimed`, under one claim at a time,
so any number of calls in any order make one transition and send one `media_uploaded` signal.
"""

import logging
from dataclasses import dataclass

from django.db import transaction

from uploads import claims, conf, keys, media_types, multipart, storage
from uploads.errors import UploadNotReceived
from uploads.models import MediaFile
from uploads.signals import media_uploaded

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verified:
    """The object passed every check and is served from `key` (whose ETag is `etag`)."""

    key: str
    etag: str


@dataclass(frozen=True)
class Rejected:
    """The object broke the declaration; it has been removed from the bucket."""

    reason: str


Outcome = Verified | Rejected


def complete_upload(*, media_file: MediaFile, via: str) -> MediaFile:
    """Verify and settle a pending record; a terminal record is returned as it is.

    Raises UploadNotReceived while the file is missing or incomplete (the record stays pending),
    Busy if another worker keeps it claimed, and storage.StorageUnavailable when S3 cannot be asked.
    """
    held = claims.claim(media_file.pk)
    if held.token is None:
        return held.record
    return settle_claimed(held, via=via)


def settle_claimed(held: claims.Claim, *, via: str) -> MediaFile:
    """Do a claimed record's S3 checks unlocked, then settle it under a short lock."""
    try:
        outcome = inspect(held.record)
    except BaseException:
        claims.release(held)
        raise
    return settle(held, outcome, via=via)


def inspect(record: MediaFile) -> Outcome:
    """Assemble (multipart) and check the object; promote a verified POST to the media key."""
    if record.is_multipart and not record.upload_id:
        raise UploadNotReceived(record, "This upload is still being prepared.")
    if record.is_multipart:
        problem = _assemble_parts(record)
        if problem:
            discard(record)
            return Rejected(problem)
    try:
        info, start = _look_at(record)
    except storage.ObjectNotFound as error:
        raise UploadNotReceived(record) from error
    try:
        problem = mismatch(record, info) or _content_problem(record, start)
        if problem:
            discard(record)
            return Rejected(problem)
        if record.is_multipart:
            # The upload id died when the parts were assembled: nobody can write this key again.
            return Verified(record.key, info.etag)
        target = keys.media_key(record.pk, record.content_type)
        etag = storage.copy_object(source_key=record.key, target_key=target, if_match=info.etag)
    except storage.ObjectChanged as error:
        # Bytes swapped in after the look: nothing was promoted; checking again sees the new ones.
        raise UploadNotReceived(
            record, "The file changed while it was being checked; complete it again."
        ) from error
    return Verified(target, etag or info.etag)


def _assemble_parts(record: MediaFile) -> str:
    """Complete a multipart upload from the parts S3 lists; describe any problem, or return ''."""
    try:
        parts = multipart.confirmed_parts(record)
    except storage.ObjectNotFound:
        return ""  # already assembled by an earlier call; the look that follows decides
    missing = multipart.missing_part_numbers(record, parts)
    if missing:
        shown = ", ".join(str(number) for number in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UploadNotReceived(record, f"Parts not uploaded yet: {shown}{more}.")
    problem = multipart.part_size_problem(record, parts)
    if not problem:
        storage.complete_multipart_upload(key=record.key, upload_id=record.upload_id, parts=parts)
    return problem


def mismatch(record: MediaFile, info: storage.ObjectInfo) -> str:
    """Describe how a stored object differs from the declaration (size, type), or return ''."""
    if info.size != record.size:
        return f"Size mismatch: declared {record.size} bytes, the bucket holds {info.size}."
    if info.content_type != record.content_type:
        return (
            f"Type mismatch: declared {record.content_type!r}, "
            f"the bucket holds {info.content_type!r}."
        )
    return ""


def _look_at(record: MediaFile) -> tuple[storage.ObjectInfo, bytes]:
    """What the bucket holds under the record's key: size, type, ETag and, when content is
    verified, its first bytes (one ranged GET; else one HEAD)."""
    if conf.verify_content():
        return storage.read_start(key=record.key, length=media_types.SNIFF_BYTES)
    return storage.head_object(record.key), b""


def _content_problem(record: MediaFile, start: bytes) -> str:
    """Check the object's first bytes against its declared type ('' when content isn't checked)."""
    if not conf.verify_content():
        return ""
    return media_types.content_problem(record.content_type, start)


def discard(record: MediaFile) -> None:
    """Remove whatever the bucket holds for a pending record: its parts and its object."""
    if record.upload_id:
        storage.abort_multipart_upload(key=record.key, upload_id=record.upload_id)
    # A wrong (or late) object must not linger under a key we signed.
    storage.delete_object(record.key)


def settle(held: claims.Claim, outcome: Outcome, *, via: str) -> MediaFile:
    """Write the outcome under a short lock if the claim still holds; then tidy the bucket."""
    promoted = (
        outcome.key if isinstance(outcome, Verified) and outcome.key != held.record.key else ""
    )
    try:
        with transaction.atomic():
            record = claims.locked_if_held(held)
            if record is None:
                # Another worker took over after our lease ran out; it settles the record. Touch
                # nothing: the media key may hold what it verified.
                logger.warning(
                    "Upload %s: claim lost before settling; left as it is", held.record.pk
                )
                return MediaFile.objects.get(pk=held.record.pk)
            if isinstance(outcome, Verified):
                record.mark_uploaded(key=outcome.key, etag=outcome.etag)
                transaction.on_commit(lambda: _announce(record, via))
            else:
                record.mark_failed(reason=outcome.reason)
    except MediaFile.DoesNotExist:
        # Deleted while we worked (its owner, say): our promoted copy belongs to nobody.
        if promoted:
            _delete_quietly(promoted)
        raise
    record.log_transition(before=MediaFile.Status.PENDING, via=via)
    if promoted:
        _delete_quietly(held.record.key)  # the scratch copy; the media key serves from now on
    return record


def _announce(record: MediaFile, via: str) -> None:
    """Send `media_uploaded` once the transition is committed."""
    media_uploaded.send(sender=MediaFile, media_file=record, via=via)


def _delete_quietly(key: str) -> None:
    """Delete an object we no longer need; if S3 refuses now, reconcile or the lifecycle will."""
    try:
        storage.delete_object(key)
    except storage.StorageError as error:
        logger.warning("Could not delete %s (left for reconcile): %s", key, error)
