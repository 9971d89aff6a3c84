"""Two models as a team would write them, taking uploads through MediaFileField and, for several
files in order, MediaFilesField."""

from django.db import models

from uploads.fields import MediaFileField, MediaFilesField


class Show(models.Model):
    """A series of episodes, with its own poster, a wide banner (at least 1000 pixels wide:
    checked once the server has analysed the picture) and a gallery of up to five pictures."""

    title = models.CharField(max_length=200)
    poster = MediaFileField(allowed_types=["image/*"], null=True, blank=True)
    banner = MediaFileField(allowed_types=["image/*"], min_width=1000, null=True, blank=True)
    gallery = MediaFilesField(allowed_types=["image/*"], max_files=5, blank=True)

    def __str__(self) -> str:
        return self.title


class Episode(models.Model):
    """One episode: its video (up to 2 GiB), an optional cover image, an optional teaser of five
    seconds at most (checked once the server has analysed the video), and an optional script as a
    document (read in the browser when it is a PDF)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="episodes")
    title = models.CharField(max_length=200)
    video = MediaFileField(allowed_types=["video/*"], max_bytes=2 * 1024**3)
    cover = MediaFileField(allowed_types=["image/*"], null=True, blank=True)
    teaser = MediaFileField(allowed_types=["video/*"], max_duration=5, null=True, blank=True)
    script = MediaFileField(
        allowed_types=[
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/plain",
        ],
        inline_types=["application/pdf"],
        max_bytes=50 * 1024**2,
        null=True,
        blank=True,
    )

    def __str__(self) -> str:
        return self.title
