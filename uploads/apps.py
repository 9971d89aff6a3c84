"""App configuration for uploads."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """Registers the uploads app and its system checks."""

    name = "uploads"
    verbose_name = "Media uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register system checks once the app registry is ready."""
        from uploads import checks  # noqa: F401  (registers on import)
