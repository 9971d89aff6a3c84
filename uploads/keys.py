"""Object keys: chosen by the server, never containing the user's text beyond a safe extension."""

import re
import uuid

from uploads import conf

_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def extension_of(filename: str) -> str:
    """Return `.ext` for a lowercase `[a-z0-9]{1,10}` extension, else an empty string."""
    stem, dot, ext = filename.rpartition(".")
    ext = ext.lower()
    # A leading dot (".mp4") names a hidden file, not an extension.
    if not dot or not stem or not _EXTENSION.fullmatch(ext):
        return ""
    return f".{ext}"


def build_key(media_id: uuid.UUID, filename: str) -> str:
    """Return `<UPLOAD_KEY_PREFIX><uuid><.ext>` for a new upload."""
    return f"{conf.key_prefix()}{media_id}{extension_of(filename)}"
