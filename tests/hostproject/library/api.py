"""The team's own API, which relies on the project's REST_FRAMEWORK settings."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler


def host_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The team's own error shape."""
    response = exception_handler(exc, context)
    if response is not None:
        response.data = {"host_error": response.status_code}
        response["X-Host-Error"] = str(response.status_code)
    return response


class Things(APIView):
    """A view that takes every default from REST_FRAMEWORK."""

    def get(self, request: Request, version: str) -> Response:
        """List nothing, saying which version was asked for."""
        return Response({"things": [], "version": version})
