"""The form side of MediaFileField: a form field that accepts only a fresh, signed upload of the
submitting user (or the value its object already holds), and a widget that uploads straight to the
bucket and shows only a record the same rule lets through."""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.boundfield import BoundField

from uploads import services
from uploads.integration import field_values, registry
from uploads.limits import CHECKING
from uploads.middleware import current_user
from uploads.models import MediaFile
from uploads.web.client_config import client_config


@dataclass(frozen=True)
class BoundValue:
    """A widget's value, with the record id its form's object holds now ('' if none)."""

    value: str
    current: str

    def __str__(self) -> str:
        """Render as the value itself (as the field's hidden initial input does)."""
        return self.value


class MediaFileWidget(forms.Widget):
    """A hidden input with the value, the attached file's preview, and the uploader (widget.js)."""

    template_name = "uploads/widgets/media_file.html"

    class Media:
        js = [forms.Script("uploads/widget.js", type="module")]
        css = {"all": ["uploads/widget.css"]}

    def __init__(self, field_id: str = "", attrs: dict[str, Any] | None = None) -> None:
        """Upload for this field (its limits apply)."""
        super().__init__(attrs)
        self.field_id = field_id

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        """Add the record the value may show (for its preview) and the uploader's settings."""
        bound = value if isinstance(value, BoundValue) else BoundValue(text_of(value), current="")
        record = shown(bound.value, current=bound.current, field_id=self.field_id)
        # A value that may not be shown is not echoed either: re-submitting it could only fail.
        context = super().get_context(name, bound.value if record else "", attrs)
        config = client_config(registry.limits_for(self.field_id), field=self.field_id)
        context["widget"].update(
            record=record,
            kind=record.kind if record else "",
            preview_url=services.preview_url(record) if record else None,
            poster_url=services.derived_preview_url(record, "poster") if record else None,
            bounds=registry.limits_for(self.field_id).describe_bounds(),
            config=config,
            config_json=json.dumps(config),
        )
        return context

    def id_for_label(self, id_: str) -> str:
        """Point the field's label at the file picker (a hidden input can't be labelled)."""
        return f"{id_}_file" if id_ else id_


def shown(value: str, *, current: str, field_id: str) -> MediaFile | None:
    """Return the record a form value may show: the one its object holds now, or the signed-in
    user's own upload named by a value signed for them and this field; None for anything else."""
    if not value:
        return None
    if value == current:
        return MediaFile.objects.filter(pk=current).first()
    user = current_user()
    if user is None or not user.is_authenticated:
        return None
    return _own_upload(value, user=user, field_id=field_id)


def _own_upload(value: str, *, user: Any, field_id: str) -> MediaFile | None:
    """Return the user's record a value signed for them and this field names, else None."""
    try:
        record_id = field_values.unsign(value, user_id=user.pk, field_id=field_id)
    except field_values.BadFieldValue:
        return None
    return MediaFile.objects.filter(pk=record_id, owner=user).first()


def text_of(value: Any) -> str:
    """Return a value as the text its input holds."""
    if isinstance(value, MediaFile):
        return str(value.pk)
    return "" if value is None else str(value)


def record_id_of(value: Any) -> str:
    """Return a record id in its canonical form, or '' for anything else."""
    try:
        return str(uuid.UUID(text_of(value)))
    except ValueError:
        return ""


def held_by(instance: object, name: str) -> str | None:
    """Return the record id a model object holds in its field `name` ('' if none), or None when
    it is no model object or has no such field."""
    if not isinstance(instance, models.Model):
        return None
    try:
        column = getattr(instance._meta.get_field(name), "attname", None)
    except FieldDoesNotExist:
        return None
    return record_id_of(getattr(instance, column)) if column else None


def _current_value(bf: BoundField) -> str:
    """Return the record id the form's object holds in this field now ('' if none).

    A ModelForm's initial data may come from the request (the admin's add page takes it from the
    query string), so only its object is trusted; a field the object lacks (a plain form) trusts
    the initial value its code gives.
    """
    held = held_by(getattr(bf.form, "instance", None), bf.name)
    return record_id_of(bf.initial) if held is None else held


class MediaFileBoundField(BoundField):
    """A bound upload field whose widget also learns the value the form's object holds now."""

    def value(self) -> BoundValue:
        """Return the value to render, with the current one it may always show."""
        return BoundValue(text_of(super().value()), current=_current_value(self))


class MediaFileFormField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Accept the value its object already holds, or a new upload signed for this user and field."""

    bound_field_class = MediaFileBoundField
    default_error_messages = {
        "invalid_upload": "This file could not be verified. Please upload it again.",
        "not_uploaded": "This file has not finished uploading.",
        "failed": "This file was refused: %(reason)s",
        "no_user": "Sign in to attach a file.",
    }

    def __init__(self, *, field_id: str, **kwargs: Any) -> None:
        """Take ModelChoiceField's options; the widget uploads for `field_id`."""
        self.field_id = field_id
        kwargs["widget"] = MediaFileWidget(field_id=field_id)
        kwargs.pop("blank", None)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        """Show a record as its id."""
        return str(value.pk) if isinstance(value, MediaFile) else value

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Tell a new value from the one the form started with."""
        return str(self.prepare_value(initial) or "") != str(data or "")

    def _clean_bound_field(self, bf: BoundField) -> Any:
        """Clean knowing the object's current value: an unchanged value is kept without checks."""
        # Django gives only FileField its initial value here; this field needs the current one
        # too, so staff can save an object whose existing file someone else uploaded.
        current = _current_value(bf)
        return self.clean_upload(current if self.disabled else bf.data, current)

    def clean_upload(self, data: Any, current: str) -> MediaFile | None:
        """Return the record the value names, refusing anything but a fresh upload of one's own."""
        value = str(data or "")
        if not value:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        if value == current:
            return MediaFile.objects.filter(pk=current).first()
        return self._new_upload(value)

    def _new_upload(self, value: str) -> MediaFile:
        """Check a new value: signed for this user and field, uploaded, within the limits."""
        return new_upload(value, field_id=self.field_id, messages=self.error_messages)


def new_upload(value: str, *, field_id: str, messages: Mapping[str, Any]) -> MediaFile:
    """Return the record a new value names if it is signed for this user and field, uploaded and
    within the field's limits; else raise the ValidationError saying why (in `messages`)."""
    user = current_user()
    if user is None or not user.is_authenticated:
        raise ValidationError(messages["no_user"], code="no_user")
    record = _own_upload(value, user=user, field_id=field_id)
    if record is None:
        raise ValidationError(messages["invalid_upload"], code="invalid")
    if record.status == MediaFile.Status.PENDING:
        raise ValidationError(messages["not_uploaded"], code="not_uploaded")
    if record.status != MediaFile.Status.UPLOADED:
        reason = record.failure_reason or f"it is {record.status}."
        raise ValidationError(messages["failed"], code="failed", params={"reason": reason})
    problem = registry.limits_for(field_id).attach_problem(record)
    if problem == CHECKING:
        raise ValidationError(problem, code="checking")
    if problem:
        raise ValidationError(problem, code="limits")
    return record
