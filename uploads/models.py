"""The MediaFile record: one upload's key, owner, declaration and status."""

import io
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from uploads import conf, handles
from uploads.multipart import PartPlan

logger = logging.getLogger("uploads.transitions")


class MediaFile(models.Model):
    """One file a user uploads straight to the bucket; the server decides when it counts."""

    class Status(models.TextChoices):
        """Where an upload stands; every state but `pending` is terminal."""

        PENDING = "pending", "Pending"
        UPLOADED = "uploaded", "Uploaded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        ABORTED = "aborted", "Aborted"

    class Analysis(models.TextChoices):
        """Where the background analysis of an uploaded file stands (it never changes `status`)."""

        NONE = "none", "Not requested"
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=1024, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_files"
    )
    filename = models.CharField(max_length=255)
    field = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The model field it was uploaded for (app_label.model.field), if any.",
    )
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
        null=True,
        blank=True,
        help_text="The upload deadline, fixed at creation: no authorization is issued after it.",
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
    # A short lease: the one worker doing this record's S3 work (see uploads/claims.py).
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # What the file is (uploads/analysis/): worked out by a background task after the upload.
    analysis_status = models.CharField(
        max_length=16, choices=Analysis.choices, default=Analysis.NONE, db_index=True
    )
    analysis_reason = models.CharField(
        max_length=32,
        blank=True,
        help_text="Why the last attempt failed (uploads/analysis/reasons.py).",
    )
    analysis_attempts = models.PositiveSmallIntegerField(default=0)
    analysis_due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the next attempt may start (backoff after a failure).",
    )
    # The lease of the one worker analysing the file; past it, the sweep hands the work on.
    analysis_token = models.UUIDField(null=True, blank=True, editable=False)
    analysis_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    metadata = models.JSONField(
        default=dict, blank=True, help_text="What analysis found (schema in the README)."
    )
    derived = models.JSONField(
        default=dict, blank=True, help_text="Keys of the server-made files: poster, thumbnail."
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
        """Tell whether the file goes up as an S3 multipart upload (planned when it was created)."""
        return self.part_size is not None

    @property
    def is_terminal(self) -> bool:
        """Tell whether the status can no longer change."""
        return self.status != self.Status.PENDING

    @property
    def past_deadline(self) -> bool:
        """Tell whether the upload deadline has passed (no new authorization is issued then)."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    # What views and templates do with an attached file (uploads/handles.py; README "Working
    # with files"). Only an `uploaded` record has a link or a stream.

    @property
    def kind(self) -> str:
        """Return the top-level type: "image", "video", "audio", "application", "text"…"""
        return handles.kind(self)

    @property
    def is_image(self) -> bool:
        """Tell whether the file is an image, by its content type (`image/*`)."""
        return self.kind == "image"

    @property
    def is_video(self) -> bool:
        """Tell whether the file is a video, by its content type (`video/*`)."""
        return self.kind == "video"

    @property
    def is_audio(self) -> bool:
        """Tell whether the file is audio, by its content type (`audio/*`)."""
        return self.kind == "audio"

    def url(
        self,
        inline: bool = False,
        expires: int | timedelta | None = None,
        filename: str | None = None,
    ) -> str | None:
        """A signed link to the file, or None while it isn't `uploaded` (never a string "None").

        `inline=True`: shown in the page or tab, only for types that can't run script (images but
        SVG, audio, video, PDF, plain text; others stay downloads). `expires`: seconds or a
        timedelta, UPLOAD_DOWNLOAD_EXPIRES by default, at most UPLOAD_DOWNLOAD_MAX_EXPIRES (and
        7 days). `filename`: the name it downloads under (the extension follows the verified type).
        """
        return handles.url(self, inline=inline, expires=expires, filename=filename)

    def open(self, *, read_ahead: int = handles.READ_AHEAD) -> io.BufferedReader:
        """A readable, seekable binary stream over the file, by ranged GETs as it is read (each
        conditional on the verified ETag); handles.FileNotUploaded unless it is `uploaded`."""
        return handles.open_file(self, read_ahead=read_ahead)

    def mark_uploaded(self, *, key: str, etag: str, claim_token: uuid.UUID) -> bool:
        """Record that the object was verified, and the key it is served from from now on.

        Like every transition below: saved only if the claim `claim_token` still holds the record;
        returns whether it was.
        """
        self.status = self.Status.UPLOADED
        self.key = key
        self.etag = etag
        self.uploaded_at = timezone.now()
        self.bytes_confirmed = self.size
        if self.part_size:
            self.parts_confirmed = PartPlan(self.size, self.part_size).part_count
        # Analysis is owed from the same UPDATE on: a crash before its task is enqueued leaves a
        # pending record that the sweep finds.
        owed = conf.analysis_enabled()
        self.analysis_status = self.Analysis.PENDING if owed else self.Analysis.NONE
        self.analysis_attempts = 0
        self.analysis_due_at = self.uploaded_at
        return self._save_transition(
            claim_token,
            "key",
            "etag",
            "uploaded_at",
            "bytes_confirmed",
            "parts_confirmed",
            "analysis_status",
            "analysis_attempts",
            "analysis_due_at",
        )

    def mark_failed(self, *, reason: str, claim_token: uuid.UUID) -> bool:
        """Record that the object in the bucket broke the declaration."""
        self.status = self.Status.FAILED
        self.failure_reason = reason[:500]
        return self._save_transition(claim_token, "failure_reason")

    def mark_aborted(self, *, claim_token: uuid.UUID) -> bool:
        """Record that the owner cancelled the upload."""
        self.status = self.Status.ABORTED
        return self._save_transition(claim_token)

    def mark_expired(self, *, claim_token: uuid.UUID) -> bool:
        """Record that the deadline passed without a complete file."""
        self.status = self.Status.EXPIRED
        return self._save_transition(claim_token)

    def log_transition(self, *, before: str, via: str) -> None:
        """Log one line an operator can search: which upload, whose, where, what changed, how."""
        logger.info(
            "upload %s owner=%s key=%s %s → %s size=%s via=%s",
            self.pk,
            self.owner_id,
            self.key,
            before,
            self.status,
            self.size,
            via,
        )

    def _save_transition(self, claim_token: uuid.UUID, *fields: str) -> bool:
        """Save a new status with its fields, in one UPDATE that matches only while the claim
        holds (a terminal record needs no claim any more); tell whether it matched.

        No row lock or transaction: the claim is the lock, and one conditional UPDATE is atomic.
        """
        self.updated_at = timezone.now()
        values = {name: getattr(self, name) for name in ("status", *fields, "updated_at")}
        saved = MediaFile.objects.filter(pk=self.pk, claim_token=claim_token).update(
            **values, claim_token=None, claimed_until=None
        )
        if saved:
            self.claim_token = None
            self.claimed_until = None
        return bool(saved)

    def record_progress(self, *, parts: int, bytes_held: int) -> None:
        """Remember how much of a multipart upload S3 holds, for the admin and the owner."""
        self.parts_confirmed = parts
        self.bytes_confirmed = bytes_held
        # An UPDATE that matches no row is fine: the record may have been deleted meanwhile.
        MediaFile.objects.filter(pk=self.pk).update(
            parts_confirmed=parts, bytes_confirmed=bytes_held, updated_at=timezone.now()
        )


class PendingDeletion(models.Model):
    """An object (or open multipart upload) of a deleted record, until S3 has deleted it.

    Written in the transaction that deletes the record, so nothing is left that nothing will
    delete; `reconcile_uploads` retries entries a request could not carry out (see deletions.py).
    """

    media_id = models.UUIDField(help_text="The deleted record's id (not a key: the row is gone).")
    key = models.CharField(max_length=1024)
    upload_id = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.key


class QuotaHold(models.Model):
    """Bytes a cancelled or deleted POST upload keeps counting against its owner's quota until its
    policy can no longer write (its deadline, plus the clock skew S3 tolerates)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=1024, help_text="The scratch key the policy can still write.")
    bytes = models.PositiveBigIntegerField()
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.bytes} bytes of {self.key} until {self.until:%Y-%m-%d %H:%M:%S}"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` on a create: a repeat returns the same record, for a day."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the declaration.")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            # Concurrent repeats and several app nodes agree: one row per user and key.
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_per_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.media_file_id}"


class SnsDelivery(models.Model):
    """An SNS MessageId being acted on, or acted on and answered 2xx: a replay is not acted on."""

    message_id = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField(
        db_index=True, help_text="When a delivery began acting on it (a lease until acted on)."
    )
    acted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.message_id


class ThrottleCount(models.Model):
    """One throttle key's recent calls, or its failed attempts, for every worker and node to share.

    Used when no shared cache holds the counts (see rate_limits.py); each change is made under
    the row's lock, in one short transaction.
    """

    key = models.CharField(max_length=255, primary_key=True)
    hits = models.JSONField(
        default=list, help_text="A rate's calls still in its window (epoch seconds, oldest first)."
    )
    failures = models.PositiveIntegerField(default=0, help_text="Attempts counted as failed.")
    blocked_until = models.DateTimeField(null=True, blank=True, help_text="No attempt before this.")
    expires_at = models.DateTimeField(
        db_index=True, help_text="After this the row counts nothing; it is deleted in passing."
    )

    def __str__(self) -> str:
        return self.key


class SweepLease(models.Model):
    """Which sweep is walking the bucket now: two started at once never act on a listing twice.

    Held while a sweep lists and acts on the bucket (renewed after each page, so a crashed sweep's
    lease runs out within minutes); records themselves are shared out by claims, not by this.
    """

    name = models.CharField(max_length=50, primary_key=True, help_text="The sweep, e.g. reconcile.")
    holder = models.UUIDField(help_text="The run that holds it.")
    until = models.DateTimeField(help_text="After this another run may take it over.")

    def __str__(self) -> str:
        return f"{self.name} until {self.until:%Y-%m-%d %H:%M:%S}"
