"""Two MediaFileFields on one model: a video-only field up to 1 MiB, and an image-only one."""

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
