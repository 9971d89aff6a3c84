"""Model fields that take uploads, by a stable id (`app_label.model.field`), with their limits.

The create call may name one, so its limits apply before anything is signed; the cleanup of
unattached uploads, the delete path and the purge ask every one which records it holds, the same
question whether its records sit in a column of its model (MediaFileField) or in rows of a
through model (MediaFilesField).
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import models

from uploads.limits import SITE, Limits


@dataclass(frozen=True)
class DeclaredField:
    """A MediaFileField or MediaFilesField on a concrete model."""

    field_id: str
    limits: Limits
    model: type[models.Model]
    # The column holding the record id: on `model` ("video_id"), or on `through` ("media_file_id").
    attname: str
    # A MediaFilesField's rows (one per file) and their column naming the object ("show_id").
    through: type[models.Model] | None = None
    owner_attname: str = ""
    max_files: int | None = None

    @property
    def _rows(self) -> models.QuerySet[Any]:
        """Return every row that holds a record: the model's objects, or the through's rows."""
        # The base manager: a custom default manager that hides objects must not hide holders.
        return (self.through or self.model)._base_manager.all()

    def holding(self, record_ids: Collection[Any]) -> set[Any]:
        """Return those of these record ids some object holds in this field."""
        held = self._rows.filter(**{f"{self.attname}__in": record_ids})
        return set(held.values_list(self.attname, flat=True).distinct())

    def records_of(self, owner_pks: Collection[Any]) -> list[Any]:
        """Return the record ids these objects hold in this field."""
        owner = self.owner_attname if self.through else "pk"
        held = self._rows.filter(**{f"{owner}__in": owner_pks}).exclude(**{self.attname: None})
        return list(held.values_list(self.attname, flat=True).distinct())


_FIELDS: dict[str, DeclaredField] = {}


class UnknownField(KeyError):
    """No declared MediaFileField or MediaFilesField has this id."""


def register(declared: DeclaredField) -> None:
    """Remember a declared field (models are loaded once; a reload replaces it)."""
    _FIELDS[declared.field_id] = declared


def declared(field_id: str) -> DeclaredField:
    """Return a declared field, or raise UnknownField."""
    try:
        return _FIELDS[field_id]
    except KeyError as error:
        raise UnknownField(field_id) from error


def limits_for(field_id: str) -> Limits:
    """Return the limits of a declared field, or raise UnknownField."""
    return declared(field_id).limits


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
