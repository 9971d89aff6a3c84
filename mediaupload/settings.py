"""Settings for mediaupload: the only module that reads the environment (and an optional `.env`)."""

import os
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets generic Django classes be subscripted at run time (ModelAdmin[MediaFile]) for type checking.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# A development key is only acceptable when DEBUG is on; a production start without SECRET_KEY fails
# loudly instead of signing sessions with a key that is public in this repository.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    # The API docs' Swagger UI files (uploads.docs_urls).
    "drf_spectacular_sidecar",
    # Background tasks (media analysis) stored in the database, run by `manage.py db_worker`.
    "django_tasks_db",
    "uploads",
    # A demo of MediaFileField in a team's own models (see its admin).
    "mediaupload.demo",
]

MIDDLEWARE = [
    # First: the load balancer's probe gets no HTTPS redirect and no host check.
    "mediaupload.middleware.HealthCheck",
    "django.middleware.security.SecurityMiddleware",
    "mediaupload.middleware.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Upload fields in forms check that a new file is the submitting user's own.
    "uploads.middleware.CurrentUser",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mediaupload.urls"
WSGI_APPLICATION = "mediaupload.wsgi.application"
ASGI_APPLICATION = "mediaupload.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE; IMMEDIATE transactions take the write lock up front, so
    # concurrent completes queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

# Local memory by default. Rate-limit and sign-in counts go to the app's own table unless this is
# a shared cache (a Redis URL, redis://host:6379/0), which then holds them for every node.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Background work (uploads' media analysis): the database backend, whose `manage.py db_worker`
# processes run it; `make run` starts one. TASKS_BACKEND names another backend class (an RQ or
# Celery bridge) a deployment already runs.
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "uploads:uploader"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Outside DEBUG, `collectstatic` writes compressed files with hashed names that WhiteNoise
    # serves with far-future cache headers; `make run` serves the sources as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "mediaupload.staticfiles.StaticFilesStorage"
    },
}

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A year of HTTPS-only once a browser has seen the site over HTTPS (0 turns it off).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_PROXY", default=False):
    # Only behind a proxy that sets this header itself: the app then trusts it for HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For (sign-in throttling counts the
# address the nearest one saw; 0: the socket's own address).
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
# More origins the Content-Security-Policy allows for media and uploads (the bucket's is automatic).
CSP_EXTRA_ORIGINS = env.list("CSP_EXTRA_ORIGINS", default=[])

# S3 (AWS or any S3-compatible store). Empty endpoint means AWS itself.
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_DEFAULT_REGION = env.str("AWS_DEFAULT_REGION", default="us-east-1")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="")
# The upload bucket's own connection (UPLOAD_S3_ACCESS_KEY_ID, …): when any is in the environment,
# the app reads all of them and none of the AWS_* above (which then serve only other storages).
_UPLOAD_S3_NAMES = (
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "REGION",
    "ENDPOINT_URL",
    "ADDRESSING_STYLE",
)
globals().update(
    {
        f"UPLOAD_S3_{name}": os.environ[f"UPLOAD_S3_{name}"]
        for name in _UPLOAD_S3_NAMES
        if f"UPLOAD_S3_{name}" in os.environ
    }
)
CONTENT_UPLOAD_BUCKET = env.str("CONTENT_UPLOAD_BUCKET", default="")

# Upload rules; uploads/conf.py holds the same defaults for projects that omit them.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=5 * 1024**3)
UPLOAD_ALLOWED_TYPES = env.list("UPLOAD_ALLOWED_TYPES", default=["video/*", "audio/*", "image/*"])
UPLOAD_DENIED_TYPES = env.list(
    "UPLOAD_DENIED_TYPES",
    default=[
        "image/svg+xml",
        # Office files that can carry macros.
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    ],
)
UPLOAD_VERIFY_CONTENT = env.bool("UPLOAD_VERIFY_CONTENT", default=True)
UPLOAD_POLICY_EXPIRES = env.int("UPLOAD_POLICY_EXPIRES", default=60)
UPLOAD_MIN_THROUGHPUT = env.int("UPLOAD_MIN_THROUGHPUT", default=64 * 1024)
UPLOAD_DOWNLOAD_EXPIRES = env.int("UPLOAD_DOWNLOAD_EXPIRES", default=300)
UPLOAD_KEY_PREFIX = env.str("UPLOAD_KEY_PREFIX", default="incoming/")
UPLOAD_MEDIA_PREFIX = env.str("UPLOAD_MEDIA_PREFIX", default="media/")
UPLOAD_MULTIPART_THRESHOLD = env.int("UPLOAD_MULTIPART_THRESHOLD", default=64 * 1024**2)
UPLOAD_PART_SIZE = env.int("UPLOAD_PART_SIZE", default=16 * 1024**2)
UPLOAD_MULTIPART_EXPIRES = env.int("UPLOAD_MULTIPART_EXPIRES", default=24 * 3600)
UPLOAD_PARALLEL_PARTS = env.int("UPLOAD_PARALLEL_PARTS", default=4)
UPLOAD_PARALLEL_FILES = env.int("UPLOAD_PARALLEL_FILES", default=2)
UPLOAD_CORS_ORIGINS = env.list("UPLOAD_CORS_ORIGINS", default=[])
UPLOAD_USER_QUOTA_BYTES = env.int("UPLOAD_USER_QUOTA_BYTES", default=100 * 1024**3)
UPLOAD_USER_MAX_PENDING = env.int("UPLOAD_USER_MAX_PENDING", default=20)
UPLOAD_THROTTLE_CREATE = env.str("UPLOAD_THROTTLE_CREATE", default="120/minute")
UPLOAD_THROTTLE_AUTHORIZE = env.str("UPLOAD_THROTTLE_AUTHORIZE", default="60/minute")
UPLOAD_THROTTLE_PARTS = env.str("UPLOAD_THROTTLE_PARTS", default="300/minute")
UPLOAD_FIELD_VALUE_MAX_AGE = env.int("UPLOAD_FIELD_VALUE_MAX_AGE", default=24 * 3600)
# Storage events (POST /api/s3-events/): the shared secret of direct pushes, and trusted SNS topics.
UPLOAD_EVENTS_SECRET = env.str("UPLOAD_EVENTS_SECRET", default="")
UPLOAD_EVENTS_SNS_TOPICS = env.list("UPLOAD_EVENTS_SNS_TOPICS", default=[])
UPLOAD_ATTACH_ALLOWED_NETWORKS = env.list("UPLOAD_ATTACH_ALLOWED_NETWORKS", default=[])
UPLOAD_ATTACH_ALLOWED_PORTS = env.list("UPLOAD_ATTACH_ALLOWED_PORTS", default=["443"])
# false: botocore signs and DRF represents every answer, instead of the app's faster equivalents.
UPLOAD_SPEED_SHORTCUTS = env.bool("UPLOAD_SPEED_SHORTCUTS", default=True)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # stderr, where gunicorn and container runtimes collect it.
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "uploads": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Every 500 with its traceback (Django otherwise only mails ADMINS outside DEBUG).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
