"""Attach a file from code: a path, a file object, bytes or an `https` URL, stored with the
server's credentials and verified exactly as a browser upload is.

    record = uploads.attach("intro.mp4", owner=user, field="demo.episode.video")
    episode.video = record

At or below UPLOAD_MULTIPART_THRESHOLD the bytes are PUT to the record's scratch key and completed
like a POST upload (checked, then promoted to the media key); above it, the record is a multipart
upload as the API makes it, its parts are sent in parallel, and `complete`'s path assembles and
checks it (CopyObject could not promote an object over 5 GB). A source of unknown length (a pipe,
a stream) is spooled to a temporary file first.
"""

import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from uploads import claims, completion, conf, fetching, media_types, multipart, services, storage
from uploads.errors import QuotaExceeded, UploadConflict
from uploads.integration import registry
from uploads.limits import SITE, Limits
from uploads.models import MediaFile

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

# How much of a stream of unknown length is kept in memory before the spool moves to disk.
SPOOL_IN_MEMORY = 8 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024


class AttachError(Exception):
    """The file was not attached; the message says what failed, and nothing of it is stored."""


class AttachRefused(AttachError):
    """Refused before anything was stored: the source, its type or size, the quota or the URL."""


class AttachFailed(AttachError):
    """The stored bytes failed verification (a spoofed type, say): the record is `failed` with
    the reason, and its object is gone."""

    def __init__(self, media_file: MediaFile) -> None:
        super().__init__(f"{media_file.filename} was not attached: {media_file.failure_reason}")
        self.media_file = media_file


@dataclass(frozen=True)
class _Opened:
    """A readable source: `size` bytes of `file` from offset `start`, and what it says of itself."""

    file: BinaryIO
    start: int
    size: int
    filename: str
    content_type: str


def attach(
    source: Source,
    *,
    owner: Any,
    field: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    ignore_quota: bool = False,
) -> MediaFile:
    """Store `source` as a new upload of `owner`'s and return the record once it is `uploaded`.

    `source` is a path, a file object (read from where it stands), bytes, or an `https://` URL
    (fetched under UPLOAD_ATTACH_ALLOWED_NETWORKS/PORTS' rules). `field` (`app_label.model.field`)
    applies that field's limits and lets its forms take the record. `filename` and
    `content_type` default to what the source says (a path's name, a response's type, the type
    the name implies). The owner's quota applies unless `ignore_quota=True`.

    Raises AttachRefused before anything is stored, AttachFailed when the bytes are not what
    was declared (the record is `failed`, its object deleted), or AttachError when storage
    failed midway (the record is `aborted`, its parts deleted).
    """
    limits = _limits_of(field)
    with _opened(source, limits) as opened:
        name = _display_name(filename or opened.filename, content_type or opened.content_type)
        declared = _declared_type(content_type, opened.content_type, name)
        _check(limits, declared, opened.size)
        record = _create(owner, name, declared, opened.size, field or "", ignore_quota)
        etags = _store(record, opened)
    return _verify(record, etags)


def _limits_of(field: str | None) -> Limits:
    """The field's limits (AttachRefused for an unknown id), or the site's for no field."""
    if not field:
        return SITE
    try:
        return registry.limits_for(field)
    except registry.UnknownField as error:
        raise AttachRefused(f"No upload field has the id {field!r}.") from error


# ------------------------------------------------------------------ sources


@contextlib.contextmanager
def _opened(source: Source, limits: Limits) -> Iterator[_Opened]:
    """Open any kind of source for reading, and close what was opened here afterwards."""
    if isinstance(source, str) and "://" in source:
        yield from _fetched(source, max_bytes=limits.max_size())
    elif isinstance(source, (str, os.PathLike)):
        yield from _from_path(os.fspath(source))
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        yield _Opened(io.BytesIO(data), 0, len(data), "", "")
    elif hasattr(source, "read"):
        yield from _from_file(source, limits)
    else:
        raise TypeError(
            f"attach() takes a path, a file object, bytes or an https URL, not {type(source)}."
        )


def _fetched(url: str, *, max_bytes: int) -> Iterator[_Opened]:
    """Fetch a URL into a temporary file under the fetching rules."""
    try:
        fetched = fetching.fetch(url, max_bytes=max_bytes)
    except fetching.FetchRefused as error:
        raise AttachRefused(str(error)) from error
    with fetched.file:
        yield _Opened(fetched.file, 0, fetched.size, fetched.filename, fetched.content_type)


def _from_path(path: str) -> Iterator[_Opened]:
    """Open a local file."""
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the yield
    except OSError as error:
        raise AttachRefused(f"Cannot read {path}: {error.strerror or error}.") from error
    with file:
        size = os.fstat(file.fileno()).st_size
        yield _Opened(file, 0, size, os.path.basename(path), "")


def _from_file(file: BinaryIO, limits: Limits) -> Iterator[_Opened]:
    """Read a file object from where it stands; one that can't seek is spooled first."""
    name = getattr(file, "name", "")
    name = os.path.basename(name) if isinstance(name, str) else ""
    # A Django UploadedFile says the type its client declared; it is checked like any other.
    said = getattr(file, "content_type", "") or ""
    if _seekable(file):
        start = file.tell()
        size = file.seek(0, io.SEEK_END) - start
        file.seek(start)
        yield _Opened(file, start, size, name, said)
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        size = _spool(file, spool, limits)
        yield _Opened(spool, 0, size, name, said)  # type: ignore[arg-type]


def _seekable(file: BinaryIO) -> bool:
    """Tell whether a file object can seek (some say so only by failing)."""
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _spool(file: BinaryIO, spool: Any, limits: Limits) -> int:
    """Copy a stream into the spool, refusing it as soon as it passes the size limit."""
    size = 0
    while chunk := file.read(_COPY_CHUNK):
        size += len(chunk)
        if size > limits.max_size():
            raise AttachRefused(limits.size_problem(size))
        spool.write(chunk)
    spool.seek(0)
    return size


# ------------------------------------------------------------------ declaration


def _display_name(filename: str, content_type: str) -> str:
    """The record's filename: the one given or found, else "file" with the type's extension."""
    name = media_types.clean_filename(filename)
    return name or f"file{media_types.extension_for(content_type.lower())}"


def _declared_type(given: str | None, said: str, filename: str) -> str:
    """The type to declare: the one given, else what the source said (a response, an
    UploadedFile) unless it says nothing useful, else what the name says."""
    for candidate in (given, said):
        bare = media_types.bare_type(candidate)
        if bare and bare != "application/octet-stream":
            return bare
    guessed = media_types.type_for_name(filename)
    if not guessed:
        raise AttachRefused(
            f"Cannot tell the type of {filename!r}: pass content_type= (video/mp4, say)."
        )
    return guessed


def _check(limits: Limits, content_type: str, size: int) -> None:
    """Apply the limits a browser's create call gets: the type, then the size."""
    if size < 1:
        raise AttachRefused("The file is empty.")
    problem = limits.type_problem(content_type) or limits.size_problem(size)
    if problem:
        raise AttachRefused(problem)


def _create(
    owner: Any, filename: str, content_type: str, size: int, field: str, ignore_quota: bool
) -> MediaFile:
    """Make the pending record as the API does (its key, its part plan, its deadline)."""
    try:
        created = services.create_upload(
            owner=owner,
            filename=filename,
            content_type=content_type,
            size=size,
            field=field,
            first_part_count=0,  # the server sends the parts itself: no URLs to sign
            check_quota=not ignore_quota,
        )
    except QuotaExceeded as error:
        raise AttachRefused(str(error)) from error
    return created.media_file


# ------------------------------------------------------------------ storing


def _store(record: MediaFile, opened: _Opened) -> dict[int, str] | None:
    """Send the bytes (one PUT, or the parts in parallel); on any failure, abort the record.

    Returns the part ETags of a multipart upload (None for a PUT)."""
    try:
        if record.is_multipart:
            return _send_parts(record, opened)
        opened.file.seek(opened.start)
        storage.put_file(
            key=record.key,
            body=cast(IO[bytes], _Window(opened.file, opened.start, opened.size)),
            size=opened.size,
            content_type=record.content_type,
        )
        return None
    except BaseException as error:
        _abort(record)
        if isinstance(error, storage.StorageError):
            raise AttachError(f"{record.filename} was not attached: {error}") from error
        raise


def _send_parts(record: MediaFile, opened: _Opened) -> dict[int, str]:
    """Upload every planned part, `UPLOAD_PARALLEL_PARTS` at a time; return their ETags.

    Only the parts in flight are in memory: each is read (under a lock: one file position) when
    its turn comes."""
    plan = multipart.plan_of(record)
    position = threading.Lock()

    def send(number: int) -> tuple[int, str]:
        with position:
            opened.file.seek(opened.start + (number - 1) * plan.part_size)
            body = _read_exactly(opened.file, plan.size_of(number))
        etag = storage.upload_part(
            key=record.key, upload_id=record.upload_id, part_number=number, body=body
        )
        return number, etag

    with ThreadPoolExecutor(max_workers=conf.parallel_parts()) as pool:
        return dict(pool.map(send, range(1, plan.part_count + 1)))


def _read_exactly(file: BinaryIO, length: int) -> bytes:
    """Read `length` bytes, or say the file got shorter while it was being read."""
    chunks, left = [], length
    while left:
        chunk = file.read(left)
        if not chunk:
            raise AttachError("The file got shorter while it was being read.")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class _Window(io.RawIOBase):
    """A read-only view of `size` bytes of a file from `start`, so a PUT sends exactly those
    (botocore seeks back on a retry)."""

    def __init__(self, file: BinaryIO, start: int, size: int) -> None:
        super().__init__()
        self._file, self._start, self._size, self._position = file, start, size, 0

    def readable(self) -> bool:
        """Say it can be read."""
        return True

    def seekable(self) -> bool:
        """Say it can seek."""
        return True

    def tell(self) -> int:
        """Return the position within the window."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the window."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, min(self._size, base + offset))
        return self._position

    def readinto(self, buffer: Any) -> int:
        """Read what is left of the window into `buffer`."""
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        data = self._file.read(wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _abort(record: MediaFile) -> None:
    """Close a record whose bytes did not all arrive: its parts and object go, it is `aborted`.

    No quota hold: its upload was never authorized to any browser."""
    held = claims.claim(record)
    if held.token is not None:
        services.close_claimed(held, mark=MediaFile.mark_aborted, via="attach")


# ------------------------------------------------------------------ verifying


def _verify(record: MediaFile, part_etags: dict[int, str] | None) -> MediaFile:
    """Complete the record through the one completion path; return it `uploaded`."""
    try:
        settled = completion.complete_upload(media_file=record, via="attach", part_etags=part_etags)
    except (UploadConflict, storage.StorageError) as error:
        _abort(record)
        raise AttachError(f"{record.filename} was not attached: {error}") from error
    if settled.status == MediaFile.Status.FAILED:
        raise AttachFailed(settled)
    if settled.status != MediaFile.Status.UPLOADED:
        raise AttachError(f"{record.filename} was not attached: it is {settled.status}.")
    return settled
