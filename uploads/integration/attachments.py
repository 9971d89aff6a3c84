"""Uploads made for a model field and never kept by any object: found and removed after a grace."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from uploads import keys, storage
from uploads.integration import registry
from uploads.models import MediaFile

logger = logging.getLogger(__name__)


def unattached(*, grace: timedelta) -> list[MediaFile]:
    """Return finished field uploads no declared field holds, untouched for longer than `grace`.

    A record is touched when it is uploaded and when an object lets go of it (replaced, cleared,
    removed from a list).
    """
    candidates = MediaFile.objects.exclude(field="").exclude(status=MediaFile.Status.PENDING)
    candidates = candidates.filter(updated_at__lt=timezone.now() - grace)
    ids = set(candidates.values_list("pk", flat=True))
    for declared in registry.declared_fields():
        ids -= declared.holding(ids)
    return list(MediaFile.objects.filter(pk__in=ids).order_by("updated_at"))


def remove(records: list[MediaFile], *, say: Callable[[str], None]) -> int:
    """Delete each record, then its objects; a record an object took meanwhile is kept."""
    removed = 0
    for record in records:
        try:
            with transaction.atomic():
                # Row first: a field that still holds it (PROTECT) refuses, and nothing is lost.
                MediaFile.objects.filter(pk=record.pk).delete()
        except ProtectedError:
            continue
        removed += 1
        say(f"removed unattached upload {record.pk} ({record.filename})")
        for key in {record.key, keys.scratch_key(record.pk, record.content_type)} | set(
            record.derived.values()
        ):
            try:
                storage.delete_object(key)
            except storage.StorageError as error:  # reconcile reports a media object left behind
                logger.error("Could not delete %s of removed upload %s: %s", key, record.pk, error)
    return removed
