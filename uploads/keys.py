"""Object keys: chosen by the server from the record's id and declared type, never from user text.

Two key spaces: browsers POST into the scratch prefix (`UPLOAD_KEY_PREFIX`); verified objects live
under the media prefix (`UPLOAD_MEDIA_PREFIX`), which no browser POST policy names. Posters and
thumbnails the server makes live under a third (`UPLOAD_DERIVED_PREFIX`), one folder per record.
"""

import re
import uuid

from uploads import conf
from uploads.media_types import extension_for

# What follows a prefix in a key we built: the record's UUID and an optional extension.
_NAME = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.[a-z0-9]{1,10})?"
)


def scratch_key(media_id: uuid.UUID, content_type: str) -> str:
    """Return `<UPLOAD_KEY_PREFIX><uuid><.ext>`, where a browser POST lands before verification."""
    return f"{conf.key_prefix()}{media_id}{extension_for(content_type)}"


def media_key(media_id: uuid.UUID, content_type: str) -> str:
    """Return `<UPLOAD_MEDIA_PREFIX><uuid><.ext>`, where the verified object is served from."""
    return f"{conf.media_prefix()}{media_id}{extension_for(content_type)}"


def derived_key(media_id: uuid.UUID, kind: str, extension: str) -> str:
    """Return `<UPLOAD_DERIVED_PREFIX><uuid>/<kind>.<ext>`: a file the server made from media."""
    return f"{conf.derived_prefix()}{media_id}/{kind}.{extension}"


def is_scratch(key: str) -> bool:
    """Tell whether a key lies in the scratch prefix (where stray objects may be removed)."""
    return key.startswith(conf.key_prefix())


def is_media(key: str) -> bool:
    """Tell whether a key lies in the media prefix (whose objects no sweep or event deletes)."""
    return key.startswith(conf.media_prefix())


def media_id_of(key: str) -> uuid.UUID | None:
    """Return the record id a key of either space was built from, or None for any other key."""
    for prefix in (conf.key_prefix(), conf.media_prefix()):
        if key.startswith(prefix):
            name = _NAME.fullmatch(key[len(prefix) :])
            if name:
                return uuid.UUID(name.group(1))
    return None


# A derived file's name inside its record's folder: "poster.webp".
_DERIVED_FILE = re.compile(r"[a-z]+\.[a-z0-9]+")


def derived_owner(key: str) -> uuid.UUID | None:
    """Return the record id a derived key belongs to, or None for any other key."""
    prefix = conf.derived_prefix()
    if not key.startswith(prefix):
        return None
    folder, _, name = key[len(prefix) :].partition("/")
    try:
        media_id = uuid.UUID(folder)
    except ValueError:
        return None
    return media_id if str(media_id) == folder and _DERIVED_FILE.fullmatch(name) else None
