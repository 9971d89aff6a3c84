"""Model fields that take uploads, by a stable id (`app_label.model.field`), with their limits.

The create call may name one, so its limits apply before anything is signed.
"""

from uploads.limits import Limits

_FIELDS: dict[str, Limits] = {}


class UnknownField(KeyError):
    """No declared MediaFileField has this id."""


def register(field_id: str, limits: Limits) -> None:
    """Remember a declared field's limits (models are loaded once; a reload replaces them)."""
    _FIELDS[field_id] = limits


def limits_for(field_id: str) -> Limits:
    """Return the limits of a declared field, or raise UnknownField."""
    try:
        return _FIELDS[field_id]
    except KeyError as error:
        raise UnknownField(field_id) from error


def field_ids() -> list[str]:
    """Return every declared field's id."""
    return sorted(_FIELDS)
