"""App configuration for uploads."""

import django_stubs_ext
from django.apps import AppConfig

# The app subscripts Django's and DRF's generic classes (ModelAdmin[MediaFile]) for type checking;
# this makes that work at run time in any project, not only one whose settings call it.
django_stubs_ext.monkeypatch()


class UploadsConfig(AppConfig):
    """Registers the uploads app, its system checks and its signal receivers."""

    name = "uploads"
    verbose_name = "Media uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register system checks and receivers once the app registry is ready."""
        from uploads import checks, receivers  # noqa: F401  (both register on import)
        from uploads.analysis import checks as analysis_checks  # noqa: F401
