"""WSGI entry point for mediaupload."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediaupload.settings")

application = get_wsgi_application()
# Import the URLconf, and so every view, as each worker starts: its first request is then as fast
# as the others, and a broken import fails the start instead of a request.
get_resolver().url_patterns  # noqa: B018
