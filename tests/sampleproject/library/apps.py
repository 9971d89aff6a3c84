"""The library app."""

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """Courses and lessons."""

    name = "tests.sampleproject.library"
    label = "library"
    default_auto_field = "django.db.models.BigAutoField"
