"""Working with attached files in a team's project: a page using `{% media_tag %}` and
`{% media_url %}`, a handout's links served by the bucket as they ask (a PDF inline only where its
field says, text as UTF-8; on RGW too: test_strict_working_with_files.py), and `open()` reading a
range of a large object with one ranged GET, counted where S3 receives it.

Run with DJANGO_SETTINGS_MODULE=tests.sampleproject.settings (`make test` does)."""

from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.sampleproject.library.models import Handout, Lesson
from tests.sampleproject.s3_proxy import counting_proxy
from tests.support.media import media_bytes
from tests.support.s3 import Bucket, post_to_s3
from tests.support.uploads import declare
from uploads.models import MediaFile
from uploads.testing import uploaded_media_file

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

VIDEO = "library.lesson.video"
THUMBNAIL = "library.lesson.thumbnail"
NOTES = "library.handout.notes"
WORKSHEET = "library.handout.worksheet"


def upload(
    api: APIClient,
    filename: str,
    content_type: str = "video/mp4",
    field: str = VIDEO,
    complete: bool = True,
) -> MediaFile:
    """Upload a file for a field through the API (and complete it, unless told not to)."""
    body = media_bytes(content_type, 4096)
    created = declare(api, body, filename=filename, content_type=content_type, field=field)
    assert post_to_s3(created["upload"], body).status_code == 204
    if complete:
        assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    return MediaFile.objects.get(pk=created["id"])


def attached(user: User, body: bytes, content_type: str, filename: str, field: str) -> MediaFile:
    """An uploaded record made for a handout's field, its bytes stored in the configured bucket."""
    return uploaded_media_file(
        owner=user,
        content_type=content_type,
        filename=filename,
        body=body,
        field=field,
        store=True,
    )


def served_as_asked(user: User, bucket: Bucket) -> None:
    """Check on this bucket's S3 (the local one or RGW) that a handout's links are served as
    `url()` asks: a PDF inline only on the field that lists it in inline_types, text as UTF-8."""
    pdf = media_bytes("application/pdf", 4096)
    text = "Tides: the Moon pulls the sea twice a day. Marées, Gezeiten, 潮汐 ☾\n".encode()
    shown = Handout.objects.create(
        notes=attached(user, pdf, "application/pdf", "tides.pdf", NOTES),
        worksheet=attached(user, pdf, "application/pdf", "worksheet.pdf", WORKSHEET),
    )
    read = Handout.objects.create(notes=attached(user, text, "text/plain", "tides.txt", NOTES))
    shown.refresh_from_db()
    read.refresh_from_db()

    notes = requests.get(str(shown.notes.url(inline=True)), timeout=10)
    assert notes.status_code == 200
    assert notes.headers["Content-Disposition"].startswith("inline")
    assert notes.headers["Content-Disposition"] == 'inline; filename="tides.pdf"'
    assert notes.headers["Content-Type"] == "application/pdf"
    assert notes.content == pdf

    # The same PDF on a field without inline_types: asked inline, still a download.
    worksheet = requests.get(str(shown.worksheet.url(inline=True)), timeout=10)
    assert worksheet.status_code == 200
    assert worksheet.headers["Content-Disposition"] == 'attachment; filename="worksheet.pdf"'
    assert worksheet.content == pdf

    # The object is stored as bare text/plain: the charset comes from the link alone.
    stored_type = bucket.client.head_object(Bucket=bucket.name, Key=read.notes.key)["ContentType"]
    assert stored_type == "text/plain"
    for link, disposition in [
        (read.notes.url(inline=True), 'inline; filename="tides.txt"'),
        (read.notes.url(), 'attachment; filename="tides.txt"'),
    ]:
        served = requests.get(str(link), timeout=10)
        assert served.status_code == 200
        assert served.headers["Content-Disposition"] == disposition
        assert served.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert served.content == text


def page_elements(html: str) -> dict[str, list[dict[str, str | None]]]:
    """The page's start tags by name, each with its attributes (unescaped)."""
    found: dict[str, list[dict[str, str | None]]] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.setdefault(tag, []).append(dict(attrs))

    Parser().feed(html)
    return found


def test_the_lesson_page_shows_the_thumbnail_and_the_video_with_its_poster(
    api: APIClient, bucket: Bucket
) -> None:
    video = upload(api, "lesson.mp4")
    thumbnail = upload(api, "cover.png", "image/png", field=THUMBNAIL)
    poster = media_bytes("image/webp", 2048)
    poster_key = f"derived/{video.pk}/poster.webp"
    bucket.put(poster_key, poster, "image/webp")  # what analysis would have made
    MediaFile.objects.filter(pk=video.pk).update(derived={"poster": poster_key})
    lesson = Lesson.objects.create(title="Tides", video=video, thumbnail=thumbnail)

    html = Client().get(f"/lessons/{lesson.pk}/watch/").content.decode()

    found = page_elements(html)
    (image,) = found["img"]
    assert (image["alt"], image["width"]) == ("Tides", "320")
    assert requests.get(str(image["src"]), timeout=10).content == bucket.read(thumbnail.key)
    (player,) = found["video"]
    assert player["class"] == "player" and "controls" in player
    assert requests.get(str(player["poster"]), timeout=10).content == poster
    played = requests.get(str(player["src"]), timeout=10)
    assert played.headers["Content-Disposition"] == 'inline; filename="lesson.mp4"'
    (download,) = found["a"]
    saved = requests.get(str(download["href"]), timeout=10)
    assert saved.headers["Content-Disposition"] == 'attachment; filename="Tides.mp4"'
    assert saved.content == bucket.read(video.key)


def test_the_lesson_page_shows_nothing_of_a_file_still_pending(
    api: APIClient, bucket: Bucket
) -> None:
    pending = upload(api, "lesson.mp4", complete=False)
    assert pending.status == MediaFile.Status.PENDING
    lesson = Lesson.objects.create(title="Soon", video=pending)

    html = Client().get(f"/lessons/{lesson.pk}/watch/").content.decode()

    found = page_elements(html)
    assert not {"video", "img", "a"} & set(found)
    assert '<div class="video"></div>' in html and '<div class="thumbnail"></div>' in html
    assert "None" not in html


def test_a_handout_is_served_as_its_links_ask_by_the_local_s3(user: User, bucket: Bucket) -> None:
    served_as_asked(user, bucket)


def test_open_reads_100_bytes_10_mb_into_a_200_mb_object_with_one_ranged_get(
    user: User, bucket: Bucket, settings: Any
) -> None:
    size = 200 * 1024 * 1024
    body = bytes(range(256)) * (size // 256)
    record = uploaded_media_file(
        owner=user,
        content_type="application/octet-stream",
        filename="large.bin",
        body=body,
        store=True,
    )

    with counting_proxy(settings.AWS_S3_ENDPOINT_URL) as s3:
        settings.AWS_S3_ENDPOINT_URL = s3.url  # every request the app makes now goes through it
        with record.open() as stream:
            stream.seek(10_000_000)
            assert stream.read(100) == body[10_000_000:10_000_100]

    (get,) = s3.gets(record.key)  # one request reached S3
    assert get.status == 206 and get.range is not None and get.range.startswith("bytes=10000000-")
    assert get.if_match == f'"{record.etag}"'  # of the verified version only
    assert get.body_bytes <= 256 * 1024  # a bounded read-ahead, not megabytes
