"""Unit tests for object keys: server-chosen prefix + UUID + the declared type's extension."""

import uuid

import pytest

from uploads import keys

MEDIA_ID = uuid.UUID("0b6f1c1e-4a3e-4c56-9a55-5a0c7d2a1b11")


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("video/mp4", ".mp4"),
        ("video/quicktime", ".mov"),
        ("video/webm", ".webm"),
        ("audio/x-m4a", ".m4a"),
        ("image/jpeg", ".jpg"),
        ("video/x-unknown", ""),
    ],
)
def test_extension_comes_from_the_declared_type(content_type, extension, settings):
    settings.UPLOAD_KEY_PREFIX = "incoming/"
    assert keys.scratch_key(MEDIA_ID, content_type) == f"incoming/{MEDIA_ID}{extension}"


def test_scratch_and_media_keys_follow_their_prefixes(settings):
    settings.UPLOAD_KEY_PREFIX = "raw/uploads/"
    settings.UPLOAD_MEDIA_PREFIX = "served/"
    assert keys.scratch_key(MEDIA_ID, "video/webm") == f"raw/uploads/{MEDIA_ID}.webm"
    assert keys.media_key(MEDIA_ID, "video/webm") == f"served/{MEDIA_ID}.webm"


def test_an_html_file_declared_as_png_gets_a_png_key():
    # The filename is display text only: nothing of it reaches the key.
    assert keys.scratch_key(MEDIA_ID, "image/png").endswith(f"{MEDIA_ID}.png")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"incoming/{MEDIA_ID}.mp4", MEDIA_ID),
        (f"incoming/{MEDIA_ID}", MEDIA_ID),
        (f"media/{MEDIA_ID}.webm", MEDIA_ID),
        (f"incoming/{MEDIA_ID}.mp4/extra", None),
        (f"incoming/x{MEDIA_ID}.mp4", None),
        (f"other/{MEDIA_ID}.mp4", None),
        (f"incoming/{str(MEDIA_ID).upper()}.mp4", None),
        ("incoming/check-bucket-1.txt", None),
        ("incoming/", None),
    ],
)
def test_media_id_is_read_back_only_from_keys_we_build(key, expected):
    assert keys.media_id_of(key) == expected


def test_key_spaces_are_told_apart():
    assert keys.is_scratch(f"incoming/{MEDIA_ID}.mp4")
    assert not keys.is_media(f"incoming/{MEDIA_ID}.mp4")
    assert keys.is_media(f"media/{MEDIA_ID}.mp4")
    assert not keys.is_scratch(f"media/{MEDIA_ID}.mp4")
