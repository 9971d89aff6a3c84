"""What makes a document the type it is declared as: PDF and ZIP by their signatures, plain text
and CSV by being UTF-8 text that no browser would sniff as HTML, and the Office Open XML formats
(ZIP containers) by the members their central directory lists.

Pure: bytes in, a problem in words out ('' when there is none). No settings, no S3.
"""

import struct

# A PDF's header may follow a little junk (readers look in the first 1,024 bytes).
_PDF_HEADER_WINDOW = 1024
# A local file header, an empty archive's end record, a spanned archive's marker.
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# What the WHATWG MIME sniffing standard takes as HTML (or XML) at the start of a text resource:
# a browser that sniffs would run it as a page. Each is followed by a space or ">" (or "?>"...).
_HTML_STARTS = (
    "<!doctype html",
    "<html",
    "<head",
    "<script",
    "<iframe",
    "<h1",
    "<div",
    "<font",
    "<table",
    "<a",
    "<style",
    "<title",
    "<b",
    "<body",
    "<br",
    "<p",
    "<!--",
)
_TAG_ENDS = (" ", ">", "\t", "\n", "\x0c", "\r")
_BOM = "\ufeff"

# The end of central directory record: its signature, and its fixed part (a comment may follow,
# up to 65,535 bytes), so the record lies in the last 65,557 bytes of an archive.
EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD = struct.Struct("<4s4H2LH")
TAIL_BYTES = _EOCD.size + 65535
_CENTRAL_ENTRY = struct.Struct("<4s6H3L5H2L")
_CENTRAL_SIGNATURE = b"PK\x01\x02"
# A central directory larger than this is not an office document we read (a million entries).
MAX_DIRECTORY_BYTES = 16 * 1024**2


def is_pdf(head: bytes) -> bool:
    """Tell a PDF by its `%PDF-` header near the start."""
    return b"%PDF-" in head[:_PDF_HEADER_WINDOW]


def is_zip(head: bytes) -> bool:
    """Tell a ZIP archive (and so an Office Open XML file) by its first signature."""
    return head.startswith(_ZIP_SIGNATURES)


def text_problem(head: bytes, *, content_type: str) -> str:
    """Say why the first bytes of a file are not plain UTF-8 text, or return ''."""
    if b"\x00" in head:
        return f"The file holds NUL bytes, so it is not {content_type} text."
    # An excerpt may end inside a character: that last, incomplete sequence is not an error.
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3 or error.reason != "unexpected end of data":
            return f"The file is not UTF-8 text, so it is not {content_type}."
        text = head[: error.start].decode("utf-8")
    start = text.removeprefix(_BOM).lstrip(" \t\n\r\x0c").lower()
    if start.startswith("<?xml") or any(
        start.startswith(tag) and start[len(tag) : len(tag) + 1] in _TAG_ENDS
        for tag in _HTML_STARTS
    ):
        return f"The file starts like HTML or XML, which a browser could run: not {content_type}."
    return ""


def directory_location(tail: bytes, size: int) -> tuple[int, int] | None:
    """From an archive's last bytes (of a file of `size` bytes), return where its central
    directory starts and how long it is; None when the end record can't be found or is absurd."""
    at = tail.rfind(EOCD_SIGNATURE)
    while at != -1:
        if at + _EOCD.size <= len(tail):
            fields = _EOCD.unpack_from(tail, at)
            directory_size, directory_offset = fields[5], fields[6]
            if directory_offset + directory_size <= size and directory_size <= MAX_DIRECTORY_BYTES:
                return directory_offset, directory_size
        at = tail.rfind(EOCD_SIGNATURE, 0, at)
    return None


def member_names(directory: bytes) -> list[str]:
    """Return the names the central directory lists (stopping at anything malformed)."""
    names = []
    at = 0
    while at + _CENTRAL_ENTRY.size <= len(directory):
        entry = _CENTRAL_ENTRY.unpack_from(directory, at)
        if entry[0] != _CENTRAL_SIGNATURE:
            break
        name_length, extra_length, comment_length = entry[10], entry[11], entry[12]
        start = at + _CENTRAL_ENTRY.size
        names.append(directory[start : start + name_length].decode("utf-8", "replace"))
        at = start + name_length + extra_length + comment_length
    return names


def members_problem(names: list[str], *, required: tuple[str, ...], content_type: str) -> str:
    """Say why an archive listing these names is not `content_type` (each required entry is a
    member's exact name, or a folder ending in "/" that must hold one), or return ''."""
    for wanted in required:
        found = (
            any(name.startswith(wanted) for name in names)
            if wanted.endswith("/")
            else wanted in names
        )
        if not found:
            return f"The file is a ZIP archive but not {content_type} (it has no {wanted})."
    return ""
