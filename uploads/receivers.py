"""Receivers: deleting a user deletes their uploads' objects too, once the deletion commits."""

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from uploads import keys, storage
from uploads.models import MediaFile

logger = logging.getLogger(__name__)


@receiver(pre_delete, sender=get_user_model())
def delete_objects_of_deleted_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Remember the user's objects now (the rows cascade away) and delete them after commit."""
    doomed = list(MediaFile.objects.filter(owner=instance))
    if doomed:
        transaction.on_commit(lambda: delete_objects(doomed))


def delete_objects(records: list[MediaFile]) -> None:
    """Delete every object, part and scratch copy these records had; log what S3 refuses."""
    for record in records:
        try:
            if record.status == MediaFile.Status.PENDING and record.upload_id:
                storage.abort_multipart_upload(key=record.key, upload_id=record.upload_id)
            storage.delete_object(record.key)
            scratch = keys.scratch_key(record.pk, record.content_type)
            if scratch != record.key:
                storage.delete_object(scratch)  # a late POST may have landed there
            for derived in record.derived.values():
                storage.delete_object(derived)
        except storage.StorageError as error:
            # Scratch leftovers go with reconcile and the lifecycle; reconcile reports media ones.
            logger.error("Could not delete the objects of upload %s: %s", record.pk, error)
