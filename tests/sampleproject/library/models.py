"""A lesson's two MediaFileFields (a video-only field up to 1 MiB, and an image-only one), and a
handout's documents: notes read in the browser tab, and a worksheet that always downloads."""

from django.db import models

from uploads.fields import MediaFileField


class Course(models.Model):
    """A course, whose lessons are edited inline in the admin."""

    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    """A lesson with its video and an optional thumbnail."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, null=True, blank=True)
    title = models.CharField(max_length=100)
    video = MediaFileField(allowed_types=["video/*"], max_bytes=1024**2)
    thumbnail = MediaFileField(allowed_types=["image/*"], null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class Handout(models.Model):
    """A lesson's handout: notes shown in the tab, and a PDF worksheet to download and fill in."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, null=True, blank=True)
    notes = MediaFileField(
        allowed_types=["application/pdf", "text/plain"],
        inline_types=["application/pdf", "text/plain"],  # read in the tab, as the README shows
    )
    # The same PDFs, but no inline_types: a link to it is always an attachment.
    worksheet = MediaFileField(allowed_types=["application/pdf"], null=True, blank=True)

    def __str__(self) -> str:
        return f"Handout {self.pk}"
