"""Completing an upload: assemble and verify the object, promote it, settle the record once.

Every path that settles a pending record (the REST callback, storage events, reconcile, expire, the
admin's re-verify) comes through `complete_upload` or `settle_claimed`, under one claim at a time,
so any number of calls in any order make one transition and send one `media_uploaded` signal.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from uploads import claims, documents, keys, media_types, multipart, storage, tasks
from uploads.errors import UploadNotReceived
from uploads.integration import registry
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


def complete_upload(
    *, media_file: MediaFile, via: str, part_etags: Mapping[int, str] | None = None
) -> MediaFile:
    """Verify and settle a pending record; a terminal record is returned as it is.

    `part_etags` (part number → ETag, every planned part) are what a multipart client says it
    sent; S3 checks them as it assembles, and the server's own listing decides if it refuses them.

    Raises UploadNotReceived while the file is missing or incomplete (the record stays pending),
    Busy if another worker keeps it claimed, and storage.StorageUnavailable when S3 cannot be asked.
    """
    held = claims.claim(media_file)
    if held.token is None:
        return held.record
    return settle_claimed(held, via=via, part_etags=part_etags)


def settle_claimed(
    held: claims.Claim, *, via: str, part_etags: Mapping[int, str] | None = None
) -> MediaFile:
    """Do a claimed record's S3 checks unlocked, then settle it if the claim still holds."""
    try:
        outcome = inspect(held.record, part_etags=part_etags)
    except BaseException:
        claims.release(held)
        raise
    return settle(held, outcome, via=via)


def inspect(record: MediaFile, *, part_etags: Mapping[int, str] | None = None) -> Outcome:
    """Assemble (multipart) and check the object; promote a verified POST to the media key."""
    if part_etags is not None:
        multipart.check_every_part_named(record, part_etags)
    if record.is_multipart and not record.upload_id:
        raise UploadNotReceived(record, "This upload is still being prepared.")
    if record.is_multipart:
        problem = _assemble_parts(record, part_etags)
        if problem:
            discard(record)
            return Rejected(problem)
    try:
        info, start = _look_at(record)
    except storage.ObjectNotFound as error:
        raise UploadNotReceived(record) from error
    try:
        problem = mismatch(record, info) or _content_problem(record, info, start)
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


def _assemble_parts(record: MediaFile, part_etags: Mapping[int, str] | None) -> str:
    """Complete a multipart upload; describe a problem with its parts, or return ''.

    With the client's ETags, one call: S3 itself refuses a part it does not hold as named (and the
    object is checked afterwards anyway). Without them, or if S3 refused them, the parts S3 lists.
    """
    if part_etags:
        try:
            storage.complete_multipart_upload(
                key=record.key, upload_id=record.upload_id, etags=part_etags
            )
            return ""
        except storage.ObjectNotFound:
            return ""  # already assembled by an earlier call; the look that follows decides
        except storage.PartsRefused:
            pass  # a part missing or sent again since: what S3 lists decides
    try:
        parts = storage.list_parts(key=record.key, upload_id=record.upload_id)
    except storage.ObjectNotFound:
        return ""  # already assembled by an earlier call; the look that follows decides
    missing = multipart.missing_part_numbers(record, parts)
    if missing:
        multipart.remember_progress(record, parts)
        shown = ", ".join(str(number) for number in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UploadNotReceived(record, f"Parts not uploaded yet: {shown}{more}.")
    problem = multipart.part_size_problem(record, parts)
    if not problem:
        storage.complete_multipart_upload(
            key=record.key,
            upload_id=record.upload_id,
            etags={part.part_number: part.etag for part in parts},
        )
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
    if registry.limits_of(record.field).checks_content():
        return storage.read_start(key=record.key, length=media_types.SNIFF_BYTES)
    return storage.head_object(record.key), b""


def _content_problem(record: MediaFile, info: storage.ObjectInfo, start: bytes) -> str:
    """Check the object's first bytes against its declared type, and an Office file's members
    ('' when content isn't checked)."""
    if not registry.limits_of(record.field).checks_content():
        return ""
    problem = media_types.content_problem(record.content_type, start)
    members = media_types.MEDIA_TYPES[record.content_type].members
    return problem or (_members_problem(record, info, members) if members else "")


def _members_problem(record: MediaFile, info: storage.ObjectInfo, members: tuple[str, ...]) -> str:
    """Read a ZIP's central directory (from its end: one or two ranged GETs of the version just
    checked) and say whether it lists the members that make it its declared type."""
    tail_length = min(documents.TAIL_BYTES, info.size)
    tail_start = info.size - tail_length
    tail = storage.read_range(
        key=record.key, start=tail_start, length=tail_length, if_match=info.etag
    )
    location = documents.directory_location(tail, info.size)
    if location is None:
        return f"The file is not a readable ZIP archive, so it is not {record.content_type}."
    offset, length = location
    if offset >= tail_start:
        directory = tail[offset - tail_start : offset - tail_start + length]
    else:
        directory = storage.read_range(
            key=record.key, start=offset, length=length, if_match=info.etag
        )
    names = documents.member_names(directory)
    return documents.members_problem(names, required=members, content_type=record.content_type)


def discard(record: MediaFile) -> None:
    """Remove whatever the bucket holds for a pending record: its parts and its object."""
    if record.upload_id:
        storage.abort_multipart_upload(key=record.key, upload_id=record.upload_id)
    # A wrong (or late) object must not linger under a key we signed.
    storage.delete_object(record.key)


def settle(held: claims.Claim, outcome: Outcome, *, via: str) -> MediaFile:
    """Write the outcome if the claim still holds; then tidy the bucket."""
    assert held.token is not None  # only a claimed record is settled
    record = held.record
    checked_key = record.key  # the transition below moves a promoted record to its media key
    promoted = outcome.key if isinstance(outcome, Verified) and outcome.key != checked_key else ""
    if isinstance(outcome, Verified):
        saved = record.mark_uploaded(key=outcome.key, etag=outcome.etag, claim_token=held.token)
    else:
        saved = record.mark_failed(reason=outcome.reason, claim_token=held.token)
    if not saved:
        return _unsettled(held, promoted)
    if isinstance(outcome, Verified):
        transaction.on_commit(lambda: _announce(record, via))
    record.log_transition(before=MediaFile.Status.PENDING, via=via)
    if promoted:
        _delete_quietly(checked_key)  # the scratch copy; the media key serves from now on
    return record


def _unsettled(held: claims.Claim, promoted: str) -> MediaFile:
    """Answer for a record our claim no longer holds: as another worker left it, or gone."""
    try:
        current = MediaFile.objects.get(pk=held.record.pk)
    except MediaFile.DoesNotExist:
        # Deleted while we worked (its owner, say): our promoted copy belongs to nobody.
        if promoted:
            _delete_quietly(promoted)
        raise
    # Another worker took over after our lease ran out; it settles the record. Touch nothing: the
    # media key may hold what it verified.
    logger.warning("Upload %s: claim lost before settling; left as it is", held.record.pk)
    return current


def _announce(record: MediaFile, via: str) -> None:
    """Once the transition is committed: hand the file's analysis to a worker, and send
    `media_uploaded` (whatever its receivers do, the analysis is already on its way)."""
    tasks.enqueue_analysis(record.pk)
    media_uploaded.send(sender=MediaFile, media_file=record, via=via)


def _delete_quietly(key: str) -> None:
    """Delete an object we no longer need; if S3 refuses now, reconcile or the lifecycle will."""
    try:
        storage.delete_object(key)
    except storage.StorageError as error:
        logger.warning("Could not delete %s (left for reconcile): %s", key, error)
