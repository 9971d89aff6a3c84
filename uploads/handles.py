"""What a view or a template does with an attached file: link to it, tell what kind it is, read it.

`episode.video` is the `MediaFile` itself; its `url()`, `is_image`/`is_video`/`is_audio` and
`open()` delegate here. Only an `uploaded` record (its object verified) has a link or a stream:
`url()` is None for any other, so a template never gets `src="None"` (the `uploads_tags` tags
render "").
"""

import io
import math
from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils.http import content_disposition_header

from uploads import conf, media_types, storage
from uploads.integration import registry

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from uploads.models import MediaFile

# SigV4 refuses a presigned URL that lives longer than 7 days.
SIGV4_MAX_EXPIRES = 7 * 24 * 3600

# How far `open()`'s stream reads ahead of what is asked: a small read (a header, a CSV line) costs
# one ranged GET of this many bytes at most; a larger read is one GET of its own size.
READ_AHEAD = 256 * 1024


class FileNotUploaded(ValueError):
    """The record has no verified object (pending, failed, expired or aborted): nothing to read."""

    def __init__(self, media_file: "MediaFile") -> None:
        super().__init__(f"{media_file.filename} is {media_file.status}, not uploaded: no file.")
        self.media_file = media_file


# ------------------------------------------------------------------ kinds


def kind(media_file: "MediaFile") -> str:
    """The top-level type of the record's content type: "image", "video", "audio", "text"…"""
    return media_types.bare_type(media_file.content_type).partition("/")[0]


def served_type(media_file: "MediaFile") -> str:
    """The Content-Type a link asks S3 to serve instead of the stored one, or "" to keep it: text
    (`text/plain`, `text/csv`) is served `; charset=utf-8`, so no browser guesses its charset."""
    bare = media_types.bare_type(media_file.content_type)
    media_type = media_types.MEDIA_TYPES.get(bare)
    # Text types are the table's TEXT family: completion checks them as UTF-8 (documents.py).
    if media_type is None or media_types.TEXT not in media_type.families:
        return ""
    return f"{bare}; charset=utf-8"


def shows_inline(media_file: "MediaFile") -> bool:
    """Tell whether the file may be shown in the page: media that can't run script (never SVG),
    and a document only where its field lists the type in `inline_types` (limits.py)."""
    limits = registry.limits_of(media_file.field)
    return limits.shows_inline(media_types.bare_type(media_file.content_type))


# ------------------------------------------------------------------ links


def max_expires() -> int:
    """The longest a link may live: UPLOAD_DOWNLOAD_MAX_EXPIRES, and never past SigV4's 7 days."""
    return max(1, min(_seconds(conf.download_max_expires()), SIGV4_MAX_EXPIRES))


def lifetime(expires: int | timedelta | None) -> int:
    """A link's lifetime in whole seconds: UPLOAD_DOWNLOAD_EXPIRES unless given, capped by
    `max_expires()`; ValueError below one second."""
    seconds = conf.download_expires() if expires is None else _seconds(expires)
    if seconds < 1:
        raise ValueError(f"A link must live at least one second (expires={expires!r}).")
    return min(seconds, max_expires())


def _seconds(value: int | float | str | timedelta) -> int:
    """Whole seconds (rounded up) of a number, a numeric string (from a template) or a timedelta."""
    if isinstance(value, timedelta):
        return math.ceil(value.total_seconds())
    return math.ceil(float(value))


def disposition(
    media_file: "MediaFile", *, inline: bool = False, filename: str | None = None
) -> str:
    """The Content-Disposition a link is served with: `inline` when asked and the type can't run
    script, else `attachment`; named `filename` (the upload's own name by default) with the
    extension of the verified type, quoted per RFC 6266 (a UTF-8 `filename*` for non-ASCII)."""
    shown = inline and shows_inline(media_file)
    name = media_types.clean_filename(filename or "") or media_types.clean_filename(
        media_file.filename
    )
    name = media_types.download_name(name, media_file.content_type) if name else ""
    header = content_disposition_header(as_attachment=not shown, filename=name) if name else None
    return header or ("inline" if shown else "attachment")


def url(
    media_file: "MediaFile",
    *,
    inline: bool = False,
    expires: int | timedelta | None = None,
    filename: str | None = None,
) -> str | None:
    """A signed GET of the record's verified object, or None when it isn't `uploaded`.

    `inline=True` serves it `Content-Disposition: inline` (played or shown in the tab) only for
    types that can't run script: images but SVG, audio, video, `application/pdf` and `text/plain`;
    any other type stays an attachment. `expires` (seconds or a timedelta) defaults to
    UPLOAD_DOWNLOAD_EXPIRES and is capped at UPLOAD_DOWNLOAD_MAX_EXPIRES and SigV4's 7 days.
    `filename` names the download; its extension follows the verified type (`x.html` of a PNG
    is `x.png`). Plain text and CSV are served with `charset=utf-8` (`served_type`). Raises
    storage.ClockSkewed when the server's clock is too far off S3's.
    """
    if media_file.status != media_file.Status.UPLOADED or not media_file.key:
        return None
    return storage.presign_get(
        key=media_file.key,
        disposition=disposition(media_file, inline=inline, filename=filename),
        expires_in=lifetime(expires),
        content_type=served_type(media_file),
    )


# ------------------------------------------------------------------ reading


class RangedObject(io.RawIOBase):
    """A read-only, seekable view of one verified object: each read is one ranged GET of the
    bytes asked for, sent with `If-Match` of the verified ETag, so bytes swapped in after
    verification are never read (storage.ObjectChanged instead). Seeking costs nothing."""

    def __init__(self, *, key: str, size: int, etag: str) -> None:
        super().__init__()
        self.key = key
        self.size = size
        self.etag = etag
        self._position = 0

    def readable(self) -> bool:
        """It reads."""
        return True

    def seekable(self) -> bool:
        """It seeks (no request until the next read)."""
        return True

    def tell(self) -> int:
        """The position of the next read."""
        self._checkClosed()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (past the end is allowed: reads there return nothing)."""
        self._checkClosed()
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}
        if whence not in bases:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        position = bases[whence] + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: "WriteableBuffer") -> int:
        """Fill `buffer` from the position with one ranged GET; 0 at the end."""
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        length = min(len(view), self.size - self._position)
        if length <= 0:
            return 0
        data = storage.read_range(
            key=self.key, start=self._position, length=length, if_match=self.etag
        )
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def readall(self) -> bytes:
        """The rest of the object, in one ranged GET (not RawIOBase's 8 KiB at a time)."""
        self._checkClosed()
        length = self.size - self._position
        if length <= 0:
            return b""
        data = storage.read_range(
            key=self.key, start=self._position, length=length, if_match=self.etag
        )
        self._position += len(data)
        return data


def open_file(media_file: "MediaFile", *, read_ahead: int = READ_AHEAD) -> io.BufferedReader:
    """A readable, seekable binary stream over the record's verified object, read by ranged
    GETs as it is read (nothing is downloaded up front): for Pillow, a CSV reader (through
    `io.TextIOWrapper`), or anything that takes a file. A read of N bytes costs one GET of
    N bytes, or of `read_ahead` bytes when N is smaller; `seek` costs nothing.

    Raises FileNotUploaded for a record that isn't `uploaded`; reads raise storage.ObjectChanged
    if the object was replaced after verification, storage.ObjectNotFound if it is gone.
    """
    if media_file.status != media_file.Status.UPLOADED or not media_file.key:
        raise FileNotUploaded(media_file)
    raw = RangedObject(key=media_file.key, size=media_file.size, etag=media_file.etag)
    return io.BufferedReader(raw, buffer_size=max(1, read_ahead))
