"""Working with an attached file: MediaFile.url(), is_image/is_video/is_audio, open(), the
`uploads_tags` template tags and the admin's media_preview column."""

import csv
import io
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.template import Context, Template, TemplateSyntaxError

from tests.support.media import media_bytes
from tests.support.s3 import Bucket
from tests.support.uploads import sent_record
from uploads import handles, services, storage
from uploads.admin import media_preview
from uploads.models import MediaFile
from uploads.testing import uploaded_media_file


def record(
    content_type: str = "image/png", filename: str = "photo.png", **fields: Any
) -> MediaFile:
    """An unsaved uploaded record: enough to sign links (signing makes no S3 call)."""
    values: dict[str, Any] = {
        "key": f"media/{uuid.uuid4()}.bin",
        "filename": filename,
        "content_type": content_type,
        "size": 1000,
        "status": MediaFile.Status.UPLOADED,
        "etag": "0" * 32,
        **fields,
    }
    return MediaFile(**values)


def query(url: str | None) -> dict[str, str]:
    """The signed URL's query parameters (one value each)."""
    assert url
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def disposition(url: str | None) -> str:
    """The Content-Disposition the link asks S3 to serve."""
    return query(url)["response-content-disposition"]


def completed(user: User, content_type: str, filename: str, size: int = 4096) -> MediaFile:
    """A record uploaded as a browser does (POST, then complete): `uploaded`, object verified."""
    body = media_bytes(content_type, size)
    sent = sent_record(user, body, content_type=content_type, filename=filename)
    done = services.complete_upload(media_file=sent, via="api")
    assert done.status == MediaFile.Status.UPLOADED, done.failure_reason
    return done


def stored(user: User, bucket: Bucket, body: bytes, content_type: str, filename: str) -> MediaFile:
    """An uploaded record of an object put straight in the bucket (any bytes, any type)."""
    return uploaded_media_file(
        owner=user, content_type=content_type, filename=filename, body=body, store=True
    )


def render(source: str, **context: Any) -> str:
    """Render a template that loads the tags."""
    return Template("{% load uploads_tags %}" + source).render(Context(context))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The start tags in the HTML, each with its attributes (unescaped; None when bare)."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Parser().feed(html)
    return found


def element(html: str) -> tuple[str, dict[str, str | None]]:
    """The one element the HTML holds."""
    (only,) = elements(html)
    return only


# ---------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("content_type", "kinds"),
    [
        ("image/png", (True, False, False)),
        ("image/svg+xml", (True, False, False)),
        ("video/mp4", (False, True, False)),
        ("Video/MP4; codecs=avc1", (False, True, False)),
        ("audio/mpeg", (False, False, True)),
        ("application/pdf", (False, False, False)),
    ],
)
def test_the_kind_follows_the_content_type(content_type, kinds):
    media_file = record(content_type)
    assert (media_file.is_image, media_file.is_video, media_file.is_audio) == kinds


# ---------------------------------------------------------------- url()


@pytest.mark.parametrize(
    "status",
    [
        MediaFile.Status.PENDING,
        MediaFile.Status.FAILED,
        MediaFile.Status.EXPIRED,
        MediaFile.Status.ABORTED,
    ],
)
def test_a_record_not_uploaded_has_no_url_and_the_tags_render_nothing(status):
    media_file = record(status=status)
    assert media_file.url() is None
    assert media_file.url(inline=True, expires=60, filename="x.png") is None
    page = render('<img src="{% media_url f %}">|{% media_tag f class="x" %}|', f=media_file)
    assert page == '<img src="">||'


def test_no_file_renders_nothing():
    assert render("[{% media_url f %}][{% media_tag f alt='x' %}]", f=None) == "[][]"
    assert render("[{% media_url missing %}][{% media_tag missing %}]") == "[][]"


def test_a_link_is_signed_for_the_verified_object_as_an_attachment_by_default(settings):
    settings.CONTENT_UPLOAD_BUCKET = "media-bucket"
    media_file = record()
    url = media_file.url()
    assert urlsplit(url).path == f"/media-bucket/{media_file.key}"
    assert disposition(url) == 'attachment; filename="photo.png"'
    assert query(url)["X-Amz-Expires"] == "300"  # UPLOAD_DOWNLOAD_EXPIRES


@pytest.mark.parametrize(
    ("content_type", "filename", "shown"),
    [
        ("image/png", "a.png", True),
        ("image/webp", "a.webp", True),
        ("video/mp4", "a.mp4", True),
        ("audio/mpeg", "a.mp3", True),
        # Documents only where a field lists them in inline_types (below).
        ("application/pdf", "a.pdf", False),
        ("text/plain", "a.txt", False),
        ("image/svg+xml", "a.svg", False),  # an image that can carry script
        ("text/html", "a.html", False),
        ("application/xhtml+xml", "a.xhtml", False),
        ("text/csv", "a.csv", False),
        ("application/zip", "a.zip", False),
        ("application/octet-stream", "a.bin", False),
    ],
)
def test_inline_only_for_types_that_cant_run_script(content_type, filename, shown):
    media_file = record(content_type, filename)
    expected = "inline" if shown else "attachment"
    assert disposition(media_file.url(inline=True)) == f'{expected}; filename="{filename}"'
    assert disposition(media_file.url()) == f'attachment; filename="{filename}"'


@pytest.mark.parametrize(
    ("content_type", "filename", "shown"),
    [
        ("application/pdf", "a.pdf", True),  # Episode.script's inline_types
        ("text/plain", "a.txt", False),  # the field takes it, but as a download
    ],
)
def test_a_document_is_inline_only_where_its_field_says(content_type, filename, shown):
    media_file = record(content_type, filename)
    media_file.field = "demo.episode.script"
    expected = "inline" if shown else "attachment"
    assert disposition(media_file.url(inline=True)) == f'{expected}; filename="{filename}"'


@pytest.mark.parametrize(
    ("content_type", "served"),
    [
        ("text/plain", "text/plain; charset=utf-8"),
        ("Text/CSV", "text/csv; charset=utf-8"),
        ("image/png", None),  # S3 serves the stored type
        ("application/pdf", None),
        ("text/html", None),  # not in the type table: never served as anything but stored
    ],
)
def test_text_is_served_as_utf_8_whether_shown_or_downloaded(content_type, served):
    media_file = record(content_type, "notes")
    for url in (media_file.url(), media_file.url(inline=True)):
        assert query(url).get("response-content-type") == served


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.png", 'attachment; filename="report.png"'),
        ("résumé été.png", "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.png"),
        ('say "hi".png', 'attachment; filename="say \\"hi\\".png"'),
        ("report", 'attachment; filename="report.png"'),  # the type's extension added
        ("page.html", 'attachment; filename="page.png"'),  # no name misleads about the bytes
        ("../../etc/passwd", 'attachment; filename="passwd.png"'),  # no path
        ("a\r\nSet-Cookie: x.png", 'attachment; filename="aSet-Cookie: x.png"'),  # one header
    ],
)
def test_filename_names_the_download_quoted_with_the_types_extension(filename, expected):
    assert disposition(record().url(filename=filename)) == expected


def test_the_records_own_name_follows_the_extension_rule_too():
    assert disposition(record(filename="cat.html").url()) == 'attachment; filename="cat.png"'
    shown = record("video/mp4", "clip.mp4").url(inline=True, filename="vidéo")
    assert disposition(shown) == "inline; filename*=utf-8''vid%C3%A9o.mp4"


@pytest.mark.parametrize(
    ("expires", "seconds"),
    [
        (None, "300"),
        (600, "600"),
        (timedelta(hours=1), "3600"),
        (timedelta(seconds=1.5), "2"),
        ("900", "900"),  # from a template
        (7 * 24 * 3600, "604800"),
        (30 * 24 * 3600, "604800"),  # SigV4's 7 days at most
        (timedelta(days=365), "604800"),
    ],
)
def test_expires_defaults_and_is_capped_at_seven_days(expires, seconds):
    assert query(record().url(expires=expires))["X-Amz-Expires"] == seconds


def test_expires_is_capped_at_the_sites_maximum(settings):
    settings.UPLOAD_DOWNLOAD_MAX_EXPIRES = 3600
    assert query(record().url(expires=7200))["X-Amz-Expires"] == "3600"
    assert query(record().url(expires=60))["X-Amz-Expires"] == "60"
    settings.UPLOAD_DOWNLOAD_EXPIRES = 86400  # the default link obeys the maximum as well
    assert query(record().url())["X-Amz-Expires"] == "3600"
    settings.UPLOAD_DOWNLOAD_MAX_EXPIRES = 30 * 24 * 3600  # never past SigV4's limit
    assert query(record().url(expires=timedelta(days=30)))["X-Amz-Expires"] == "604800"


@pytest.mark.parametrize("expires", [0, -5, timedelta(0)])
def test_a_link_that_would_never_be_valid_is_refused(expires):
    with pytest.raises(ValueError, match="at least one second"):
        record().url(expires=expires)


@pytest.mark.functional
@pytest.mark.django_db
def test_the_link_serves_the_file_inline_or_as_a_named_download(user, bucket):
    image = completed(user, "image/png", "photo.png")
    shown = requests.get(str(image.url(inline=True)), timeout=10)
    assert shown.status_code == 200
    assert shown.headers["Content-Disposition"] == 'inline; filename="photo.png"'
    assert shown.content == bucket.read(image.key)
    saved = requests.get(str(image.url(filename="été.png")), timeout=10)
    assert saved.headers["Content-Disposition"] == "attachment; filename*=utf-8''%C3%A9t%C3%A9.png"


# ---------------------------------------------------------------- open()


def test_open_refuses_a_record_that_isnt_uploaded():
    pending = record(status=MediaFile.Status.PENDING)
    with pytest.raises(handles.FileNotUploaded, match=r"photo\.png is pending, not uploaded"):
        pending.open()
    with pytest.raises(ValueError, match="failed, not uploaded"):  # a ValueError, for callers
        record(status=MediaFile.Status.FAILED).open()


@pytest.mark.functional
@pytest.mark.django_db
def test_open_reads_the_whole_file(user, bucket):
    video = completed(user, "video/mp4", "clip.mp4", size=300 * 1024)
    with video.open() as stream:
        assert stream.readable() and stream.seekable() and not stream.writable()
        assert stream.read() == bucket.read(video.key)
        assert stream.read() == b""  # at the end
    assert stream.closed
    with pytest.raises(ValueError, match="closed file"):
        stream.read(1)


@pytest.mark.functional
@pytest.mark.django_db
def test_open_seeks_and_reads_ranges(user, bucket):
    body = bytes(range(256)) * 4000  # 1,024,000 bytes: more than one read-ahead
    media_file = stored(user, bucket, body, "application/octet-stream", "data.bin")
    with media_file.open() as stream:
        assert stream.read(10) == body[:10]
        assert stream.tell() == 10
        assert stream.seek(500_000) == 500_000
        assert stream.read(100) == body[500_000:500_100]
        assert stream.seek(-50, io.SEEK_CUR) == 500_050
        assert stream.read(10) == body[500_050:500_060]
        assert stream.seek(-16, io.SEEK_END) == len(body) - 16
        assert stream.read() == body[-16:]
        assert stream.seek(0, io.SEEK_END) == len(body) and stream.read(5) == b""
        assert stream.seek(len(body) + 10) == len(body) + 10 and stream.read() == b""
        stream.seek(1000)
        chunk = bytearray(300)
        assert stream.readinto(chunk) == 300 and bytes(chunk) == body[1000:1300]
        big = stream.read(600_000)  # larger than the read-ahead: read as asked
        assert big == body[1300:601_300]
        with pytest.raises(ValueError, match="negative seek position"):
            stream.seek(-1)


@pytest.mark.functional
@pytest.mark.django_db
def test_a_csv_reader_reads_it_through_a_text_wrapper(user, bucket):
    rows = [["id", "name", "city"]] + [[str(n), f"name {n}", "Zürich"] for n in range(5000)]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    media_file = stored(user, bucket, text.getvalue().encode(), "text/csv", "people.csv")
    with media_file.open() as stream, io.TextIOWrapper(stream, encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == rows


@pytest.mark.functional
@pytest.mark.django_db
def test_pillow_opens_an_image_from_the_stream(user, bucket):
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (640, 360), "teal").save(png, format="PNG")
    media_file = stored(user, bucket, png.getvalue(), "image/png", "teal.png")
    with media_file.open() as stream, Image.open(stream) as image:
        assert (image.format, image.size) == ("PNG", (640, 360))
        assert image.getpixel((10, 10)) == (0, 128, 128)


@pytest.fixture
def ranged_gets(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ranged GET the server makes (storage.read_range's arguments)."""
    calls: list[dict[str, Any]] = []
    real = storage.read_range

    def counting(**kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(storage, "read_range", counting)
    return calls


@pytest.mark.functional
@pytest.mark.django_db
def test_a_small_read_far_into_a_large_file_is_one_small_ranged_get(user, bucket, ranged_gets):
    body = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # 20 MiB
    media_file = stored(user, bucket, body, "application/octet-stream", "big.bin")
    with media_file.open() as stream:
        stream.seek(10_000_000)
        assert stream.read(100) == body[10_000_000:10_000_100]
        assert stream.read(100) == body[10_000_100:10_000_200]  # from the read-ahead
    assert len(ranged_gets) == 1
    (get,) = ranged_gets
    assert get["start"] == 10_000_000 and get["length"] <= handles.READ_AHEAD
    assert get["if_match"] == media_file.etag  # every read is of the verified version


@pytest.mark.functional
@pytest.mark.django_db
def test_a_large_read_is_one_get_of_its_size(user, bucket, ranged_gets):
    body = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    media_file = stored(user, bucket, body, "application/octet-stream", "big.bin")
    with media_file.open() as stream:
        assert stream.read() == body
    assert [(get["start"], get["length"]) for get in ranged_gets] == [(0, len(body))]


@pytest.mark.functional
@pytest.mark.django_db
def test_an_object_replaced_after_verification_is_not_read(user, bucket):
    image = completed(user, "image/png", "photo.png")
    bucket.put(image.key, media_bytes("image/png", 4096), "image/png")  # same key, other bytes
    with image.open() as stream, pytest.raises(storage.ObjectChanged):
        stream.read(10)


# ---------------------------------------------------------------- template tags


def test_media_url_takes_the_urls_arguments():
    media_file = record("video/mp4", "clip.mp4")
    url = render('{% media_url f inline=True expires=600 filename="été.mp4" %}', f=media_file)
    signed = query(url.replace("&amp;", "&"))  # escaped for HTML, as any text
    assert signed["response-content-disposition"] == "inline; filename*=utf-8''%C3%A9t%C3%A9.mp4"
    assert signed["X-Amz-Expires"] == "600"
    stored_url = render("{% media_url f as link %}<a href='{{ link }}'>", f=media_file)
    assert "response-content-disposition=attachment" in stored_url


def test_media_tag_renders_an_image_with_its_attributes_escaped():
    html = render(
        '{% media_tag f class="hero" alt=alt width=640 data_id=7 hidden=True %}',
        f=record(),
        alt='A "quote" <script>',
    )
    assert "<script>" not in html and 'alt="A &quot;quote&quot; &lt;script&gt;"' in html
    tag, attrs = element(html)
    assert tag == "img"
    src = attrs.pop("src")
    assert attrs == {
        "alt": 'A "quote" <script>',
        "class": "hero",
        "width": "640",
        "data-id": "7",
        "hidden": None,
    }
    assert disposition(src) == 'inline; filename="photo.png"'
    assert element(render("{% media_tag f %}", f=record()))[1]["alt"] == ""  # alt="" by default


def test_media_tag_refuses_what_is_no_attribute_name():
    from uploads.templatetags.uploads_tags import media_tag

    with pytest.raises(TemplateSyntaxError, match="no attribute name"):
        media_tag(record(), **{'x="y"><script': "z"})


def test_media_tag_renders_a_video_an_audio_and_a_download_link():
    html = render('{% media_tag f class="player" %}', f=record("video/mp4", "clip.mp4"))
    assert html.endswith("></video>")
    tag, attrs = element(html)
    assert tag == "video" and "poster" not in attrs  # no poster made yet
    assert disposition(attrs.pop("src")) == 'inline; filename="clip.mp4"'
    assert attrs == {"class": "player", "controls": None, "preload": "metadata"}
    muted = render(
        '{% media_tag f preload="none" controls=False muted=True %}', f=record("video/mp4")
    )
    assert {name for name in element(muted)[1]} == {"preload", "muted", "src"}

    html = render("{% media_tag f %}", f=record("audio/mpeg", "song.mp3"))
    assert html.endswith("></audio>")
    tag, attrs = element(html)
    assert tag == "audio" and disposition(attrs.pop("src")) == 'inline; filename="song.mp3"'
    assert attrs == {"controls": None, "preload": "metadata"}

    html = render('{% media_tag f class="doc" %}', f=record("application/pdf", "<b>notes</b>.pdf"))
    assert html.endswith(">&lt;b&gt;notes&lt;/b&gt;.pdf</a>")  # named after the file, escaped
    tag, attrs = element(html)
    assert tag == "a" and disposition(attrs.pop("href")).startswith("attachment;")
    assert attrs == {"class": "doc", "download": None}


@pytest.mark.functional
@pytest.mark.django_db
def test_media_tag_gives_a_video_the_poster_analysis_made(user, bucket):
    video = completed(user, "video/mp4", "clip.mp4")
    poster = media_bytes("image/webp", 2048)
    bucket.put(f"derived/{video.pk}/poster.webp", poster, "image/webp")
    video.derived = {"poster": f"derived/{video.pk}/poster.webp"}
    tag, attrs = element(render("{% media_tag f %}", f=video))
    assert tag == "video" and {"controls", "preload"} <= set(attrs)
    assert requests.get(str(attrs["poster"]), timeout=10).content == poster
    played = requests.get(str(attrs["src"]), timeout=10)
    assert played.headers["Content-Disposition"] == 'inline; filename="clip.mp4"'
    assert played.content == bucket.read(video.key)


# ---------------------------------------------------------------- the admin's column


def test_media_preview_is_a_list_display_column_for_any_model():
    column = media_preview("cover_image")
    assert getattr(column, "short_description", None) == "cover image"
    assert getattr(media_preview("video", description="Clip"), "short_description", None) == "Clip"
    tag, attrs = element(column(SimpleNamespace(cover_image=record())))
    assert tag == "img" and attrs["class"] == "media-thumb"
    assert column(SimpleNamespace(cover_image=None)) == "—"
    assert column(SimpleNamespace(cover_image=record(status=MediaFile.Status.PENDING))) == ""
    thumbnail = record("video/mp4", derived={"thumbnail": "derived/x/thumbnail.webp"})
    assert "derived/x/thumbnail.webp" in media_preview("video")(SimpleNamespace(video=thumbnail))


@pytest.mark.functional
@pytest.mark.django_db
def test_the_demo_lists_episodes_and_shows_with_previews(client, user, bucket):
    from mediaupload.demo.models import Episode, Show

    client.force_login(User.objects.create_superuser("staff", "s@example.com", "staff-password"))
    show = Show.objects.create(title="Tides", poster=completed(user, "image/png", "tides.png"))
    Episode.objects.create(show=show, title="One", video=completed(user, "video/mp4", "one.mp4"))
    episodes = client.get("/admin/demo/episode/").content.decode()
    assert '<video src="' in episodes and 'class="media-thumb"' in episodes
    assert "uploads/admin.css" in episodes
    shows = client.get("/admin/demo/show/").content.decode()
    assert '<img src="' in shows and 'class="media-thumb"' in shows
