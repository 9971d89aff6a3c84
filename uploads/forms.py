"""The form side of MediaFileField: a form field that accepts only a fresh, signed upload of the
submitting user (or the value it already had), and a widget that uploads straight to the bucket."""

import json
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField

from uploads import field_values, registry, services
from uploads.client_config import client_config
from uploads.middleware import current_user
from uploads.models import MediaFile


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
        """Add the attached record (for its preview) and the uploader's settings."""
        context = super().get_context(name, value, attrs)
        record = _attached(value)
        config = client_config(registry.limits_for(self.field_id), field=self.field_id)
        context["widget"].update(
            record=record,
            kind=record.content_type.partition("/")[0] if record else "",
            preview_url=services.download_url(record) if record else None,
            config=config,
            config_json=json.dumps(config),
        )
        return context

    def id_for_label(self, id_: str) -> str:
        """Point the field's label at the file picker (a hidden input can't be labelled)."""
        return f"{id_}_file" if id_ else id_

    def format_value(self, value: Any) -> str:
        """Render a record as its id; anything else (a signed value) as it came."""
        if isinstance(value, MediaFile):
            return str(value.pk)
        return "" if value is None else str(value)


def _attached(value: Any) -> MediaFile | None:
    """Return the record a widget value shows: an id, or a signed value's record."""
    if isinstance(value, MediaFile):
        return value
    text = "" if value is None else str(value)
    try:
        record_id = str(uuid.UUID(text))
    except ValueError:
        record_id = field_values.peek(text)
    return MediaFile.objects.filter(pk=record_id).first() if record_id else None


class MediaFileFormField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Accept the value the field already had, or a new upload signed for this user and field."""

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
        """Clean knowing the initial value: an unchanged value is kept without checks."""
        # Django gives only FileField its initial value here; this field needs it too, so staff
        # can save an object whose existing file someone else uploaded.
        return self.clean_upload(bf.initial if self.disabled else bf.data, bf.initial)

    def clean_upload(self, data: Any, initial: Any) -> MediaFile | None:
        """Return the record the value names, refusing anything but a fresh upload of one's own."""
        value = str(data or "")
        if not value:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        if value == str(self.prepare_value(initial) or ""):
            return MediaFile.objects.filter(pk=value).first()
        return self._new_upload(value)

    def _new_upload(self, value: str) -> MediaFile:
        """Check a new value: signed for this user and field, uploaded, within the limits."""
        user = current_user()
        if user is None or not user.is_authenticated:
            raise ValidationError(self.error_messages["no_user"], code="no_user")
        try:
            record_id = field_values.unsign(value, user_id=user.pk, field_id=self.field_id)
        except field_values.BadFieldValue as error:
            raise ValidationError(self.error_messages["invalid_upload"], code="invalid") from error
        record = MediaFile.objects.filter(pk=record_id, owner=user).first()
        if record is None:
            raise ValidationError(self.error_messages["invalid_upload"], code="invalid")
        if record.status == MediaFile.Status.PENDING:
            raise ValidationError(self.error_messages["not_uploaded"], code="not_uploaded")
        if record.status != MediaFile.Status.UPLOADED:
            reason = record.failure_reason or f"it is {record.status}."
            raise ValidationError(
                self.error_messages["failed"], code="failed", params={"reason": reason}
            )
        limits = registry.limits_for(self.field_id)
        problem = limits.type_problem(record.content_type) or limits.size_problem(record.size)
        if problem:
            raise ValidationError(problem, code="limits")
        return record
