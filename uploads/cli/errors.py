"""What can go wrong, as exceptions whose text is the one line shown for a file.

The protocol's table says what to do about each answer; each action is one exception here:
retry → Transient, renew → NeedsRenewal (S3) or TokenRefused (the app), restart → StartOver,
final → ApiError (the app) or StorageRefused (S3).
"""


class UploadError(Exception):
    """A file could not be uploaded; `str()` is the reason, in one line, for a person."""


class FileProblem(UploadError):
    """The local file is missing, unreadable, empty or changed while it was being sent."""


class ApiError(UploadError):
    """The app answered an error: its HTTP status, `code`, `detail` and the record's status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        detail: str = "",
        record_status: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.record_status = record_status


class TokenRefused(ApiError):
    """The app said to renew its authorization: a token cannot be, so the run stops."""


class StorageRefused(UploadError):
    """S3 refused a transfer the app had authorized."""


class StartOver(Exception):
    """The record can no longer take the file (expired, parts gone): start a new upload.

    The CLI does so by itself even where the table says a person decides: it has none to ask.
    """


class Cancelled(Exception):
    """The run was interrupted; transfers stop at their next chunk."""


class AnswerTooLarge(Exception):
    """An answer's body went past the bytes its reader holds: not the server it should be."""

    def __init__(self, limit: int) -> None:
        unit, scale = ("MiB", 1024**2) if limit % 1024**2 == 0 else ("KiB", 1024)
        super().__init__(f"larger than {limit // scale} {unit}")


class Transient(Exception):
    """A failure the table says to retry after a delay (429, most 5xx, a dropped connection)."""

    def __init__(self, reason: UploadError, retry_after: float | None = None) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.retry_after = retry_after


class NeedsRenewal(Exception):
    """S3 refused an authorization that expired: sign again, then retry at once."""

    def __init__(self, reason: UploadError) -> None:
        super().__init__(str(reason))
        self.reason = reason
