"""The HTTP API: views, serializers, errors, throttles, parsers and its OpenAPI description."""
