"""Deleting an upload without losing data: refused while a model uses it; otherwise the row goes,
and what it names in the bucket goes right after, through a table of pending deletions.

The row and the list of its objects change in one transaction, so there is never a record that
points at nothing, nor an object that nothing will delete: if S3 fails after the commit, the list
stays and `reconcile_uploads` carries it out later.
"""

import logging
from collections.abc import Iterable
from contextlib import suppress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from uploads import claims, keys, quotas, storage
from uploads.errors import InUse
from uploads.integration import registry
from uploads.models import MediaFile, PendingDeletion

logger = logging.getLogger("uploads.deletions")

# A pending deletion younger than this belongs to a request still carrying it out.
RETRY_AFTER = timedelta(minutes=5)


def users_of(record: MediaFile) -> list[str]:
    """Return the ids of the declared upload fields that hold this record, whatever their
    on_delete (SET_NULL would quietly empty someone's field)."""
    return [
        declared.field_id
        for declared in registry.declared_fields()
        if declared.holding([record.pk])
    ]


def delete(media_file: MediaFile) -> None:
    """Delete a record and then its objects; InUse while a model uses it (nothing changes).

    The record's claim keeps a completion from settling it meanwhile, and its row lock keeps a
    form from attaching it until this transaction ends (the attach then fails on the foreign key).
    """
    held = claims.claim(media_file)
    try:
        with transaction.atomic():
            record = MediaFile.objects.select_for_update().get(pk=media_file.pk)
            if users_of(record):
                raise InUse(record)
            quotas.hold(record)  # a still-valid POST policy could write its bytes again
            entries = PendingDeletion.objects.bulk_create(_objects_of(record))
            MediaFile.objects.filter(pk=record.pk).delete()
    except BaseException:
        if held.token is not None:
            claims.release(held)  # the row is still there (in use, or the transaction failed)
        raise
    transaction.on_commit(lambda: carry_out(entries))


def _objects_of(record: MediaFile) -> list[PendingDeletion]:
    """What the bucket may hold for a record: its object (or open multipart upload), the scratch
    key, where a still-valid POST policy can land a late copy, and its derived files."""
    # Only a pending multipart upload is still open (a finished one's id names nothing).
    upload_id = record.upload_id if record.status == MediaFile.Status.PENDING else ""
    entries = [PendingDeletion(media_id=record.pk, key=record.key, upload_id=upload_id)]
    scratch = keys.scratch_key(record.pk, record.content_type)
    if scratch != record.key:
        entries.append(PendingDeletion(media_id=record.pk, key=scratch))
    # The poster and thumbnail analysis made go with it.
    entries.extend(PendingDeletion(media_id=record.pk, key=key) for key in record.derived.values())
    return entries


def carry_out(entries: list[PendingDeletion]) -> int:
    """Delete these objects (aborting open uploads first), forgetting each entry once done;
    return how many are left for a later sweep because S3 failed."""
    left = 0
    for entry in entries:
        try:
            if entry.upload_id:
                # Gone already is fine: assembled, aborted, or expired by the lifecycle rule.
                with suppress(storage.ObjectNotFound):
                    storage.abort_multipart_upload(key=entry.key, upload_id=entry.upload_id)
            storage.delete_object(entry.key)
        except storage.StorageError as error:
            logger.warning("deleting %s failed (%s); reconcile will retry", entry.key, error)
            left += 1
            continue
        PendingDeletion.objects.filter(pk=entry.pk).delete()
    return left


def retry_stale() -> tuple[int, int]:
    """Carry out the pending deletions a request left behind; return (done, still left)."""
    stale = list(PendingDeletion.objects.filter(created_at__lt=timezone.now() - RETRY_AFTER))
    left = carry_out(stale)
    return len(stale) - left, left


def pending_among(keys: Iterable[str]) -> set[str]:
    """Return which of these keys wait to be deleted (sweeps must not report them as orphans)."""
    return set(PendingDeletion.objects.filter(key__in=list(keys)).values_list("key", flat=True))
