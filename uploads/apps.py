"""App configuration for uploads."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """Registers the uploads app, its system checks and its signal receivers."""

    name = "uploads"
    verbose_name = "Media uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register system checks and receivers once the app registry is ready."""
        from uploads import checks, receivers  # noqa: F401  (both register on import)
