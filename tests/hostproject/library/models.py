"""A team's model with an upload field, as the README shows it."""

from django.db import models

from uploads.fields import MediaFileField


class Episode(models.Model):
    """An episode and its video."""

    title = models.CharField(max_length=200)
    video = MediaFileField(allowed_types=["video/*"], max_bytes=2 * 1024**3)

    def __str__(self) -> str:
        return self.title
