"""Unit tests for the media-type table and the check that an object's first bytes match its type."""

import random

import pytest

from tests.support.media import MIN_SIZE, media_bytes
from uploads.media_types import (
    MEDIA_TYPES,
    SNIFF_BYTES,
    MediaType,
    content_problem,
    download_name,
    extension_for,
    identify,
    is_known,
)

MiB = 1024**2
ALL_TYPES = sorted(MEDIA_TYPES)

HTML = b"<!doctype html><html><script>fetch('/api/token').then(steal)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><rect/></svg>'
# Seeded, so that no weak two-byte signature (JPEG, BMP, ADTS) turns up by chance.
NOISE = random.Random(20240229).randbytes(SNIFF_BYTES)


def head(content_type: str, size: int = 64 * 1024) -> bytes:
    """Return what the server reads of a generated upload: its first SNIFF_BYTES."""
    return media_bytes(content_type, size)[:SNIFF_BYTES]


# The table


def test_the_table_is_read_only_and_leaves_out_svg():
    assert "image/svg+xml" not in MEDIA_TYPES
    with pytest.raises(TypeError):
        MEDIA_TYPES["image/svg+xml"] = MediaType(".svg", frozenset({"svg"}))  # type: ignore[index]


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("video/mp4", ".mp4"),
        ("video/quicktime", ".mov"),
        ("video/webm", ".webm"),
        ("audio/webm", ".webm"),
        ("video/x-matroska", ".mkv"),
        ("video/mp2t", ".ts"),
        ("video/mpeg", ".mpg"),
        ("video/3gpp", ".3gp"),
        ("audio/mp4", ".m4a"),
        ("audio/x-m4a", ".m4a"),
        ("audio/mpeg", ".mp3"),
        ("audio/wav", ".wav"),
        ("audio/x-wav", ".wav"),
        ("audio/flac", ".flac"),
        ("audio/opus", ".opus"),
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("image/heic", ".heic"),
        ("image/tiff", ".tiff"),
    ],
)
def test_extension_for_a_known_type(content_type, extension):
    assert extension_for(content_type) == extension
    assert is_known(content_type)


@pytest.mark.parametrize("content_type", ["image/svg+xml", "video/x-unknown", ""])
def test_extension_for_an_unknown_type_is_empty(content_type):
    assert extension_for(content_type) == ""
    assert not is_known(content_type)


def test_every_extension_fits_a_key():
    for content_type, media_type in MEDIA_TYPES.items():
        extension = media_type.extension
        assert extension.startswith(".") and extension[1:].isalnum(), content_type
        assert extension == extension.lower() and len(extension) <= 11, content_type


# Generated media passes


@pytest.mark.parametrize("content_type", ALL_TYPES)
@pytest.mark.parametrize("size", [MIN_SIZE, 1000, SNIFF_BYTES, 3 * MiB])
def test_every_type_accepts_its_generated_media(content_type, size):
    content = media_bytes(content_type, size)
    assert len(content) == size
    assert content_problem(content_type, content[:SNIFF_BYTES]) == ""


@pytest.mark.parametrize("content_type", ["video/mp2t", "video/mp4", "audio/mpeg", "audio/aac"])
def test_large_media_is_generated_whole(content_type):
    content = media_bytes(content_type, 64 * MiB + 5)
    assert len(content) == 64 * MiB + 5
    assert content_problem(content_type, content[:SNIFF_BYTES]) == ""


def test_generated_mpeg_ts_keeps_its_sync_pattern_to_the_end():
    content = media_bytes("video/mp2t", 16 * MiB)
    assert content[::188] == b"\x47" * len(range(0, len(content), 188))


def test_generated_media_is_random_after_the_header():
    assert media_bytes("video/mp4", 4096) != media_bytes("video/mp4", 4096)


@pytest.mark.parametrize(
    "content_type", [name for name in ALL_TYPES if not name.startswith("text/")]
)
@pytest.mark.parametrize("size", [0, 4])
def test_a_size_too_small_for_the_header_is_refused(content_type, size):
    with pytest.raises(ValueError, match=content_type):
        media_bytes(content_type, size)


def test_min_size_is_small_and_the_smallest_every_type_fits():
    assert MIN_SIZE <= 1024
    with pytest.raises(ValueError, match="video/mp2t"):
        media_bytes("video/mp2t", MIN_SIZE - 1)


def test_there_is_no_test_media_for_a_type_outside_the_table():
    with pytest.raises(ValueError, match="image/svg"):
        media_bytes("image/svg+xml", 4096)


# Shared containers


@pytest.mark.parametrize(
    ("generated_as", "declared_as"),
    [
        ("video/webm", "audio/webm"),
        ("audio/webm", "video/webm"),
        ("video/webm", "video/x-matroska"),
        ("video/x-matroska", "audio/x-matroska"),
        ("video/mp4", "video/quicktime"),
        ("video/quicktime", "video/mp4"),
        ("video/mp4", "audio/mp4"),
        ("audio/mp4", "audio/x-m4a"),
        ("video/mp4", "video/x-m4v"),
        ("video/3gpp", "audio/3gpp"),
        ("video/3gpp", "video/mp4"),
        ("audio/wav", "audio/x-wav"),
        ("audio/x-wav", "audio/wave"),
        ("audio/opus", "audio/ogg"),
        ("audio/ogg", "video/ogg"),
        ("audio/flac", "audio/x-flac"),
        ("image/heic", "image/heif"),
        ("video/mp2t", "video/vnd.dlna.mpeg-tts"),
    ],
)
def test_a_shared_container_passes_under_each_of_its_types(generated_as, declared_as):
    assert content_problem(declared_as, head(generated_as)) == ""


# Mismatches


def test_png_bytes_declared_mp4_fail_naming_what_they_look_like():
    problem = content_problem("video/mp4", head("image/png"))
    assert problem == "The file's contents are not video/mp4 (they look like a PNG image)."


def test_an_html_page_declared_png_fails():
    problem = content_problem("image/png", HTML)
    assert problem == "The file's contents are not image/png (they look like HTML)."


def test_svg_declared_png_fails():
    problem = content_problem("image/png", SVG)
    assert problem == "The file's contents are not image/png (they look like SVG)."


def test_svg_with_an_xml_declaration_declared_png_fails():
    svg = b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG
    assert content_problem("image/png", svg).startswith("The file's contents are not image/png")


def test_random_bytes_declared_mp4_fail():
    problem = content_problem("video/mp4", NOISE)
    assert problem == "The file's contents were not recognised as video/mp4."


def test_empty_bytes_fail():
    assert content_problem("video/mp4", b"") == "The file is empty, so it is not video/mp4."


def test_plain_text_declared_mp3_fails():
    problem = content_problem("audio/mpeg", b"just some notes about the recording\n" * 50)
    assert problem == "The file's contents were not recognised as audio/mpeg."


@pytest.mark.parametrize(
    ("generated_as", "declared_as", "looks_like"),
    [
        ("video/webm", "video/mp4", "a Matroska/WebM file"),
        ("video/mp4", "video/webm", "an MP4/QuickTime (ISO BMFF) file"),
        # HEIF and AVIF are ISO BMFF too, but an image is not a movie nor each other.
        ("image/heic", "video/mp4", "a HEIF/HEIC image"),
        ("video/mp4", "image/heic", "an MP4/QuickTime (ISO BMFF) file"),
        ("image/avif", "image/heic", "an AVIF image"),
        ("image/heif", "image/avif", "a HEIF/HEIC image"),
        # RIFF opens WAV, AVI and WebP alike: the form type tells them apart.
        ("audio/wav", "video/x-msvideo", "WAV audio"),
        ("image/webp", "audio/wav", "a WebP image"),
        ("video/x-msvideo", "image/webp", "an AVI file"),
        ("video/mp2t", "video/mpeg", "an MPEG transport stream"),
        ("video/mpeg", "video/mp2t", "MPEG-1/2 video (a program stream)"),
        ("audio/ogg", "audio/mpeg", "an Ogg file"),
        ("image/gif", "image/png", "a GIF image"),
        ("image/jpeg", "image/webp", "a JPEG image"),
        ("audio/flac", "audio/wav", "FLAC audio"),
        ("image/bmp", "image/tiff", "a BMP image"),
    ],
)
def test_a_different_type_fails_naming_what_it_looks_like(generated_as, declared_as, looks_like):
    problem = content_problem(declared_as, head(generated_as))
    assert problem == f"The file's contents are not {declared_as} (they look like {looks_like})."


@pytest.mark.parametrize(
    "content_type", ["image/svg+xml", "application/x-unknown", "video/x-unknown"]
)
def test_a_type_outside_the_table_cannot_be_checked(content_type):
    problem = content_problem(content_type, SVG)
    assert problem == f"Files declared {content_type} cannot be checked, so they are not accepted."


# identify()


@pytest.mark.parametrize(
    ("content_type", "family"),
    [
        ("video/mp4", "iso-bmff"),
        ("video/quicktime", "iso-bmff"),
        ("audio/x-m4a", "iso-bmff"),
        ("image/heic", "heif"),
        ("image/avif", "avif"),
        ("video/webm", "ebml"),
        ("video/x-matroska", "ebml"),
        ("video/mp2t", "mpeg-ts"),
        ("video/mpeg", "mpeg-ps"),
        ("audio/ogg", "ogg"),
        ("audio/mpeg", "id3"),
        ("audio/aac", "aac"),
        ("audio/wav", "wav"),
        ("image/png", "png"),
        ("image/jpeg", "jpeg"),
    ],
)
def test_identify_names_the_family(content_type, family):
    assert identify(head(content_type)) == family


@pytest.mark.parametrize("content", [b"", NOISE, HTML, SVG])
def test_identify_returns_none_for_anything_else(content):
    assert identify(content) is None


def test_old_quicktime_without_ftyp_is_iso_bmff():
    # QuickTime files from before `ftyp` open with a `wide` (or `moov`, `mdat`, `free`) atom.
    movie = b"\x00\x00\x00\x08wide" + b"\x00\x00\x10\x00mdat" + NOISE[:4096]
    assert identify(movie) == "iso-bmff"
    assert content_problem("video/quicktime", movie) == ""


def test_an_ftyp_with_an_unlisted_video_brand_is_still_iso_bmff():
    # Smooth Streaming's `isml` major brand, which the library's table does not list.
    ftyp = b"\x00\x00\x00\x18ftypisml\x00\x00\x00\x01isml" + b"piff"
    assert identify(ftyp + b"\x00\x00\x10\x00mdat" + NOISE[:4096]) == "iso-bmff"


def test_blu_ray_m2ts_with_192_byte_packets_is_mpeg_ts():
    # BDAV (.m2ts, .mts) puts a 4-byte timestamp before each 188-byte packet.
    packet = bytes(4) + b"\x47\x01\x00\x10" + bytes(184)
    assert identify(packet * 20) == "mpeg-ts"
    assert content_problem("video/mp2t", packet * 20) == ""


def test_one_sync_byte_is_not_mpeg_ts():
    assert identify(b"\x47" + NOISE[1:188]) is None


def test_mpeg_2_layer_iii_frames_without_an_id3_tag_are_mp3():
    # 64 kbit/s at 22.05 kHz: 72 * 64000 // 22050 = 208 bytes a frame; the library knows only
    # MPEG-1's 0xFFFB, so this is the module's own frame check.
    frame = b"\xff\xf3\x80\xc4" + NOISE[: 208 - 4]
    assert identify(frame * 10) == "mpeg-audio"
    assert content_problem("audio/mpeg", frame * 10) == ""
    assert content_problem("audio/aac", frame * 10).startswith("The file's contents are not")


def test_a_lone_mpeg_audio_frame_header_is_not_enough():
    assert identify(b"\xff\xf3\x80\xc4" + bytes(400)) is None


@pytest.mark.parametrize(
    ("filename", "content_type", "offered"),
    [
        ("x.html", "image/png", "x.png"),  # the stem kept, the extension the verified type's
        ("Report.PDF.exe", "video/mp4", "Report.PDF.mp4"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),  # another name of the same type
        ("photo.JPG", "image/jpeg", "photo.JPG"),
        ("scan.tif", "image/tiff", "scan.tif"),
        ("clip.mov", "video/mp4", "clip.mov"),  # the same container family
        ("voice.webm", "audio/webm", "voice.webm"),
        ("clip", "video/mp4", "clip.mp4"),  # no extension: the type's is added
        (".hidden", "image/png", ".hidden.png"),
        ("notes.exe", "application/pdf", "notes.pdf"),  # unchecked types: Python's name for it
        ("blob", "application/x-unheard-of", "blob"),  # nothing known to say
    ],
)
def test_a_download_is_named_after_the_verified_type(filename, content_type, offered):
    assert download_name(filename, content_type) == offered


@pytest.mark.parametrize("declared", ["audio/wav", "video/x-msvideo", "image/webp"])
def test_a_bare_riff_of_an_unknown_form_type_is_refused(declared):
    riff = b"RIFF" + (4096).to_bytes(4, "little") + b"XYZW" + random.randbytes(600)
    assert identify(riff) is None
    assert content_problem(declared, riff) == (
        f"The file's contents were not recognised as {declared}."
    )


def test_a_heif_whose_only_brands_are_mif1_and_miaf_is_recognised():
    ftyp = (24).to_bytes(4, "big") + b"ftyp" + b"mif1" + bytes(4) + b"mif1" + b"miaf"
    heif = ftyp + random.randbytes(600)
    assert identify(heif) == "heif"
    assert content_problem("image/heif", heif) == ""
    assert content_problem("image/heic", heif) == ""
    assert "HEIF" in content_problem("video/mp4", heif)
