"""The API's OpenAPI schema and its browsable docs, served from local files (the `docs` extra).

`path("", include("uploads.docs_urls"))` serves `api/schema/` (a session or a token, like the API it
describes) and `api/docs/` (a page for signed-in people; others go to LOGIN_URL). The page's files
come from drf-spectacular-sidecar, so "drf_spectacular_sidecar" goes in INSTALLED_APPS (and
drf-spectacular itself nowhere). The schema describes the app's endpoints only, with settings of
its own: the project's SPECTACULAR_SETTINGS and REST_FRAMEWORK change nothing here.
"""

from typing import Any, cast

from uploads.extras import require

require("drf_spectacular", "drf_spectacular_sidecar", extra="docs", feature="uploads.docs_urls")

from django.conf import settings  # noqa: E402  (only once the extra is known to be there)
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from drf_spectacular.views import SpectacularAPIView  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from uploads.api.base import AppAPIView  # noqa: E402
from uploads.api.openapi import extend_schema  # noqa: E402

app_name = "uploads_docs"

TITLE = "mediaupload API"
SETTINGS: dict[str, Any] = {
    "TITLE": TITLE,
    "DESCRIPTION": (
        "Declare a file, upload its bytes straight to S3 with the authorization you get back, then "
        "ask the server to verify it. Authenticate with `Authorization: Token <key>` (or a session "
        "with its CSRF token). Every error answer is JSON `{detail, code}`."
    ),
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RecordStatus": "uploads.models.MediaFile.Status"},
    "PREPROCESSING_HOOKS": ["uploads.docs_urls.app_endpoints_only"],
}


def app_endpoints_only(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Keep the endpoints of the app's own views; the project's other APIs are not described."""
    return [
        endpoint
        for endpoint in endpoints
        if getattr(endpoint[3], "cls", None) is not None
        and issubclass(endpoint[3].cls, AppAPIView)
        and endpoint[3].cls.__module__.startswith("uploads.")
        and endpoint[3].cls.__module__ != __name__  # the schema and docs themselves
    ]


class SchemaView(AppAPIView, SpectacularAPIView):
    """The OpenAPI 3 document of the app's API (JSON with `?format=json`, else YAML)."""

    renderer_classes = SpectacularAPIView.renderer_classes
    custom_settings = SETTINGS

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Answer with the schema (not itself part of it)."""
        return cast(Response, super().get(request, *args, **kwargs))  # type: ignore[no-untyped-call]


@login_required
def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI on the schema: its files from drf-spectacular-sidecar, no CDN, no inline code."""
    header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    config = {
        "schemaUrl": reverse(f"{app_name}:schema") + "?format=json",
        "csrfHeader": header,
        "csrfToken": get_token(request),
    }
    return render(request, "uploads/api_docs.html", {"title": TITLE, "docs_config": config})


urlpatterns = [
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", docs, name="docs"),
]
