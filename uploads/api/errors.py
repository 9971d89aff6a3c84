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

from uploads import protocol, storage
from uploads.api.parsers import RequestTooLarge
from uploads.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    QuotaExceeded,
    UploadConflict,
)
from uploads.events import notifications as events
from uploads.models import MediaFile


class AppError(APIException):
    """An answer the protocol table declares: its HTTP status comes from the code's entry.

    `record_status` (a 409's) is the record's status, so a client needs no second request.
    """

    def __init__(self, code: str, detail: str = "", *, record_status: str = "") -> None:
        entry = protocol.error(code)
        self.status_code = entry.status
        self.record_status = record_status
        super().__init__(detail or entry.summary, code)


def as_api_exception(exc: Exception) -> Exception:
    """Translate a service, storage or lookup exception into the APIException that answers it."""
    if isinstance(exc, UploadConflict):
        return AppError(exc.code, exc.detail, record_status=exc.media_file.status)
    if isinstance(exc, QuotaExceeded):
        return AppError("quota_exceeded", str(exc))
    if isinstance(exc, IdempotencyKeyReused):
        return AppError("idempotency_key_reused", str(exc))
    if isinstance(exc, InvalidInput):
        return ValidationError({exc.field: [str(exc)]})
    if isinstance(exc, events.EventsMalformed):
        return ParseError(str(exc))
    if isinstance(exc, events.EventsForbidden):
        return PermissionDenied(str(exc))
    if isinstance(exc, events.EventsUnavailable):
        return AppError("events_unavailable", str(exc))
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, MediaFile.DoesNotExist | Http404):
        return NotFound()  # unknown, someone else's, or deleted while this request worked on it
    if isinstance(exc, storage.ClockSkewed):
        return AppError("storage_unavailable", str(exc))  # the operator's to fix: say what
    if isinstance(exc, storage.StorageUnavailable):
        return AppError("storage_unavailable", STORAGE_UNAVAILABLE)
    if isinstance(exc, storage.StorageError):
        return AppError("storage_error", STORAGE_REFUSED)
    return exc


STORAGE_UNAVAILABLE = "The storage service is unavailable. Nothing was changed; try again shortly."
STORAGE_REFUSED = "The storage service refused the request. Nothing was changed."


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
    if isinstance(exc.detail, dict | list):
        general = api_settings.NON_FIELD_ERRORS_KEY
        fields = exc.detail if isinstance(exc.detail, dict) else {general: exc.detail}
        messages = {name: _strings(value) for name, value in fields.items()}
        first_field, first = next(iter(messages.items()), ("", ["Invalid input."]))
        summary = first[0] if first_field == general else f"{first_field}: {first[0]}"
        return {"detail": summary, "code": "invalid", "fields": messages}
    body = {"detail": str(exc.detail), "code": str(exc.get_codes())}
    if isinstance(exc, AppError) and exc.record_status:
        body["status"] = exc.record_status
    return body


def _strings(value: Any) -> list[str]:
    """Flatten DRF's nested error details into a list of messages."""
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, inner in value.items() for message in _strings(inner)]
    if isinstance(value, list):
        return [message for item in value for message in _strings(item)]
    return [str(value)]
