"""`uploads.attach()`: a path, bytes or a file object stored with the server's credentials and
verified exactly as a browser upload is (on a moto server); refusals leave nothing stored."""

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

import uploads
from tests.support.media import media_bytes
from tests.support.s3 import Bucket
from tests.support.tls_server import (
    NAME,
    Answer,
    CertificateAuthority,
    Resolver,
    TLSServer,
    tls_server,
)
from uploads import attaching, storage
from uploads.attaching import AttachError, AttachFailed, AttachRefused
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
# The start of an MP4 (an `ftyp` box), enough for the content check; the rest may be anything.
MP4_HEADER = media_bytes("video/mp4", 64 * 1024)[:32]


def open_uploads(bucket: Bucket) -> list[str]:
    """The keys of the multipart uploads the bucket still holds parts for."""
    listing = bucket.client.list_multipart_uploads(Bucket=bucket.name)
    return [item["Key"] for item in listing.get("Uploads", [])]


def mp4_file(path: Path, size: int) -> Path:
    """Write an MP4 of `size` bytes: a real header, then zeros (a sparse file: cheap to make)."""
    with path.open("wb") as file:
        file.write(MP4_HEADER)
        file.truncate(size)
    return path


@pytest.fixture
def parts_sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the parts sent, and the most sent at once."""
    seen = {"parts": 0, "in_flight": 0, "most_at_once": 0}
    lock = threading.Lock()
    real = storage.upload_part

    def counting(**kwargs: Any) -> str:
        with lock:
            seen["parts"] += 1
            seen["in_flight"] += 1
            seen["most_at_once"] = max(seen["most_at_once"], seen["in_flight"])
        try:
            return real(**kwargs)
        finally:
            with lock:
                seen["in_flight"] -= 1

    monkeypatch.setattr(storage, "upload_part", counting)
    return seen


# ---------------------------------------------------------------- what is attached


def test_a_large_path_goes_up_in_parallel_parts_to_the_media_key(
    user: Any, bucket: Bucket, tmp_path: Path, parts_sent: dict[str, int], signals: list[Any]
) -> None:
    path = mp4_file(tmp_path / "lecture.mp4", 150 * 1000 * 1000)

    record = uploads.attach(path, owner=user, field="demo.episode.video")

    assert record.status == MediaFile.Status.UPLOADED
    assert (record.filename, record.content_type, record.size) == (
        "lecture.mp4",
        "video/mp4",
        150_000_000,
    )
    assert record.is_multipart and record.part_size == 16 * MiB
    assert parts_sent["parts"] == 9  # 150 MB in 16 MiB parts
    assert parts_sent["most_at_once"] > 1  # sent in parallel
    assert bucket.keys() == [record.key]  # straight to the media key: nothing to promote
    assert open_uploads(bucket) == []
    head = bucket.client.head_object(Bucket=bucket.name, Key=record.key)
    assert (head["ContentLength"], head["ContentType"]) == (150_000_000, "video/mp4")
    tail = bucket.client.get_object(Bucket=bucket.name, Key=record.key, Range="bytes=-16")
    assert tail["Body"].read() == bytes(16)
    assert signals == [(str(record.pk), "attach")]


def test_bytes_are_put_to_scratch_checked_and_promoted(
    user: Any, bucket: Bucket, parts_sent: dict[str, int]
) -> None:
    body = media_bytes("image/png", 2048)

    record = uploads.attach(body, owner=user, filename="cover.png")

    assert record.status == MediaFile.Status.UPLOADED
    assert (record.filename, record.content_type, record.size) == ("cover.png", "image/png", 2048)
    assert not record.is_multipart and parts_sent["parts"] == 0
    assert bucket.keys() == [record.key]  # the media key; the scratch copy is gone
    assert bucket.read(record.key) == body
    assert record.etag == hashlib.md5(body, usedforsecurity=False).hexdigest()


def test_a_file_object_is_read_from_where_it_stands(user: Any, bucket: Bucket) -> None:
    body = media_bytes("audio/mpeg", 4096)
    file = io.BytesIO(b"junk before" + body)
    file.seek(len(b"junk before"))

    record = uploads.attach(file, owner=user, content_type="audio/mpeg")

    assert record.status == MediaFile.Status.UPLOADED
    assert record.filename == "file.mp3"  # no name given or found: "file" and the type's extension
    assert bucket.read(record.key) == body


def test_a_stream_of_unknown_length_is_spooled_first(user: Any, bucket: Bucket) -> None:
    body = media_bytes("video/webm", 3 * MiB)
    reader, writer = os.pipe()

    def write() -> None:
        with open(writer, "wb") as pipe:
            pipe.write(body)

    threading.Thread(target=write, daemon=True).start()
    with open(reader, "rb") as pipe:
        record = uploads.attach(pipe, owner=user, filename="talk.webm")

    assert (record.status, record.size) == (MediaFile.Status.UPLOADED, len(body))
    assert bucket.read(record.key) == body


def test_a_stream_past_the_limit_is_refused_while_spooling(
    user: Any, bucket: Bucket, settings: Any
) -> None:
    settings.UPLOAD_MAX_BYTES = 1 * MiB
    reader, writer = os.pipe()

    def write() -> None:
        with open(writer, "wb") as pipe, pytest.raises(BrokenPipeError):
            pipe.write(MP4_HEADER + bytes(4 * MiB))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    with open(reader, "rb") as pipe, pytest.raises(AttachRefused, match="larger than 1"):
        uploads.attach(pipe, owner=user, filename="big.mp4")
    thread.join(timeout=10)

    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


def test_the_type_comes_from_the_name_when_not_given(user: Any, bucket: Bucket) -> None:
    record = uploads.attach(media_bytes("image/jpeg", 1024), owner=user, filename="photo.JPG")
    assert record.content_type == "image/jpeg"

    with pytest.raises(AttachRefused, match="content_type="):
        uploads.attach(b"\x00" * 10, owner=user, filename="mystery")
    assert MediaFile.objects.count() == 1


# ---------------------------------------------------------------- what is refused


def test_a_spoofed_type_fails_with_its_reason_and_leaves_no_object(
    user: Any, bucket: Bucket
) -> None:
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"

    with pytest.raises(AttachFailed, match="not image/png") as refused:
        uploads.attach(html, owner=user, filename="cat.png", content_type="image/png")

    record = MediaFile.objects.get()
    assert refused.value.media_file == record
    assert record.status == MediaFile.Status.FAILED
    assert "not image/png" in record.failure_reason
    assert bucket.keys() == []


def test_the_site_and_field_limits_apply_before_anything_is_stored(
    user: Any, bucket: Bucket, settings: Any
) -> None:
    with pytest.raises(AttachRefused, match="text/html are not accepted"):
        uploads.attach(b"<p>hi</p>", owner=user, filename="page.html")
    with pytest.raises(AttachRefused, match="not accepted here"):
        uploads.attach(
            media_bytes("image/png", 100), owner=user, field="demo.episode.video", filename="a.png"
        )
    with pytest.raises(AttachRefused, match="No upload field"):
        uploads.attach(media_bytes("image/png", 100), owner=user, field="demo.nothing.here")
    with pytest.raises(AttachRefused, match="empty"):
        uploads.attach(b"", owner=user, content_type="image/png")
    with pytest.raises(AttachRefused, match="Cannot read"):
        uploads.attach(Path("/nonexistent/clip.mp4"), owner=user)
    with pytest.raises(TypeError, match="path, a file object, bytes or an https URL"):
        uploads.attach(42, owner=user)

    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


def test_the_owners_quota_applies_unless_ignored(user: Any, bucket: Bucket, settings: Any) -> None:
    settings.UPLOAD_USER_QUOTA_BYTES = 1000
    body = media_bytes("image/png", 2000)

    with pytest.raises(AttachRefused, match="only 1000"):
        uploads.attach(body, owner=user, filename="a.png")
    assert not MediaFile.objects.exists()

    record = uploads.attach(body, owner=user, filename="a.png", ignore_quota=True)
    assert record.status == MediaFile.Status.UPLOADED


def test_a_storage_failure_midway_aborts_the_record_and_its_parts(
    user: Any, bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = storage.upload_part

    def failing(**kwargs: Any) -> str:
        if kwargs["part_number"] == 3:
            raise storage.StorageUnavailable("UploadPart: the connection was reset")
        return real(**kwargs)

    monkeypatch.setattr(storage, "upload_part", failing)
    path = mp4_file(tmp_path / "clip.mp4", 80 * MiB)

    with pytest.raises(AttachError, match="connection was reset"):
        uploads.attach(path, owner=user)

    assert MediaFile.objects.get().status == MediaFile.Status.ABORTED
    assert bucket.keys() == [] and open_uploads(bucket) == []


# ---------------------------------------------------------------- from a URL


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[TLSServer]:
    """An HTTPS server on loopback under the name media.test (intranet.test points at a private
    address), with a test CA trusted, reachable through UPLOAD_ATTACH_ALLOWED_NETWORKS."""
    ca = CertificateAuthority()
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    resolver = Resolver(socket.getaddrinfo)
    resolver.names = {NAME: ["127.0.0.1"], "intranet.test": ["10.1.2.3"]}
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with tls_server(ca, (NAME, "intranet.test")) as server:
        settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.UPLOAD_ATTACH_ALLOWED_PORTS = [443, server.port]
        yield server


def test_a_url_is_fetched_checked_and_stored(user: Any, bucket: Bucket, site: TLSServer) -> None:
    server = site
    body = media_bytes("video/webm", 200 * 1024)
    server.answers["/promo.webm"] = Answer(body=body, headers={"Content-Type": "video/webm"})

    record = uploads.attach(server.url("/promo.webm?token=secret"), owner=user)

    assert (record.status, record.filename, record.content_type) == (
        MediaFile.Status.UPLOADED,
        "promo.webm",
        "video/webm",
    )
    assert bucket.read(record.key) == body


def test_a_url_that_breaks_the_rules_stores_nothing(
    user: Any, bucket: Bucket, site: TLSServer, settings: Any
) -> None:
    server = site
    server.answers["/loop"] = Answer(status=302, headers={"Location": "/loop"})
    server.answers["/inside"] = Answer(
        status=302, headers={"Location": server.url("/x.png", host="intranet.test")}
    )
    server.answers["/huge.mp4"] = Answer(body=MP4_HEADER + bytes(2 * MiB), framing="chunked")
    settings.UPLOAD_MAX_BYTES = 1 * MiB

    with pytest.raises(AttachRefused, match=r"10\.1\.2\.3 is not public"):
        uploads.attach(server.url("/x.png", host="intranet.test"), owner=user)
    with pytest.raises(AttachRefused, match=r"10\.1\.2\.3 is not public"):
        uploads.attach(server.url("/inside"), owner=user)
    with pytest.raises(AttachRefused, match="redirect"):
        uploads.attach(server.url("/loop"), owner=user)
    with pytest.raises(AttachRefused, match="more than 1048576 bytes"):
        uploads.attach(server.url("/huge.mp4"), owner=user)
    with pytest.raises(AttachRefused, match="https"):
        uploads.attach(f"http://{NAME}:{server.port}/x.png", owner=user)

    assert "/x.png" not in server.paths()  # the private address was never asked
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


# ---------------------------------------------------------------- the command and the package


def test_the_attach_file_command_prints_the_record(
    user: Any, bucket: Bucket, tmp_path: Path
) -> None:
    path = tmp_path / "still.png"
    path.write_bytes(media_bytes("image/png", 512))
    out = io.StringIO()

    call_command("attach_file", str(path), owner=user.username, stdout=out)

    record = MediaFile.objects.get()
    assert out.getvalue() == f"{record.pk} uploaded still.png (512\xa0bytes)\n"
    with pytest.raises(CommandError, match="No user is named 'nobody'"):
        call_command("attach_file", str(path), owner="nobody")
    with pytest.raises(CommandError, match="contents are not video/mp4"):
        call_command("attach_file", str(path), owner=user.username, content_type="video/mp4")


def test_the_attach_file_command_reads_standard_input(
    user: Any, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = media_bytes("image/gif", 300)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))

    call_command("attach_file", "-", owner=user.username, filename="anim.gif", stdout=io.StringIO())

    assert bucket.read(MediaFile.objects.get().key) == body


def test_import_uploads_loads_no_django_until_attach_is_asked_for() -> None:
    code = (
        "import sys, uploads\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
        "print(uploads.__all__)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert completed.stdout.splitlines() == ["[]", "['attach']"]
    assert uploads.attach is attaching.attach
    with pytest.raises(AttributeError):
        uploads.detach  # noqa: B018 - only `attach` is lazily given
