"""A DRF serializer field for API clients attaching their uploads to their own objects.

    class EpisodeSerializer(serializers.ModelSerializer):
        video = MediaFileRelatedField(field="shows.episode.video")

It takes the id of an uploaded record the request's user owns (or the signed value a form's upload
field submits), within the field's limits, or the record the object already holds (an update that
keeps it), and answers with the record's id. `MediaFilesRelatedField` does the same for each item
of a list, in order, for a MediaFilesField:

        gallery = MediaFilesRelatedField(field="shows.show.gallery")
"""

import uuid
from collections.abc import Collection, Sequence
from typing import Any, cast

from rest_framework import serializers

from uploads.integration import field_values, registry
from uploads.integration.forms import held_by
from uploads.integration.list_forms import held_list
from uploads.integration.lists import too_many
from uploads.limits import ANALYSED_BOUNDS, Limits
from uploads.models import MediaFile


class MediaFileRelatedField(serializers.RelatedField):  # type: ignore[type-arg]
    """An uploaded record of the requesting user, by id, within limits."""

    default_error_messages = {
        "does_not_exist": "No uploaded file of yours has this id.",
        "not_uploaded": "This file is {status}, not uploaded.",
        "invalid": "Send the id of an uploaded file.",
    }

    def __init__(
        self,
        *,
        field: str = "",
        allowed_types: Sequence[str] | None = None,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Use a declared MediaFileField's limits (`field`), or these (and any of Limits's
        analysed bounds: max_duration, min_width, max_width, min_height, max_height)."""
        bounds = {name: kwargs.pop(name) for name in ANALYSED_BOUNDS if name in kwargs}
        kwargs.setdefault("queryset", MediaFile.objects.all())
        super().__init__(**kwargs)
        self.field_id = field
        self.own_limits = Limits(
            allowed_types=tuple(allowed_types) if allowed_types else None,
            max_bytes=max_bytes,
            **bounds,
        )

    @property
    def limits(self) -> Limits:
        """Return the declared field's limits, read when used (models may load after this)."""
        return registry.limits_for(self.field_id) if self.field_id else self.own_limits

    def to_internal_value(self, data: Any) -> MediaFile:
        """Return the record the value names: the one the object holds now, or the user's upload."""
        current = self._current()
        return self.record_for(data, current=[current] if current else [])

    def record_for(self, data: Any, *, current: Collection[str]) -> MediaFile:
        """Return the record a value names: one the object holds (`current`), or the user's."""
        user = self.context["request"].user
        text = str(data)
        try:
            record_id = str(uuid.UUID(text))
        except ValueError:
            if not self.field_id:
                self.fail("invalid")
            try:
                record_id = field_values.unsign(text, user_id=user.pk, field_id=self.field_id)
            except field_values.BadFieldValue:
                self.fail("invalid")
        if record_id in current:  # kept as it is, whoever uploaded it
            return self._record(MediaFile.objects.filter(pk=record_id).first())
        record = self._record(MediaFile.objects.filter(pk=record_id, owner_id=user.pk).first())
        if record.status != MediaFile.Status.UPLOADED:
            self.fail("not_uploaded", status=record.status)
        problem = self.limits.attach_problem(record)
        if problem:
            raise serializers.ValidationError(problem)
        return record

    def _record(self, record: MediaFile | None) -> MediaFile:
        """Return the record found, or refuse the value."""
        if record is None:  # someone else's is "no such file" too: ids are not to be probed
            self.fail("does_not_exist")
        return record

    def _current(self) -> str:
        """Return the record id the serializer's object holds in this field now ('' if none)."""
        return held_by(getattr(self.parent, "instance", None), self.source or "") or ""

    def to_representation(self, value: Any) -> str:
        """Answer with the record's id."""
        return str(value.pk)


class MediaFilesRelatedField(serializers.Field):  # type: ignore[type-arg]
    """A list of uploaded records, in order, each checked as MediaFileRelatedField checks one."""

    default_error_messages = {
        "not_a_list": "Send a list of ids of uploaded files.",
        "repeated": "The same file is in the list twice.",
    }

    def __init__(
        self,
        *,
        field: str = "",
        max_files: int | None = None,
        allowed_types: Sequence[str] | None = None,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Use a declared MediaFilesField's limits and max_files (`field`), or these (and any of
        Limits's analysed bounds)."""
        bounds = {name: kwargs.pop(name) for name in ANALYSED_BOUNDS if name in kwargs}
        super().__init__(**kwargs)
        self.field_id = field
        self.own_max_files = max_files
        self.item = MediaFileRelatedField(
            field=field, allowed_types=allowed_types, max_bytes=max_bytes, **bounds
        )
        # Bound as DRF's ListField binds its child: it finds the request in the root's context.
        self.item.bind(field_name="", parent=self)  # type: ignore[arg-type]

    @property
    def max_files(self) -> int | None:
        """Return the declared field's max_files, read when used (models may load after this)."""
        return registry.declared(self.field_id).max_files if self.field_id else self.own_max_files

    def to_internal_value(self, data: Any) -> list[MediaFile]:
        """Return the records the list names, in order; the object's own are kept unchecked."""
        if not isinstance(data, list):
            self.fail("not_a_list")
        limit = self.max_files
        if limit is not None and len(data) > limit:
            raise serializers.ValidationError(too_many(limit), code="max_files")
        current = held_list(getattr(self.parent, "instance", None), self.source or "") or []
        records: list[MediaFile] = []
        errors: dict[int, Any] = {}
        for index, value in enumerate(data):
            try:
                records.append(self.item.record_for(value, current=current))
            except serializers.ValidationError as error:
                errors[index] = error.detail
        if errors:  # by index, as DRF's ListField says which items are wrong
            raise serializers.ValidationError(cast(Any, errors))
        if len({record.pk for record in records}) != len(records):
            self.fail("repeated")
        return records

    def to_representation(self, value: Any) -> list[str]:
        """Answer with the records' ids, by position."""
        records = value.all() if hasattr(value, "all") else value
        return [str(record.pk) for record in records]
