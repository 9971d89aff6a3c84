"""Test settings: the project's settings, a fixed test secret and a file-backed SQLite database."""

import os
import tempfile

# Written before the project's settings read the environment; tests never need a real secret.
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
# The test client and live server speak plain HTTP, and serve static files from their sources.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from mediaupload.settings import *  # noqa: F403
from mediaupload.settings import DATABASES, STORAGES

CONTENT_UPLOAD_BUCKET = "test-bucket"
AWS_ACCESS_KEY_ID = "testing"
AWS_SECRET_ACCESS_KEY = "testing"
AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens: a test must bring its own S3
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files from the apps' folders as they are (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory, so threads in concurrency tests really contend for locks.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"mediaupload-test-{os.getpid()}.sqlite3")
    }
    if "DATABASE_URL" not in os.environ:
        # Not the demo's db.sqlite3 in the checkout either, for whatever opens the database
        # itself on these settings (Django's system checks do: `manage.py check` makes the file).
        DATABASES["default"]["NAME"] = os.path.join(
            tempfile.gettempdir(), "mediaupload-tests.sqlite3"
        )

# UPLOAD_SPEED_SHORTCUTS=false in the environment (the demo's settings read it) runs the suite on
# botocore's presigner and DRF's own representation, as nox's oldest pair does; tests of the
# shortcuts themselves pin it.

# Test clients send JSON unless told otherwise (the API parses JSON only).
REST_FRAMEWORK = {"TEST_REQUEST_DEFAULT_FORMAT": "json"}
