"""The demo app's configuration."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Shows: a show's episodes with a video and a cover image, uploaded from the admin."""

    name = "mediaupload.demo"
    label = "demo"
    verbose_name = "Demo: shows and episodes"
    default_auto_field = "django.db.models.BigAutoField"
