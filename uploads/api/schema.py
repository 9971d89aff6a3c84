"""OpenAPI descriptions the code cannot infer: the one error shape and each call's errors."""

from typing import Any

from rest_framework import serializers

from uploads import protocol
from uploads.api.openapi import OpenApiResponse


def _codes(status: int) -> list[str]:
    """Return the table's error codes answered with this HTTP status."""
    return [entry.code for entry in protocol.errors().values() if entry.status == status]


def _described(status: int) -> str:
    """Say what each code of this status means, from the table."""
    return "; ".join(
        f"`{e.code}`: {e.summary}" for e in protocol.errors().values() if e.status == status
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error answer: a sentence for people and a stable code for programs."""

    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=list(protocol.errors()),
        help_text="What a client does about each code is in the protocol table.",
    )


class ConflictSerializer(serializers.Serializer[Any]):
    """A 409: the record's state does not allow the request; `status` says which state it is in."""

    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=_codes(409))
    status = serializers.ChoiceField(choices=protocol.statuses())


class ValidationErrorSerializer(serializers.Serializer[Any]):
    """A 400: `detail` says the first problem; on the request's fields, `fields` says every one."""

    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=_codes(400))
    fields_ = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        """Name `fields_` as `fields` (a name DRF keeps for itself on a serializer class)."""
        fields = super().get_fields()
        fields["fields"] = fields.pop("fields_")
        return fields


# Statuses every call of the records API may answer.
COMMON = (401, 403, 404, 405, 413, 415, 429, 503)
_SHAPES: dict[int, type[serializers.Serializer[Any]]] = {
    400: ValidationErrorSerializer,
    409: ConflictSerializer,
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Describe these error statuses with the one error shape and the table's codes for each."""
    return {
        status: OpenApiResponse(
            _SHAPES.get(status, ErrorSerializer), description=_described(status)
        )
        for status in sorted({*statuses})
    }
