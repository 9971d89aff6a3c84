"""Test helpers for projects that use the app: make an `uploaded` MediaFile without a browser
(and without S3, unless asked to store its bytes), and the value a form field submits for it.

pytest users get them as fixtures (`uploads.pytest_plugin`, loaded by itself when the package is
installed): `media_file_factory` and `media_field_value`.
"""

import hashlib
import uuid
from typing import Any

from django.utils import timezone

from uploads import keys, media_types, storage
from uploads.integration import field_values
from uploads.models import MediaFile

# What a record's bytes are when the test gives none: the first bytes of a real PNG.
_PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


def uploaded_media_file(
    *,
    owner: Any,
    content_type: str = "image/png",
    filename: str = "",
    body: bytes | None = None,
    field: str = "",
    store: bool = False,
    metadata: dict[str, Any] | None = None,
) -> MediaFile:
    """Return a saved, `uploaded` record of `owner`'s, as a verified browser upload leaves it.

    Nothing touches S3 unless `store=True`, which puts `body` at the record's key in the
    configured bucket (a local S3, say), so `url()` and `open()` work. With `metadata`, the
    record is analysed (`done`) with it; else analysis is `none`.
    """
    body = _PNG if body is None else body
    media_id = uuid.uuid4()
    record = MediaFile(
        id=media_id,
        owner=owner,
        key=keys.media_key(media_id, content_type),
        filename=filename or f"file{media_types.extension_for(content_type)}",
        field=field,
        content_type=content_type,
        size=len(body),
        status=MediaFile.Status.UPLOADED,
        etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
        uploaded_at=timezone.now(),
        bytes_confirmed=len(body),
        analysis_status=MediaFile.Analysis.DONE if metadata else MediaFile.Analysis.NONE,
        metadata=metadata or {},
    )
    if store:
        storage.put_object(key=record.key, body=body, content_type=content_type)
    record.save()
    return record


def field_value(media_file: MediaFile, field_id: str) -> str:
    """Return what a form's upload field (`app_label.model.field`) submits for this record:
    the value its widget would send once the owner's upload completed."""
    return field_values.sign(media_file=media_file, field_id=field_id)
