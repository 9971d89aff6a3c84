"""The app's middleware: error answers in the API's JSON shape outside DRF's views, and the
signed-in user for form fields (which Django gives no request)."""

import contextvars
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class ApiErrorsAsJson:
    """Give every non-JSON error answer under the API's prefix the `{detail, code}` shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler; the API prefix is the parent of the media list's URL."""
        self.get_response = get_response
        self.prefix = reverse("uploads:media-list").rstrip("/").rpartition("/")[0] + "/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Rewrite HTML error pages for API paths; Django has already logged any 500."""
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(self.prefix)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _json_error(response.status_code)
        return response


def _json_error(code: int) -> HttpResponse:
    """Return `{detail, code}` for a bare HTTP status, named as HTTP names it."""
    phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
    body = {"detail": f"{phrase}.", "code": phrase.lower().replace(" ", "_").replace("-", "_")}
    return HttpResponse(json.dumps(body), status=code, content_type="application/json")


_current_user: contextvars.ContextVar[Any] = contextvars.ContextVar("uploads_current_user")


class CurrentUser:
    """Let MediaFileField forms know who submits them: an upload may only be attached by its owner.

    Place it after AuthenticationMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Remember the request's user while it is handled."""
        token = _current_user.set(request.user)
        try:
            return self.get_response(request)
        finally:
            _current_user.reset(token)


def current_user() -> Any:
    """Return the user of the request being handled; None outside one or without the middleware."""
    return _current_user.get(None)
