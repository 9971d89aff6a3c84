"""The app's middleware: the signed-in user for form fields (which Django gives no request), and
a no-op kept for projects that still list the former JSON-errors middleware."""

import contextvars
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse


class ApiErrorsAsJson:
    """Does nothing: the app's API answers every error as JSON by itself now.

    Kept so a MIDDLEWARE list naming it keeps working; remove it from yours.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on."""
        return self.get_response(request)


_current_user: contextvars.ContextVar[Any] = contextvars.ContextVar("uploads_current_user")


class CurrentUser:
    """Let upload fields' forms know who submits them: an upload may only be attached by its owner.

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
