"""The form side of MediaFilesField: a form field taking several values in order (one hidden input
each, all with the field's name), each checked as MediaFileField checks its one, at most
`max_files` of them; and a widget that uploads several files at once and reorders them."""

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.boundfield import BoundField

from uploads import services
from uploads.integration import registry
from uploads.integration.forms import (
    MediaFileFormField,
    MediaFileWidget,
    new_upload,
    record_id_of,
    shown,
    text_of,
)
from uploads.integration.lists import MediaFilesField, too_many
from uploads.models import MediaFile
from uploads.web.client_config import client_config


@dataclass(frozen=True)
class BoundList:
    """A list widget's values, with the record ids its form's object holds now, in order."""

    values: list[str]
    current: list[str]


def held_list(instance: object, name: str) -> list[str] | None:
    """Return the record ids a saved model object holds in its MediaFilesField `name`, in order,
    or None when it is no model object or has no such field."""
    if not isinstance(instance, models.Model):
        return None
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, MediaFilesField):
        return None
    if instance.pk is None:
        return []
    return [str(pk) for pk in getattr(instance, name).values_list("pk", flat=True)]


def _texts(value: Any) -> list[str]:
    """Return a value (a list of records or ids, or one) as the texts its inputs hold."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [text for text in map(text_of, items) if text]


def _current_list(bf: BoundField) -> list[str]:
    """Return the record ids the form's object holds in this field now; a plain form trusts the
    initial value its code gives (as MediaFileField does)."""
    held = held_list(getattr(bf.form, "instance", None), bf.name)
    if held is not None:
        return held
    return [record_id for record_id in map(record_id_of, _texts(bf.initial)) if record_id]


class MediaFilesWidget(MediaFileWidget):
    """The files' list (hidden inputs, previews, move and remove buttons) and the uploader."""

    template_name = "uploads/widgets/media_files.html"

    def __init__(
        self, field_id: str = "", max_files: int | None = None, attrs: dict[str, Any] | None = None
    ) -> None:
        """Upload for this field (its limits apply), at most `max_files` files."""
        super().__init__(field_id=field_id, attrs=attrs)
        self.max_files = max_files

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        """Return the submitted values in their order."""
        if hasattr(data, "getlist"):
            return [str(value) for value in data.getlist(name)]
        return _texts(data.get(name))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        """Never omitted: a list with no file submits no input, and that empties the field."""
        return False

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        """Add the records the values may show, in order, and the uploader's settings."""
        bound = value if isinstance(value, BoundList) else BoundList(_texts(value), current=[])
        items = []
        for text in bound.values:
            record = shown(
                text, current=text if text in bound.current else "", field_id=self.field_id
            )
            # A value that may not be shown is not echoed either: re-submitting it could only fail.
            if record is not None:
                items.append(
                    {
                        "value": text,
                        "record": record,
                        "kind": record.kind,
                        "preview_url": services.preview_url(record),
                        "poster_url": services.derived_preview_url(record, "poster"),
                    }
                )
        context = forms.Widget.get_context(self, name, "", attrs)
        limits = registry.limits_for(self.field_id)
        config = client_config(limits, field=self.field_id)
        context["widget"].update(
            items=items,
            bounds=limits.describe_bounds(),
            config=config,
            config_json=json.dumps(config),
            max_files=self.max_files,
            too_many=too_many(self.max_files) if self.max_files else "",
        )
        return context


class MediaFilesBoundField(BoundField):
    """A bound list field whose widget also learns the values the form's object holds now."""

    def value(self) -> BoundList:
        """Return the values to render, with the current ones it may always show."""
        return BoundList(_texts(super().value()), current=_current_list(self))


class MediaFilesFormField(forms.Field):
    """Accept, in order, values its object already holds or new uploads signed for this user and
    field, at most `max_files` of them, each file once."""

    bound_field_class = MediaFilesBoundField
    default_error_messages = {
        **MediaFileFormField.default_error_messages,
        "repeated": "The same file is in the list twice.",
    }

    def __init__(self, *, field_id: str, max_files: int | None = None, **kwargs: Any) -> None:
        """Take Field's options; the widget uploads for `field_id`."""
        self.field_id = field_id
        self.max_files = max_files
        kwargs["widget"] = MediaFilesWidget(field_id=field_id, max_files=max_files)
        for option in ("blank", "queryset", "limit_choices_to", "to_field_name"):
            kwargs.pop(option, None)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        """Show records as their ids."""
        return _texts(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Tell a new list (or order) from the one the form started with."""
        return _texts(initial) != _texts(data)

    def _clean_bound_field(self, bf: BoundField) -> Any:
        """Clean knowing the object's current files: those are kept without checks."""
        current = _current_list(bf)
        return self.clean_list(current if self.disabled else bf.data, current)

    def clean_list(self, data: Any, current: list[str]) -> list[MediaFile]:
        """Return the records the values name, in order, refusing any value but a file the object
        holds or a fresh upload of one's own."""
        values = _texts(data)
        if not values and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        if self.max_files is not None and len(values) > self.max_files:
            raise ValidationError(too_many(self.max_files), code="max_files")
        records: list[MediaFile] = []
        errors: list[ValidationError] = []
        for value in values:
            try:
                records.append(self._record(value, current))
            except ValidationError as error:
                errors.append(error)
        if errors:
            raise ValidationError(errors)
        if len({record.pk for record in records}) != len(records):
            raise ValidationError(self.error_messages["repeated"], code="repeated")
        return records

    def _record(self, value: str, current: list[str]) -> MediaFile:
        """Return the record one value names: one the object holds, or a new upload."""
        if value in current:
            record = MediaFile.objects.filter(pk=value).first()
            if record is not None:
                return record
        return new_upload(value, field_id=self.field_id, messages=self.error_messages)
