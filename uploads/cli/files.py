"""The local file: what it is (name, size, type) and whether it changed while it went up."""

import hashlib
import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from uploads.cli.errors import FileProblem

_READ_BLOCK = 1024**2


@dataclass(frozen=True)
class LocalFile:
    """A regular file as it was when the upload began."""

    path: Path
    name: str
    size: int
    content_type: str
    modified_ns: int

    def changed(self) -> bool:
        """Tell whether the file's size or modification time moved since it was inspected."""
        try:
            now = self.path.stat()
        except OSError:
            return True
        return now.st_size != self.size or now.st_mtime_ns != self.modified_ns

    def md5(self, offset: int, length: int) -> str:
        """Return the hex MD5 of `length` bytes from `offset` (an S3 part's ETag, unencrypted)."""
        digest = hashlib.md5(usedforsecurity=False)
        with self.path.open("rb", buffering=0) as source:
            source.seek(offset)
            left = length
            while left:
                block = source.read(min(left, _READ_BLOCK))
                if not block:
                    raise FileProblem("the file got shorter while it was being read")
                digest.update(block)
                left -= len(block)
        return digest.hexdigest()


def inspect(path_text: str, content_type: str | None = None) -> LocalFile:
    """Look at the file; raise FileProblem when it cannot be uploaded as it is."""
    path = Path(path_text)
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and not os.access(path, os.R_OK):
            raise PermissionError
    except FileNotFoundError:
        raise FileProblem("not found") from None
    except PermissionError:
        raise FileProblem("permission denied") from None
    except OSError as error:
        raise FileProblem(error.strerror or str(error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("not a regular file")
    if info.st_size == 0:
        raise FileProblem("the file is empty")
    declared = content_type or guess_type(path.name)
    if not declared:
        raise FileProblem("unknown type of file; say which with --content-type")
    return LocalFile(
        path=path,
        # A name that is not UTF-8 (bytes from another system) is sent with U+FFFD in place.
        name=path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
        size=info.st_size,
        content_type=declared.lower(),
        modified_ns=info.st_mtime_ns,
    )


def guess_type(name: str) -> str | None:
    """Return the media type the file name suggests, or None."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed
