"""Image metadata and thumbnails with Pillow, decoding nothing the answer does not need.

`inspect_image` reads the header only (Pillow's `Image.open` is lazy), so the first MiB or so of a
big image is enough for it. It returns:

    {
        "kind": "image",
        "format": "jpeg",  # Pillow's format name, lowercased (a multi-picture "mpo" says "jpeg")
        "width": 480,  # as displayed: the EXIF orientation applied, so a 640x480 JPEG with
        "height": 640,  # Orientation=6 (rotate 90° clockwise) is 480x640
        "rotation": 90,  # 0/90/180/270 clockwise, from the EXIF orientation
        "mirrored": True,  # only present for a mirroring orientation: mirror, then rotate
        "orientation": "portrait",  # of the displayed size: "landscape", "portrait" or "square"
        "animated": False,  # a GIF, PNG (APNG), WebP or AVIF with more than one frame
        "frames": 1,  # frames (or TIFF pages, MPO pictures) found in the bytes given
    }

From an excerpt, `frames` is a lower bound (a GIF's frames are counted as far as the bytes go).
A WebP excerpt is read from its RIFF header (Pillow wants the whole file); AVIF and HEIF need the
whole file (`WHOLE_FILE_TYPES`). `thumbnail` and `shrink` decode one frame, turn it upright, shrink
it and encode a WebP or JPEG with no metadata (EXIF, GPS, XMP, ICC) left in.

An image above `max_pixels` is refused ("too_many_pixels") from its header, before anything
decodes it. Pillow's own limit, `Image.MAX_IMAGE_PIXELS` (process-wide; 89,478,485 unless set), is
a second ceiling whose warning is an error here: the worker sets it to the same limit once.

Failures are `AnalysisFailed` with "too_many_pixels", "unreadable", "no_decoder",
"unsupported_format" or "memory"; Pillow's own words never reach a reason.
"""

import importlib
import struct
import warnings
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from io import BytesIO
from types import MappingProxyType
from typing import Any, BinaryIO, Final

from PIL import Image, ImageFile, UnidentifiedImageError, features

from uploads.analysis.reasons import AnalysisFailed

# The pixel limit callers pass unless configured otherwise.
DEFAULT_MAX_PIXELS: Final = 100_000_000

# Declared type → the one Pillow format allowed to open it (no other plugin is ever reached).
_PILLOW_FORMATS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/gif": "GIF",
        "image/webp": "WEBP",
        "image/avif": "AVIF",
        "image/heic": "HEIF",
        "image/heif": "HEIF",
        "image/bmp": "BMP",
        "image/tiff": "TIFF",
    }
)

# Types whose decoder reads the whole file before it says anything: an excerpt is "unreadable".
WHOLE_FILE_TYPES: Final = frozenset({"image/avif", "image/heic", "image/heif"})

# The JPEG plugin hands back a JPEG holding several pictures (phones' MPO) as format "MPO".
_OPENED_AS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {"JPEG": frozenset({"JPEG", "MPO"})}
)

# Codec libraries a Pillow build may lack even though the format's plugin is registered.
_CODEC_FEATURES: Final[Mapping[str, str]] = MappingProxyType(
    {"JPEG": "jpg", "PNG": "zlib", "WEBP": "webp", "AVIF": "avif"}
)

# Formats whose extra frames are animation (a TIFF's pages and an MPO's pictures are not).
_ANIMATABLE: Final = frozenset({"GIF", "PNG", "WEBP", "AVIF"})

# What a poster frame handed to `shrink` may be encoded as.
_POSTER_FORMATS: Final = ("PNG", "JPEG", "WEBP")

# Our output name → Pillow's, and the encoder settings: small files that still look right.
_OUTPUT_FORMATS: Final[Mapping[str, str]] = MappingProxyType({"webp": "WEBP", "jpeg": "JPEG"})
_ENCODER_OPTIONS: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        "WEBP": MappingProxyType({"quality": 80, "method": 4}),
        "JPEG": MappingProxyType({"quality": 85, "optimize": True, "progressive": True}),
    }
)

# EXIF Orientation → (clockwise rotation, mirrored, the transposition that displays it). A
# mirrored orientation is a horizontal mirror, then the rotation (5 is "mirror, rotate 270").
_ORIENTATIONS: Final[Mapping[int, tuple[int, bool, Image.Transpose | None]]] = MappingProxyType(
    {
        1: (0, False, None),
        2: (0, True, Image.Transpose.FLIP_LEFT_RIGHT),
        3: (180, False, Image.Transpose.ROTATE_180),
        4: (180, True, Image.Transpose.FLIP_TOP_BOTTOM),
        5: (270, True, Image.Transpose.TRANSPOSE),
        6: (90, False, Image.Transpose.ROTATE_270),
        7: (90, True, Image.Transpose.TRANSVERSE),
        8: (270, False, Image.Transpose.ROTATE_90),
    }
)
_ORIENTATION_TAG: Final = 0x0112

# What Pillow raises on bytes it cannot make sense of (UnidentifiedImageError is an OSError).
_BROKEN: Final = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    struct.error,
    zlib.error,
)

# Enough of a WebP EXIF chunk for its first IFD, where the orientation is.
_WEBP_EXIF_BYTES: Final = 65536


def set_pixel_limit(max_pixels: int) -> None:
    """Make Pillow's own, process-wide ceiling the analysis limit (the worker's one setting)."""
    Image.MAX_IMAGE_PIXELS = max_pixels


def inspect_image(
    source: bytes | BinaryIO, *, content_type: str, max_pixels: int
) -> dict[str, Any]:
    """Return the image's metadata (see the module docstring), read from its header alone."""
    fp = _seekable(source)
    pillow_format = _pillow_format(content_type)
    with _pillow_failures():
        try:
            image = _open(fp, pillow_format)
        except OSError:
            if pillow_format != "WEBP":
                raise
            # Pillow's WebP decoder wants the whole file; an excerpt still has its RIFF header.
            return _webp_metadata(fp, max_pixels)
        with image:
            return _metadata(image, max_pixels)


def thumbnail(
    source: bytes | BinaryIO,
    *,
    content_type: str,
    max_side: int,
    image_format: str,
    max_pixels: int,
) -> bytes:
    """Return the image's first frame upright, no longer than max_side, as a webp or jpeg."""
    _check_output(max_side, image_format)
    fp = _seekable(source)
    pillow_format = _pillow_format(content_type)
    with _pillow_failures(), _open(fp, pillow_format) as image:
        return _render(image, max_side=max_side, image_format=image_format, max_pixels=max_pixels)


def shrink(
    image_bytes: bytes,
    *,
    max_side: int,
    image_format: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """Return a decoded poster frame (PNG, JPEG or WebP) no longer than max_side, re-encoded."""
    _check_output(max_side, image_format)
    with _pillow_failures():
        try:
            image = Image.open(BytesIO(image_bytes), formats=_POSTER_FORMATS)
        except UnidentifiedImageError:
            raise AnalysisFailed("unreadable") from None
        with image:
            return _render(
                image, max_side=max_side, image_format=image_format, max_pixels=max_pixels
            )


# Opening


def _seekable(source: bytes | BinaryIO) -> BinaryIO:
    """Return the source as a file Pillow can seek in (a stream that can't is read into memory)."""
    if isinstance(source, bytes):
        return BytesIO(source)
    return source if source.seekable() else BytesIO(source.read())


def _pillow_format(content_type: str) -> str:
    """Return the Pillow format for a declared type, or fail when none may or can read it."""
    pillow_format = _PILLOW_FORMATS.get(content_type)
    if pillow_format is None:
        raise AnalysisFailed("unsupported_format")
    if not _can_decode(pillow_format):
        raise AnalysisFailed("no_decoder")
    return pillow_format


def _can_decode(pillow_format: str) -> bool:
    """Tell whether this Pillow has the plugin, and the codec library, for a format."""
    Image.init()
    if pillow_format == "HEIF":
        _register_heif()
    feature = _CODEC_FEATURES.get(pillow_format)
    return pillow_format in Image.OPEN and (feature is None or bool(features.check(feature)))


def _register_heif() -> None:
    """Let pillow-heif, when installed, open HEIC/HEIF: it adds the "HEIF" plugin to Pillow."""
    if "HEIF" in Image.OPEN:
        return
    try:
        pillow_heif = importlib.import_module("pillow_heif")
    except ImportError:
        return
    pillow_heif.register_heif_opener()


def _open(fp: BinaryIO, pillow_format: str) -> ImageFile.ImageFile:
    """Open the image's header with its one allowed plugin."""
    try:
        return Image.open(fp, formats=[pillow_format])
    except UnidentifiedImageError:
        raise AnalysisFailed(_unidentified_reason(fp, pillow_format)) from None


def _unidentified_reason(fp: BinaryIO, pillow_format: str) -> str:
    """Tell bytes another Pillow plugin recognises (the wrong format) from bytes none does."""
    fp.seek(0)
    prefix = fp.read(16)  # What Image.open shows each plugin's check.
    for name, (_, accepts) in Image.OPEN.items():
        if name in _OPENED_AS.get(pillow_format, {pillow_format}) or accepts is None:
            continue
        try:
            if accepts(prefix):
                return "unsupported_format"
        except _BROKEN:
            continue
    return "unreadable"


@contextmanager
def _pillow_failures() -> Iterator[None]:
    """Turn Pillow's failures into reasons, its decompression-bomb warning into an error."""
    # Pillow checks sizes against Image.MAX_IMAGE_PIXELS when it opens a header (and a TIFF tile,
    # a GIF frame's disposal area) but only warns below twice that; our own per-call check follows.
    # Before Python 3.14 catch_warnings swaps process-wide state: analyses in concurrent threads of
    # one process could leave a filter installed after its block ends.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise AnalysisFailed("too_many_pixels") from error
        except MemoryError as error:
            raise AnalysisFailed("memory") from error
        except _BROKEN as error:
            raise AnalysisFailed(_broken_reason(error)) from error


def _broken_reason(error: BaseException) -> str:
    """Name why Pillow gave up: a codec missing from this build, or bytes it can't read."""
    message = str(error)
    if isinstance(error, OSError) and message.startswith("decoder ") and "not available" in message:
        return "no_decoder"
    return "unreadable"


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse an empty image, and one above the pixel limit before anything decodes it."""
    width, height = size
    if width <= 0 or height <= 0:
        raise AnalysisFailed("unreadable")
    if width * height > max_pixels:
        raise AnalysisFailed("too_many_pixels")


# Metadata


def _metadata(image: ImageFile.ImageFile, max_pixels: int) -> dict[str, Any]:
    """Return the schema's metadata for an opened (not decoded) image."""
    _check_pixels(image.size, max_pixels)
    size = image.size
    orientation = _exif_orientation(image)  # First: a TIFF reads it from the current page.
    frames = _frames(image)
    assert image.format is not None  # Every plugin names its format.
    name = "jpeg" if image.format == "MPO" else image.format.lower()
    animated = image.format in _ANIMATABLE and frames > 1
    return _schema(name, size, orientation, frames, animated=animated)


def _schema(
    name: str, size: tuple[int, int], orientation: int, frames: int, *, animated: bool
) -> dict[str, Any]:
    """Build the metadata dict from the stored size and the EXIF orientation."""
    rotation, mirrored, _ = _ORIENTATIONS[orientation]
    width, height = size if rotation in (0, 180) else size[::-1]
    metadata: dict[str, Any] = {
        "kind": "image",
        "format": name,
        "width": width,
        "height": height,
        "rotation": rotation,
        "orientation": _shape(width, height),
        "animated": animated,
        "frames": frames,
    }
    if mirrored:
        metadata["mirrored"] = True
    return metadata


def _shape(width: int, height: int) -> str:
    """Say whether a displayed size is landscape, portrait or square."""
    if width == height:
        return "square"
    return "landscape" if width > height else "portrait"


def _exif_orientation(image: Image.Image) -> int:
    """Return the EXIF (or XMP) orientation 1-8 found in the header, 1 when none or broken."""
    try:
        # The base method reads what the header gave; PNG's override decodes the whole image to
        # look for an eXIf chunk after the pixels.
        value = Image.Image.getexif(image).get(_ORIENTATION_TAG, 1)
    except _BROKEN:
        return 1
    return value if isinstance(value, int) and value in _ORIENTATIONS else 1


def _frames(image: ImageFile.ImageFile) -> int:
    """Count the frames in the bytes given (an excerpt stops the count where it ends)."""
    try:
        return int(getattr(image, "n_frames", 1))
    except _BROKEN:
        # Cut inside a frame's header. Pillow walks a GIF's frames without decoding them and
        # stops on the last whole one; other cut files (TIFF pages) say nothing beyond the first.
        return image.tell() + 1 if image.format == "GIF" else 1


def _webp_metadata(fp: BinaryIO, max_pixels: int) -> dict[str, Any]:
    """Return a WebP's metadata from its RIFF chunks (of which an excerpt may hold only some)."""
    fp.seek(0)
    header = fp.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise AnalysisFailed("unreadable")
    chunks = _riff_chunks(fp)
    first = next(chunks, None)
    size = _webp_size(*first) if first else None
    if size is None:
        raise AnalysisFailed("unreadable")
    _check_pixels(size, max_pixels)
    frames, exif = 1, b""
    if first and first[0] == b"VP8X":  # Only the extended format has frames and EXIF chunks.
        rest = list(chunks)
        exif = next((payload for name, payload in rest if name == b"EXIF"), b"")
        if first[1][0] & 0x02:  # The animation flag.
            frames = max(1, sum(name == b"ANMF" for name, _ in rest))
    return _schema("webp", size, _orientation_in(exif), frames, animated=frames > 1)


def _riff_chunks(fp: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """Yield (fourcc, the payload's start) for each RIFF chunk the bytes hold, first to last."""
    while len(chunk_header := fp.read(8)) == 8:
        name, length = chunk_header[:4], int.from_bytes(chunk_header[4:], "little")
        start = fp.tell()
        # Only a chunk's start is needed (sizes, flags, an EXIF IFD); frames' pixels are skipped.
        payload = fp.read(min(length, _WEBP_EXIF_BYTES if name == b"EXIF" else 16))
        yield name, payload
        fp.seek(start + length + (length & 1))  # Chunks are padded to an even length.


def _webp_size(name: bytes, payload: bytes) -> tuple[int, int] | None:
    """Return the canvas size the first WebP chunk gives (lossy, lossless or extended)."""
    if name == b"VP8X" and len(payload) >= 10:
        return (
            int.from_bytes(payload[4:7], "little") + 1,
            int.from_bytes(payload[7:10], "little") + 1,
        )
    if name == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(payload[6:8], "little") & 0x3FFF,
            int.from_bytes(payload[8:10], "little") & 0x3FFF,
        )
    if name == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _orientation_in(exif: bytes) -> int:
    """Return the orientation in raw EXIF bytes, 1 when none or broken."""
    if not exif:
        return 1
    parsed = Image.Exif()
    try:
        parsed.load(exif)
        value = parsed.get(_ORIENTATION_TAG, 1)
    except _BROKEN:
        return 1
    return value if isinstance(value, int) and value in _ORIENTATIONS else 1


# Thumbnails


def _check_output(max_side: int, image_format: str) -> None:
    """Refuse a thumbnail request no caller should make."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")
    if image_format not in _OUTPUT_FORMATS:
        raise ValueError(f"image_format must be one of {sorted(_OUTPUT_FORMATS)}")


def _render(
    image: ImageFile.ImageFile, *, max_side: int, image_format: str, max_pixels: int
) -> bytes:
    """Decode the first frame, shrink it, turn it upright and encode it without metadata."""
    _check_pixels(image.size, max_pixels)
    _, _, transposition = _ORIENTATIONS[_exif_orientation(image)]
    if image.format in _OPENED_AS["JPEG"]:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, no smaller than twice the thumbnail (as
        # Image.thumbnail's reducing_gap does): a 100 Mpx photo never lands in memory whole.
        image.draft("RGB", (2 * max_side, 2 * max_side))
    image.load()
    icc_profile = image.info.get("icc_profile")
    frame = _resizable(image)
    frame.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # Never enlarges.
    if transposition is not None:
        frame = frame.transpose(transposition)
    frame = _in_srgb(frame, icc_profile)
    return _encode(frame, _OUTPUT_FORMATS[image_format])


def _resizable(image: Image.Image) -> Image.Image:
    """Return the frame in a mode that resamples well (a palette would only be picked from)."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if image.mode.startswith("I;16"):
        # 16-bit grey: keep the top 8 bits (a plain conversion clips everything above 255).
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _in_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """Return the frame as RGB or RGBA in sRGB, the space an image is shown in without a profile."""
    mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
    if isinstance(icc_profile, bytes) and icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        converted = _convert_profile(image, icc_profile, mode)
        if converted is not None:
            return converted
    return image.convert(mode)


def _convert_profile(image: Image.Image, icc_profile: bytes, mode: str) -> Image.Image | None:
    """Convert the frame from its embedded ICC profile to sRGB, or None when that can't be done."""
    try:
        from PIL import ImageCms  # Pillow built without Little CMS has no ImageCms.
    except ImportError:
        return None
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode=mode)
    except (ImageCms.PyCMSError, *_BROKEN):
        return None  # A broken or mismatched profile: the plain conversion is the next best.
    assert converted is not None  # Only an in-place conversion returns None.
    return converted


@cache
def _srgb_profile() -> Any:
    """Return Little CMS's built-in sRGB profile, made once."""
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")


def _encode(image: Image.Image, pillow_format: str) -> bytes:
    """Encode the frame with no metadata: no EXIF (GPS), XMP or ICC profile is written."""
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # Opaque after all: an alpha plane would only cost bytes.
    if image.mode == "RGBA" and pillow_format == "JPEG":
        # JPEG has no transparency: what was see-through shows white, as on most pages.
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    image.info.clear()  # Some encoders fall back on what the decoder left here.
    output = BytesIO()
    image.save(output, pillow_format, **_ENCODER_OPTIONS[pillow_format])
    return output.getvalue()
