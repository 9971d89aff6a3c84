"""Two models as a team would write them, each taking uploads through MediaFileField."""

from django.db import models

from uploads.fields import MediaFileField


class Show(models.Model):
    """A series of episodes, with its own poster."""

    title = models.CharField(max_length=200)
    poster = MediaFileField(allowed_types=["image/*"], null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class Episode(models.Model):
    """One episode: its video (up to 2 GiB) and an optional cover image."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="episodes")
    title = models.CharField(max_length=200)
    video = MediaFileField(allowed_types=["video/*"], max_bytes=2 * 1024**3)
    cover = MediaFileField(allowed_types=["image/*"], null=True, blank=True)

    def __str__(self) -> str:
        return self.title
