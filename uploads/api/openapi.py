"""The API's OpenAPI annotations: drf-spectacular's when it is installed (the `docs` extra), else
stand-ins that change nothing, so the API runs with the runtime dependencies alone."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from uploads.extras import installed

AVAILABLE = installed("drf_spectacular")

if TYPE_CHECKING or AVAILABLE:
    import inspect

    from drf_spectacular import utils
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import (
        OpenApiParameter,
        OpenApiResponse,
        PolymorphicProxySerializer,
        extend_schema_field,
        extend_schema_view,
    )

    def view_schema() -> Any:
        """Return the schema inspector the app's views use, whatever DEFAULT_SCHEMA_CLASS says."""
        return AutoSchema()

    def extend_schema(**description: Any) -> Callable[[Any], Any]:
        """drf-spectacular's `extend_schema`, building on the app's inspector.

        Left alone, it builds on the project's DEFAULT_SCHEMA_CLASS (DRF's own inspector unless
        the project chose drf-spectacular's), which can't describe the app's views.
        """
        describe = utils.extend_schema(**description)

        def decorator(target: Any) -> Any:
            if not inspect.isclass(target):
                target.__dict__.setdefault("kwargs", {}).setdefault("schema", AutoSchema)
            return describe(target)

        return decorator

else:

    class _Described:
        """Takes whatever a description is given and keeps it; nothing reads it."""

        HEADER = "header"
        QUERY = "query"
        PATH = "path"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.args = args
            self.kwargs = kwargs
            self.serializers = kwargs.get("serializers")

        def __getattr__(self, name: str) -> Any:
            return name

    def _unchanged(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Return a decorator that returns what it decorates."""
        return lambda decorated: decorated

    OpenApiTypes = _Described()
    OpenApiParameter = OpenApiResponse = PolymorphicProxySerializer = _Described
    extend_schema = extend_schema_field = extend_schema_view = _unchanged

    def view_schema() -> Any:
        """Return DRF's default schema inspector."""
        from rest_framework.schemas import DefaultSchema

        return DefaultSchema()


__all__ = [
    "AVAILABLE",
    "OpenApiParameter",
    "OpenApiResponse",
    "OpenApiTypes",
    "PolymorphicProxySerializer",
    "extend_schema",
    "extend_schema_field",
    "extend_schema_view",
    "view_schema",
]
