"""The value a form field submits for a new upload: signed, bound to its uploader, its field and
a maximum age, so it can be neither forged nor replayed by someone else."""

from typing import Any

from django.core import signing

from uploads import conf
from uploads.models import MediaFile

_SALT = "uploads.field-value"


class BadFieldValue(Exception):
    """The value is forged, stale, or meant for another user or field."""


def sign(*, media_file: MediaFile, field_id: str) -> str:
    """Return the value that names this record in this field, for its owner."""
    return signing.dumps(
        {"record": str(media_file.pk), "user": media_file.owner_id, "field": field_id},
        salt=_SALT,
        compress=True,
    )


def unsign(value: str, *, user_id: Any, field_id: str) -> str:
    """Return the record id a value names, if it was signed for this user and field lately."""
    try:
        payload = signing.loads(value, salt=_SALT, max_age=conf.field_value_max_age())
    except signing.BadSignature as error:  # SignatureExpired is one too
        raise BadFieldValue(str(error)) from error
    if not isinstance(payload, dict):
        raise BadFieldValue("not a field value")
    if payload.get("user") != user_id or payload.get("field") != field_id:
        raise BadFieldValue("signed for another user or field")
    return str(payload.get("record", ""))
