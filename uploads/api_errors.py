"""The one place the app's exceptions become HTTP answers, for every API view of the app."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    NotFound,
    ParseError,
    PermissionDenied,
    ValidationError,
)
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from uploads import events, storage
from uploads.errors import (
    IdempotencyKeyReused,
    InvalidPartNumbers,
    QuotaExceeded,
    UploadConflict,
)
from uploads.models import MediaFile
from uploads.parsers import RequestTooLarge


class StorageUnavailableError(APIException):
    """S3 could not be reached; the client may try again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The storage service is unavailable. Nothing was changed; try again shortly."
    default_code = "storage_unavailable"


class StorageRefusedError(APIException):
    """S3 refused a request the server made (usually a configuration problem)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The storage service refused the request. Nothing was changed."
    default_code = "storage_error"


class EventsUnavailableError(APIException):
    """A storage event that cannot be verified now; its sender retries on a 503 (unlike a 403)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The delivery cannot be verified now; try again shortly."
    default_code = "events_unavailable"


class QuotaExceededError(APIException):
    """The user's quota would be exceeded; the message says how much is left."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "quota_exceeded"


class IdempotencyKeyReusedError(APIException):
    """An Idempotency-Key came back with another declaration."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class Conflict(APIException):
    """The record's state does not allow the request; the body says why and which state it is in."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: str, code: str, record_status: str) -> None:
        super().__init__({"detail": detail, "code": code, "status": record_status})


def as_api_exception(exc: Exception) -> Exception:
    """Translate a service, storage or lookup exception into the APIException that answers it."""
    if isinstance(exc, UploadConflict):
        return Conflict(exc.detail, exc.code, exc.media_file.status)
    if isinstance(exc, QuotaExceeded):
        return QuotaExceededError(str(exc))
    if isinstance(exc, IdempotencyKeyReused):
        return IdempotencyKeyReusedError(str(exc))
    if isinstance(exc, InvalidPartNumbers):
        return ValidationError({exc.field: [str(exc)]})
    if isinstance(exc, events.EventsMalformed):
        return ParseError(str(exc))
    if isinstance(exc, events.EventsForbidden):
        return PermissionDenied(str(exc))
    if isinstance(exc, events.EventsUnavailable):
        return EventsUnavailableError(str(exc))
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, MediaFile.DoesNotExist | Http404):
        return NotFound()  # unknown, someone else's, or deleted while this request worked on it
    if isinstance(exc, storage.ClockSkewed):
        return StorageUnavailableError(str(exc))  # the operator's to fix: say what
    if isinstance(exc, storage.StorageUnavailable):
        return StorageUnavailableError()
    if isinstance(exc, storage.StorageError):
        return StorageRefusedError()
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler after translating the app's exceptions, answering one shape for every error.

    `{"detail": str, "code": str}`; a 409 adds the record's `status`; a 400 on fields adds `fields`
    (`{name: [messages]}`) and says the first message in `detail`. Anything else is a 500 in the
    same shape, logged and signalled as Django does for its own 500s.
    """
    translated = as_api_exception(exc)
    response = drf_exception_handler(translated, context)
    if response is None or not isinstance(translated, APIException):
        return _server_error(exc, context)
    response.data = error_body(translated)
    return response


SERVER_ERROR = {"detail": "Server error.", "code": "server_error"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def _server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """Answer an unexpected exception with a JSON 500, after telling Django's usual listeners.

    As Django's own handler does: `got_request_exception` is sent (the test client re-raises from
    it) and the traceback goes to the `django.request` logger.
    """
    request = getattr(context.get("request"), "_request", None)
    got_request_exception.send(sender=None, request=request)
    response = Response(SERVER_ERROR, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    path = request.path if request is not None else ""
    log_response(
        "%s: %s", "Internal Server Error", path, response=response, request=request, exception=exc
    )
    return response


@csrf_exempt
def unknown_api_url(request: HttpRequest) -> JsonResponse:
    """Answer a URL under the app's API prefix that names nothing: 404 in the API's shape."""
    return JsonResponse(NOT_FOUND, status=404)


def error_body(exc: APIException) -> dict[str, Any]:
    """Return the one error shape for an APIException."""
    if isinstance(exc.detail, dict) and "detail" in exc.detail:  # Conflict: detail, code, status
        return {key: str(value) for key, value in exc.detail.items()}
    if isinstance(exc.detail, dict | list):
        general = api_settings.NON_FIELD_ERRORS_KEY
        fields = exc.detail if isinstance(exc.detail, dict) else {general: exc.detail}
        messages = {name: _strings(value) for name, value in fields.items()}
        first_field, first = next(iter(messages.items()), ("", ["Invalid input."]))
        summary = first[0] if first_field == general else f"{first_field}: {first[0]}"
        return {"detail": summary, "code": "invalid", "fields": messages}
    return {"detail": str(exc.detail), "code": str(exc.get_codes())}


def _strings(value: Any) -> list[str]:
    """Flatten DRF's nested error details into a list of messages."""
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, inner in value.items() for message in _strings(inner)]
    if isinstance(value, list):
        return [message for item in value for message in _strings(item)]
    return [str(value)]
