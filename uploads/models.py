"""The MediaFile record: one upload's key, owner, declaration and status."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class MediaFile(models.Model):
    """One file a user uploads straight to the bucket; the server decides when it counts."""

    class Status(models.TextChoices):
        """Where an upload stands; every state but `pending` is terminal."""

        PENDING = "pending", "Pending"
        UPLOADED = "uploaded", "Uploaded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        ABORTED = "aborted", "Aborted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=1024, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_files"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(help_text="Declared size in bytes.")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    etag = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current upload authorisation expires."
    )
    # Multipart uploads only: the id S3 gave the upload (never shown to clients) and its part size.
    upload_id = models.CharField(max_length=1024, blank=True, editable=False)
    part_size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    parts_confirmed = models.PositiveIntegerField(
        default=0, help_text="Parts S3 held when the server last looked."
    )
    bytes_confirmed = models.PositiveBigIntegerField(
        default=0, help_text="Bytes S3 held when the server last looked."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="media_owner_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=1), name="media_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def is_multipart(self) -> bool:
        """Tell whether the file goes up as an S3 multipart upload."""
        return bool(self.upload_id)

    @property
    def is_terminal(self) -> bool:
        """Tell whether the status can no longer change."""
        return self.status != self.Status.PENDING

    def mark_uploaded(self, *, etag: str) -> None:
        """Record that the object was verified in the bucket."""
        self.status = self.Status.UPLOADED
        self.etag = etag
        self.uploaded_at = timezone.now()
        self.bytes_confirmed = self.size
        self.save(update_fields=["status", "etag", "uploaded_at", "bytes_confirmed", "updated_at"])

    def mark_failed(self, *, reason: str) -> None:
        """Record that the object in the bucket broke the declaration."""
        self.status = self.Status.FAILED
        self.failure_reason = reason[:500]
        self.save(update_fields=["status", "failure_reason", "updated_at"])

    def mark_aborted(self) -> None:
        """Record that the owner cancelled the upload."""
        self.status = self.Status.ABORTED
        self.save(update_fields=["status", "updated_at"])

    def record_progress(self, *, parts: int, bytes_held: int) -> None:
        """Remember how much of a multipart upload S3 holds, for the admin and the owner."""
        self.parts_confirmed = parts
        self.bytes_confirmed = bytes_held
        self.save(update_fields=["parts_confirmed", "bytes_confirmed", "updated_at"])
