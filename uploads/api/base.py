"""The DRF policy every API view of the app declares for itself, so it behaves the same whatever
the host project's REST_FRAMEWORK says, and leaves the host's other APIs alone."""

from collections.abc import Callable
from typing import Any

from rest_framework import ISO_8601
from rest_framework.authentication import BaseAuthentication
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from uploads import conf
from uploads.api import errors as api_errors
from uploads.api import openapi
from uploads.api.parsers import BoundedJSONParser

# Every timestamp the API answers with, whatever DATETIME_FORMAT the host project chose.
DATETIME_FORMAT = ISO_8601


class AppAPIView(APIView):
    """Authentication, permission, content types, throttles and errors of the app's API views.

    Every API view of the app derives from it (a viewset lists it before DRF's classes). The
    host's DEFAULT_* settings never reach these views: authentication comes from
    UPLOAD_API_AUTHENTICATION_CLASSES, throttles from the app's own rates (each view's
    `get_throttles`), errors from the app's handler.
    """

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    throttle_classes = []
    content_negotiation_class = DefaultContentNegotiation
    metadata_class = SimpleMetadata
    versioning_class = None
    schema = openapi.view_schema()

    def get_authenticators(self) -> list[BaseAuthentication]:
        """Authenticate with UPLOAD_API_AUTHENTICATION_CLASSES, read now (tests override it)."""
        return [authentication() for authentication in conf.api_authentication_classes()]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        """Answer every error with the app's `{detail, code}` shape."""
        return api_errors.exception_handler
