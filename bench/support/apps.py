"""The bench-only Django app: a baseline create, a proxying upload view, a django-s3-file-field."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Loaded only by `bench.support.settings`; the product never installs it."""

    name = "bench.support"
    label = "bench"
    default_auto_field = "django.db.models.BigAutoField"
