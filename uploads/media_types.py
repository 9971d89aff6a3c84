"""The media types we accept: the key extension each is stored under and the signatures its bytes
may carry, and the check that an uploaded object's first bytes really are its declared type.

Pure: no settings, no S3. Signatures come from `puremagic`, except three the library cannot tell
reliably (see `identify`): the ISO BMFF `ftyp` brand, MPEG-TS sync bytes and MPEG audio frames.
"""

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import puremagic

from uploads import documents

# Enough for every check: the library's media signatures lie in the first few dozen bytes, an
# `ftyp` box in the first hundred, two MPEG audio frames (at most 2,881 bytes each) fit, and MPEG-TS
# gets 43 packets of 188 bytes to show its sync pattern.
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class MediaType:
    """How a content type is stored (key extension), which signature families its bytes carry, and
    the one ffmpeg demuxer analysis may open it with ("" for images: Pillow reads those)."""

    extension: str
    families: frozenset[str]
    demuxer: str = ""
    # A ZIP-based document's members that make it its type (exact names, or folders ending "/").
    members: tuple[str, ...] = ()


def _media(
    extension: str, *families: str, demuxer: str = "", members: tuple[str, ...] = ()
) -> MediaType:
    """Build a table row."""
    return MediaType(extension, frozenset(families), demuxer, members)


def _office(extension: str, folder: str) -> MediaType:
    """An Office Open XML document: a ZIP with its content types and its application's folder."""
    return _media(extension, _ZIP, members=("[Content_Types].xml", folder))


# Shared containers are one family: WebM is Matroska, M4A/MOV/3GP are ISO BMFF, Opus rides in Ogg.
_ISO_BMFF = "iso-bmff"
_EBML = "ebml"
_ZIP = "zip"
# Plain text has no signature: it is checked as UTF-8 that no browser would take for HTML.
TEXT = "text"
_OOXML = "application/vnd.openxmlformats-officedocument"
# Lower-cased, as the API lower-cases every declared type (MIME types ignore case).
_MACRO_ENABLED = "macroenabled.12"

MEDIA_TYPES: Mapping[str, MediaType] = MappingProxyType(
    {
        # Video
        "video/mp4": _media(".mp4", _ISO_BMFF, demuxer="mov"),
        "video/x-m4v": _media(".m4v", _ISO_BMFF, demuxer="mov"),
        "video/quicktime": _media(".mov", _ISO_BMFF, demuxer="mov"),
        "video/3gpp": _media(".3gp", _ISO_BMFF, demuxer="mov"),
        "video/webm": _media(".webm", _EBML, demuxer="matroska"),
        "video/x-matroska": _media(".mkv", _EBML, demuxer="matroska"),
        "video/mp2t": _media(".ts", "mpeg-ts", demuxer="mpegts"),
        # What Windows (and so Chrome and Edge there) calls .ts and .m2ts files.
        "video/vnd.dlna.mpeg-tts": _media(".ts", "mpeg-ts", demuxer="mpegts"),
        "video/mpeg": _media(".mpg", "mpeg-ps", demuxer="mpeg"),
        "video/ogg": _media(".ogv", "ogg", demuxer="ogg"),
        "video/x-msvideo": _media(".avi", "avi", demuxer="avi"),
        # What Windows calls .avi files.
        "video/avi": _media(".avi", "avi", demuxer="avi"),
        # Audio. An ID3v2 tag may open an MP3 or an ADTS AAC stream alike.
        "audio/mpeg": _media(".mp3", "mpeg-audio", "id3", demuxer="mp3"),
        "audio/mp3": _media(".mp3", "mpeg-audio", "id3", demuxer="mp3"),
        "audio/aac": _media(".aac", "aac", "id3", demuxer="aac"),
        "audio/mp4": _media(".m4a", _ISO_BMFF, demuxer="mov"),
        "audio/x-m4a": _media(".m4a", _ISO_BMFF, demuxer="mov"),
        "audio/3gpp": _media(".3gp", _ISO_BMFF, demuxer="mov"),
        "audio/wav": _media(".wav", "wav", demuxer="wav"),
        "audio/x-wav": _media(".wav", "wav", demuxer="wav"),
        "audio/wave": _media(".wav", "wav", demuxer="wav"),
        "audio/flac": _media(".flac", "flac", demuxer="flac"),
        "audio/x-flac": _media(".flac", "flac", demuxer="flac"),
        "audio/ogg": _media(".ogg", "ogg", demuxer="ogg"),
        "audio/opus": _media(".opus", "ogg", demuxer="ogg"),
        "audio/webm": _media(".webm", _EBML, demuxer="matroska"),
        "audio/x-matroska": _media(".mka", _EBML, demuxer="matroska"),
        # Images. No image/svg+xml: SVG can carry script, and no byte check makes it safe.
        "image/jpeg": _media(".jpg", "jpeg"),
        "image/png": _media(".png", "png"),
        "image/gif": _media(".gif", "gif"),
        "image/webp": _media(".webp", "webp"),
        "image/avif": _media(".avif", "avif"),
        "image/heic": _media(".heic", "heif"),
        "image/heif": _media(".heif", "heif"),
        "image/bmp": _media(".bmp", "bmp"),
        "image/tiff": _media(".tiff", "tiff"),
        # Documents: the site's default UPLOAD_ALLOWED_TYPES names none; a field's allowed_types
        # can. Office files with macros are types of their own, in UPLOAD_DENIED_TYPES by default.
        "application/pdf": _media(".pdf", "pdf"),
        "application/zip": _media(".zip", _ZIP),
        f"{_OOXML}.wordprocessingml.document": _office(".docx", "word/"),
        f"{_OOXML}.spreadsheetml.sheet": _office(".xlsx", "xl/"),
        f"{_OOXML}.presentationml.presentation": _office(".pptx", "ppt/"),
        f"application/vnd.ms-word.document.{_MACRO_ENABLED}": _office(".docm", "word/"),
        f"application/vnd.ms-excel.sheet.{_MACRO_ENABLED}": _office(".xlsm", "xl/"),
        f"application/vnd.ms-powerpoint.presentation.{_MACRO_ENABLED}": _office(".pptm", "ppt/"),
        "text/plain": _media(".txt", TEXT),
        "text/csv": _media(".csv", TEXT),
    }
)

# Office files that can carry macros: refused unless a site removes them from UPLOAD_DENIED_TYPES.
MACRO_ENABLED_TYPES = tuple(name for name in MEDIA_TYPES if name.endswith(_MACRO_ENABLED))

# How a message names each family: "they look like <label>".
_FAMILY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        _ISO_BMFF: "an MP4/QuickTime (ISO BMFF) file",
        "heif": "a HEIF/HEIC image",
        "avif": "an AVIF image",
        _EBML: "a Matroska/WebM file",
        "mpeg-ts": "an MPEG transport stream",
        "mpeg-ps": "MPEG-1/2 video (a program stream)",
        "ogg": "an Ogg file",
        "avi": "an AVI file",
        "wav": "WAV audio",
        "mpeg-audio": "MP3 (MPEG) audio",
        "id3": "ID3-tagged MP3 or AAC audio",
        "aac": "AAC (ADTS) audio",
        "flac": "FLAC audio",
        "jpeg": "a JPEG image",
        "png": "a PNG image",
        "gif": "a GIF image",
        "webp": "a WebP image",
        "bmp": "a BMP image",
        "tiff": "a TIFF image",
        "pdf": "a PDF document",
        _ZIP: "a ZIP archive",
    }
)

# puremagic's extension → our family. Only header signatures count (see `_library_matches`).
_LIBRARY_FAMILIES: Mapping[str, str] = MappingProxyType(
    {
        # QuickTime files older than `ftyp` open with a `moov`, `mdat`, `wide` or `free` atom.
        ".mov": _ISO_BMFF,
        ".webm": _EBML,
        ".mkv": _EBML,
        ".mpg": "mpeg-ps",
        ".vob": "mpeg-ps",
        ".ogg": "ogg",
        ".oga": "ogg",
        ".ogv": "ogg",
        ".ogx": "ogg",
        ".ogm": "ogg",
        ".opus": "ogg",
        ".avi": "avi",
        ".wav": "wav",
        ".mpga": "mpeg-audio",
        ".mp3": "id3",
        ".aac": "aac",
        ".flac": "flac",
        ".jpg": "jpeg",
        ".jpeg": "jpeg",
        ".jpe": "jpeg",
        ".jfif": "jpeg",
        ".png": "png",
        ".gif": "gif",
        ".webp": "webp",
        ".bmp": "bmp",
        ".dib": "bmp",
        ".tif": "tiff",
        ".tiff": "tiff",
    }
)

# puremagic's extension → a label for a few non-media kinds worth naming in a message. The
# library's other names are too loose to show a person (any ZIP is "MS Office ... Document").
_OTHER_LABELS: Mapping[str, str] = MappingProxyType({".html": "HTML", ".svg": "SVG", ".xml": "XML"})

# `ftyp` brands of still images; every other brand is audio/video ISO BMFF (MP4, MOV, 3GP, M4A…).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)

# MPEG audio bitrates in kbit/s for bitrate indexes 1-14, by (MPEG-1?, layer).
_MPEG2_LOW_RATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG_BITRATES: Mapping[tuple[bool, int], tuple[int, ...]] = MappingProxyType(
    {
        (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
        (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
        (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
        (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
        (False, 2): _MPEG2_LOW_RATES,
        (False, 3): _MPEG2_LOW_RATES,
    }
)
# Sample rates by the header's version bits: 3 is MPEG-1, 2 is MPEG-2, 0 is MPEG-2.5 (1 reserved).
_MPEG_SAMPLE_RATES: Mapping[int, tuple[int, int, int]] = MappingProxyType(
    {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
)


def bare_type(content_type: str | None) -> str:
    """The type without parameters, lower-cased (`Text/Plain; charset=utf-8` is `text/plain`);
    '' for none."""
    return (content_type or "").partition(";")[0].strip().lower()


def extension_for(content_type: str) -> str:
    """Return the key extension for a content type (".mp4"), or "" for a type not in the table."""
    media_type = MEDIA_TYPES.get(content_type)
    return media_type.extension if media_type else ""


# Python's own table of extensions (not the machine's /etc/mime.types: the same names everywhere).
_PYTHONS_TYPES = mimetypes.MimeTypes()


def clean_filename(filename: str) -> str:
    """The last path component of a name, without control characters (a name is display text,
    and may end up in a header)."""
    name = filename.replace("\\", "/").rpartition("/")[2]
    return "".join(character for character in name if character.isprintable()).strip()


def type_for_name(filename: str) -> str:
    """Return the type a file's name says (".mp4" → "video/mp4"): the table's extensions first,
    then Python's own table; "" when the name says none."""
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    ours = [name for name, row in MEDIA_TYPES.items() if extension and row.extension == extension]
    if ours:
        return ours[0]
    return (_PYTHONS_TYPES.guess_type(f"name{extension}")[0] or "") if extension else ""


def download_name(filename: str, content_type: str) -> str:
    """Return the name a download is offered under: the stem as given, with an extension that
    says the verified type (`x.html` of a PNG is `x.png`), so no name misleads about the bytes."""
    stem, dot, extension = filename.rpartition(".")
    proper = extension_for(content_type) or _PYTHONS_TYPES.guess_extension(content_type) or ""
    if not dot or not stem:
        return f"{filename}{proper}"
    if _names_the_type(f".{extension.lower()}", content_type) or not proper:
        return filename
    return f"{stem}{proper}"


def _names_the_type(extension: str, content_type: str) -> bool:
    """Tell whether an extension is one people give files of this type (same container family)."""
    if extension == extension_for(content_type):
        return True
    guessed = _PYTHONS_TYPES.guess_type(f"name{extension}")[0] or ""
    if guessed == content_type:
        return True
    ours = MEDIA_TYPES.get(content_type)
    theirs = [row for row in MEDIA_TYPES.values() if row.extension == extension]
    if guessed in MEDIA_TYPES:
        theirs.append(MEDIA_TYPES[guessed])
    return ours is not None and any(row.families & ours.families for row in theirs)


def is_known(content_type: str) -> bool:
    """Tell whether a content type is in the table, so that its bytes can be checked."""
    return content_type in MEDIA_TYPES


def identify(head: bytes) -> str | None:
    """Return the signature family the leading bytes carry ("iso-bmff", "png", …), or None."""
    return _recognise(head)[0]


def content_problem(content_type: str, head: bytes) -> str:
    """Return "" when the bytes carry a signature of the declared type, else why they do not."""
    media_type = MEDIA_TYPES.get(content_type)
    if media_type is None:
        return f"Files declared {content_type} cannot be checked, so they are not accepted."
    if not head:
        return f"The file is empty, so it is not {content_type}."
    if TEXT in media_type.families:
        return documents.text_problem(head, content_type=content_type)
    family, label = _recognise(head)
    if family in media_type.families:
        return ""
    if label:
        return f"The file's contents are not {content_type} (they look like {label})."
    return f"The file's contents were not recognised as {content_type}."


def _recognise(head: bytes) -> tuple[str | None, str | None]:
    """Return the family the bytes carry (or None) and how a message would name what they are."""
    # The library tells an `ftyp` box only for some brands, and then by box size (it may call a
    # HEIC an MP4), so the brand is read here; it knows neither MPEG-TS nor most MPEG audio frames.
    family = _ftyp_family(head) or _document_family(head)
    family = family or ("mpeg-ts" if _is_mpeg_ts(head) else None)
    matches = [] if family else _library_matches(head)
    families = (_match_family(match) for match in matches)
    family = family or next(filter(None, families), None)
    if not family and _is_mpeg_audio(head):
        family = "mpeg-audio"
    if family:
        return family, _FAMILY_LABELS[family]
    labels = (_OTHER_LABELS.get(match.extension) for match in matches)
    return None, next(filter(None, labels), None)


def _library_matches(head: bytes) -> list[puremagic.PureMagicWithConfidence]:
    """Return puremagic's header matches for the bytes, most confident first."""
    if not head:
        return []
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return []
    # Footer signatures (negative offsets) would be read at the end of our excerpt, not the file's.
    return [match for match in matches if match.offset >= 0]


def _match_family(match: puremagic.PureMagicWithConfidence) -> str | None:
    """Map one puremagic match to our family, or None when it says nothing about our types."""
    # "RIFF" alone opens WAV, AVI and WebP alike; only the form type at offset 8 tells them apart.
    if match.byte_match == b"RIFF":
        return None
    if match.mime_type == "application/x-matroska":
        return _EBML
    return _LIBRARY_FAMILIES.get(match.extension)


def _ftyp_family(head: bytes) -> str | None:
    """Tell an ISO BMFF file by its leading `ftyp` box: an AVIF, a HEIF, or audio/video."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    # The major brand, then the compatible brands (the minor version at 12-16 is no brand).
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIF_BRANDS:
        return "heif"
    return _ISO_BMFF


def _document_family(head: bytes) -> str | None:
    """Tell a PDF or a ZIP archive (the library names a ZIP after any format built on it)."""
    if documents.is_pdf(head):
        return "pdf"
    return _ZIP if documents.is_zip(head) else None


def _is_mpeg_ts(head: bytes) -> bool:
    """Tell MPEG-TS by its sync byte 0x47 every 188 bytes (every 192 from 4 in Blu-ray M2TS)."""
    for first, stride in ((0, 188), (4, 192)):
        syncs = head[first::stride]
        # Three packets at least: one 0x47 byte alone is one chance in 256.
        if len(syncs) >= 3 and syncs == b"\x47" * len(syncs):
            return True
    return False


def _is_mpeg_audio(head: bytes) -> bool:
    """Tell MPEG audio (MP3, MP2) without an ID3 tag by two consecutive, matching frame headers."""
    length = _mpeg_frame_length(head[:4])
    following = head[length : length + 4]
    return (
        length > 0
        and _mpeg_frame_length(following) > 0
        # Version, layer and CRC flag, then the sample rate, stay the same through a stream.
        and following[1] == head[1]
        and following[2] & 0x0C == head[2] & 0x0C
    )


def _mpeg_frame_length(header: bytes) -> int:
    """Return the byte length of the MPEG audio frame this 4-byte header opens, or 0 if none."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return 0
    version = (header[1] >> 3) & 3
    layer = 4 - ((header[1] >> 1) & 3)  # Bits 11 are Layer I, 01 Layer III, 00 reserved (ADTS).
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return 0  # Reserved values, or a free-format bitrate whose frame length is not given.
    mpeg1 = version == 3
    bitrate = _MPEG_BITRATES[mpeg1, layer][bitrate_index - 1] * 1000
    sample_rate = _MPEG_SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // sample_rate + padding) * 4
    if layer == 3 and not mpeg1:
        return 72 * bitrate // sample_rate + padding
    return 144 * bitrate // sample_rate + padding
