"""Request bodies read from disk as they are sent: a file slice, and a multipart/form-data form."""

import io
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from uploads.cli.errors import Cancelled, FileProblem
from uploads.cli.http import BLOCK_SIZE
from uploads.cli.throttle import RateLimiter


class _Body:
    """A request body read block by block, closing its file when the request is done with it."""

    _file: "io.RawIOBase | FileSlice"

    def read(self, size: int = -1) -> bytes:
        """Return the next piece, b"" at the end."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(BLOCK_SIZE):
            yield chunk

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class FileSlice(_Body):
    """`length` bytes of a file from `offset`, read a block at a time while the request goes out.

    It has a length (so the request carries Content-Length) and counts what it handed over in
    `consumed`, so a failed attempt can take its bytes back from the progress bar.
    """

    def __init__(
        self,
        path: Path,
        offset: int,
        length: int,
        *,
        cancel: threading.Event,
        on_read: Callable[[int], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._file = path.open("rb", buffering=0)
        self._file.seek(offset)
        self._length = length
        self._left = length
        self._cancel = cancel
        self._on_read = on_read
        self._limiter = limiter
        self.consumed = 0

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        """Return how many bytes were read so far."""
        return self.consumed

    def read(self, size: int = -1) -> bytes:
        """Return the next block (at most `size` bytes), b"" at the end of the slice."""
        if self._cancel.is_set():
            raise Cancelled
        if self._left == 0:
            return b""
        want = min(self._left, size if size > 0 else BLOCK_SIZE)
        if self._limiter is not None:
            self._limiter.take(want, self._cancel)
        chunk = self._file.read(want)
        if not chunk:
            raise FileProblem("the file got shorter while it was being sent")
        self._left -= len(chunk)
        self.consumed += len(chunk)
        if self._on_read is not None:
            self._on_read(len(chunk))
        return chunk


class FormBody(_Body):
    """A multipart/form-data body: every signed field, then the file, last, as `file`.

    The fields and the closing boundary are a few hundred bytes in memory; the file is a FileSlice.
    """

    def __init__(
        self, fields: dict[str, str], filename: str, content_type: str, file: FileSlice
    ) -> None:
        boundary = f"----mediaupload{uuid.uuid4().hex}"
        head = b"".join(
            _part_header(boundary, f'name="{_quote(name)}"') + value.encode() + b"\r\n"
            for name, value in fields.items()
        )
        disposition = f'name="file"; filename="{_quote(filename)}"'
        head += _part_header(boundary, disposition, content_type)
        tail = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._length = len(head) + len(file) + len(tail)
        self._segments: list[bytes | FileSlice] = [head, file, tail]
        self._file = file
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        """Return how many bytes were read so far."""
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Return the next piece of the body, b"" at its end."""
        while self._segments:
            segment = self._segments[0]
            if isinstance(segment, FileSlice):
                chunk = segment.read(size)
            else:
                chunk = segment if size < 0 else segment[:size]
                self._segments[0] = segment[len(chunk) :]
            if chunk:
                self._position += len(chunk)
                return chunk
            self._segments.pop(0)
        return b""


def _part_header(boundary: str, disposition: str, content_type: str | None = None) -> bytes:
    """Return the boundary line and headers that open one part of the form."""
    lines = [f"--{boundary}", f"Content-Disposition: form-data; {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _quote(value: str) -> str:
    """Escape a name for a form's Content-Disposition as browsers do (HTML's form encoding)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
