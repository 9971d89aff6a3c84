"""Purge with the owner: when an object whose upload field (or list) holds a file is deleted, the
file goes too, soon after the deletion commits (a background task), if it was uploaded for that
field and nothing else holds it. `clean_unattached_uploads` stays the safety net.

The receivers run on `post_delete`, which Django sends for `Model.delete()` and `QuerySet.delete()`
alike; having them makes Django collect the objects one by one instead of a fast DELETE. A row
removed by the database itself (Django 6.1's `DB_CASCADE`, raw SQL) sends no signal: only
`clean_unattached_uploads` finds its files.
"""

import logging
import uuid
from typing import Any

from django.db import transaction

from uploads import tasks
from uploads.errors import InUse
from uploads.integration.registry import DeclaredField
from uploads.models import MediaFile

logger = logging.getLogger("uploads.purging")


def after_delete(field_id: str, attname: str) -> Any:
    """Return a post_delete receiver for one upload field: it hands the file the deleted object
    held to the purge task once the deletion commits."""

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        held = getattr(instance, attname, None)
        if held:
            transaction.on_commit(lambda: tasks.enqueue_purge(field_id, [held]))

    return receiver


def before_delete(declared: DeclaredField) -> Any:
    """Return a pre_delete receiver for one MediaFilesField: it reads the files the object's list
    holds before the cascade removes its rows, and hands them to the purge task once the deletion
    commits."""

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        held = declared.records_of([instance.pk])
        if held:
            transaction.on_commit(lambda: tasks.enqueue_purge(declared.field_id, held))

    return receiver


def purge(field_id: str, media_ids: list[uuid.UUID]) -> int:
    """Delete each record uploaded for `field_id` that nothing holds any more, with its objects
    (the app's one delete path: claim, row lock, reference check, pending deletions)."""
    from uploads import deletions

    deleted = 0
    for record in MediaFile.objects.filter(pk__in=media_ids, field=field_id):
        try:
            deletions.delete(record)
        except InUse:
            continue  # attached elsewhere meanwhile: kept
        deleted += 1
        logger.info("upload %s purged with the object that held it in %s", record.pk, field_id)
    return deleted
