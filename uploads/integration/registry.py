"""Model fields that take uploads, by a stable id (`app_label.model.field`), with their limits.

The create call may name one, so its limits apply before anything is signed; the cleanup of
unattached uploads asks every one which records it still holds.
"""

from dataclasses import dataclass

from django.db import models

from uploads.limits import SITE, Limits


@dataclass(frozen=True)
class DeclaredField:
    """A MediaFileField on a concrete model."""

    field_id: str
    limits: Limits
    model: type[models.Model]
    attname: str  # the column holding the record id, e.g. "video_id"


_FIELDS: dict[str, DeclaredField] = {}


class UnknownField(KeyError):
    """No declared MediaFileField has this id."""


def register(declared: DeclaredField) -> None:
    """Remember a declared field (models are loaded once; a reload replaces it)."""
    _FIELDS[declared.field_id] = declared


def limits_for(field_id: str) -> Limits:
    """Return the limits of a declared field, or raise UnknownField."""
    try:
        return _FIELDS[field_id].limits
    except KeyError as error:
        raise UnknownField(field_id) from error


def limits_of(field_id: str) -> Limits:
    """Return the limits a record made for `field_id` was checked by: the field's, or the
    site's for no field (or one no longer declared)."""
    declared = _FIELDS.get(field_id)
    return declared.limits if declared else SITE


def field_ids() -> list[str]:
    """Return every declared field's id."""
    return sorted(_FIELDS)


def declared_fields() -> list[DeclaredField]:
    """Return every declared field."""
    return [_FIELDS[field_id] for field_id in field_ids()]
