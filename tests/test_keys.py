"""Unit tests for object keys: server-chosen, prefix + UUID + safe extension, never user text."""

import re
import uuid

import pytest

from uploads.keys import build_key, extension_of

MEDIA_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("filename", "extension"),
    [
        ("holiday.mp4", ".mp4"),
        ("HOLIDAY.MOV", ".mov"),
        ("archive.tar.gz", ".gz"),
        ("no-extension", ""),
        (".mp4", ""),  # a hidden file's name, not an extension
        ("trailing.", ""),
        ("weird.mp4 ", ""),
        ("video.verylongextension", ""),
        ("vidéo.mpéé", ""),
        ("clip.m4v", ".m4v"),
        ("../../etc/passwd", ""),
        ("evil.mp4/../x", ""),
        ("a.b/c", ""),
        ("film.ÄVI", ""),
    ],
)
def test_extension_is_lowercase_alphanumeric_or_nothing(filename, extension):
    assert extension_of(filename) == extension


def test_key_is_prefix_uuid_extension(settings):
    settings.UPLOAD_KEY_PREFIX = "incoming/"
    assert build_key(MEDIA_ID, "Family Holiday.MP4") == f"incoming/{MEDIA_ID}.mp4"


def test_key_follows_the_configured_prefix(settings):
    settings.UPLOAD_KEY_PREFIX = "media/raw/"
    assert build_key(MEDIA_ID, "a.webm") == f"media/raw/{MEDIA_ID}.webm"


@pytest.mark.parametrize(
    "filename",
    [
        "../../secret.mp4",
        "name with spaces.mp4",
        "ünïcödé 🎬.mkv",
        "x" * 255,
        "a/b\\c.mp4",
        "%2e%2e.mp4",
    ],
)
def test_key_never_contains_user_text(filename, settings):
    settings.UPLOAD_KEY_PREFIX = "incoming/"
    key = build_key(MEDIA_ID, filename)
    assert re.fullmatch(r"incoming/[0-9a-f-]{36}(\.[a-z0-9]{1,10})?", key)
    stem = filename.rsplit(".", 1)[0]
    assert stem not in key
