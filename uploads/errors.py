"""The app's own exceptions: what a service refuses, and why, in terms the API maps to HTTP."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uploads.models import MediaFile


class UploadConflict(Exception):
    """The record's state does not allow the request (HTTP 409 with a `code` and its status)."""

    code = "conflict"

    def __init__(self, media_file: "MediaFile", detail: str) -> None:
        super().__init__(detail)
        self.media_file = media_file
        self.detail = detail


class NotPending(UploadConflict):
    """The record is uploaded, failed, expired or aborted: it can no longer change."""

    code = "not_pending"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(
            media_file, f"This upload is {media_file.status}; it can no longer change."
        )


class UploadExpired(UploadConflict):
    """The upload's deadline has passed: no new authorization; start a new upload instead."""

    code = "upload_expired"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(
            media_file, "This upload's deadline has passed; start a new upload of the file."
        )


class NotMultipart(UploadConflict):
    """The record goes up as one POST, so it has no parts."""

    code = "not_multipart"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(media_file, "This upload is a single POST; it has no parts.")


class PartsGone(UploadConflict):
    """Storage no longer holds the multipart upload (aborted outside the app)."""

    code = "parts_gone"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(media_file, "Storage no longer holds this upload's parts; start it again.")


class UploadNotReceived(UploadConflict):
    """The bucket does not hold the whole file yet; the record stays pending."""

    code = "not_received"

    def __init__(
        self, media_file: "MediaFile", detail: str = "The bucket holds no file for this upload yet."
    ) -> None:
        super().__init__(media_file, detail)


class UploadFailed(UploadConflict):
    """Completing found a file it refused (size, type or content); the record is failed."""

    code = "upload_failed"

    def __init__(self, media_file: "MediaFile") -> None:
        detail = media_file.failure_reason or "This upload failed verification."
        super().__init__(media_file, detail)


class NotUploaded(UploadConflict):
    """Only an uploaded (verified) record can be attached to a model field."""

    code = "not_uploaded"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(media_file, f"This upload is {media_file.status}, not uploaded.")


class InUse(UploadConflict):
    """A model's upload field holds the record: deleting it would lose that object's file."""

    code = "in_use"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(
            media_file,
            "This file is attached to something, so it can't be deleted; detach it first.",
        )


class Busy(UploadConflict):
    """Another request is working on this upload right now; try again shortly."""

    code = "busy"

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(
            media_file, "Another request is settling this upload; try again in a moment."
        )


class QuotaExceeded(Exception):
    """The user's storage or pending-upload quota would be exceeded (HTTP 403 `quota_exceeded`)."""


class IdempotencyKeyReused(Exception):
    """An `Idempotency-Key` came back with another declaration (HTTP 422)."""


class InvalidInput(Exception):
    """A request's value the service refuses (HTTP 400 naming `field`, the request's field)."""

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail)
        self.field = field


class InvalidPartNumbers(InvalidInput):
    """Part numbers outside the upload's plan (the request's list of parts)."""

    def __init__(self, detail: str, *, field: str = "part_numbers") -> None:
        super().__init__(detail, field=field)
