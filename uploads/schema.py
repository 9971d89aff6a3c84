"""OpenAPI descriptions the code cannot infer: the one error shape and each call's errors."""

from typing import Any

from rest_framework import serializers

from uploads.models import MediaFile
from uploads.openapi import OpenApiResponse


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error answer: a sentence for people and a stable code for programs."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="e.g. not_found, throttled, storage_unavailable")


class ConflictSerializer(serializers.Serializer[Any]):
    """A 409: the record's state does not allow the request."""

    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=[
            "not_received",
            "not_pending",
            "upload_expired",
            "not_multipart",
            "parts_gone",
            "busy",
            "in_use",
            *MediaFile.Status.values,
        ],
        help_text="Why; a completed-but-refused file answers with its final status as the code.",
    )
    status = serializers.ChoiceField(choices=MediaFile.Status.choices)


class ValidationErrorSerializer(ErrorSerializer):
    """A 400 on the request's fields: `detail` says the first problem, `fields` every one."""

    fields_ = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        """Name `fields_` as `fields` (a name DRF keeps for itself on a serializer class)."""
        fields = super().get_fields()
        fields["fields"] = fields.pop("fields_")
        return fields


_ERRORS: dict[int, tuple[type[serializers.Serializer[Any]], str]] = {
    400: (ValidationErrorSerializer, "Malformed JSON or invalid fields."),
    401: (ErrorSerializer, "No valid session or token."),
    403: (ErrorSerializer, "Not allowed (for example a missing CSRF token, or a quota)."),
    404: (ErrorSerializer, "No such record among yours."),
    409: (ConflictSerializer, "The record's state does not allow this."),
    413: (ErrorSerializer, "The request body is too large."),
    415: (ErrorSerializer, "The body is not JSON."),
    422: (ErrorSerializer, "The Idempotency-Key was used for another declaration."),
    429: (ErrorSerializer, "Too many requests; see the Retry-After header."),
    502: (ErrorSerializer, "The storage service refused a request of the server's."),
    503: (ErrorSerializer, "The storage service cannot be reached; nothing was changed."),
}
# Statuses every call of the records API may answer.
COMMON = (401, 403, 404, 405, 413, 415, 429, 503)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Describe these error statuses with the one error shape."""
    described: dict[int, OpenApiResponse] = {}
    for code in sorted({*statuses}):
        serializer, text = _ERRORS.get(code, (ErrorSerializer, "Method not allowed."))
        described[code] = OpenApiResponse(serializer, description=text)
    return described
