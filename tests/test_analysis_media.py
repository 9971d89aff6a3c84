"""Media analysis with the real tools: ffprobe and ffmpeg behind the range proxy, reading files
made here with ffmpeg from a loopback range server that counts what it sends and records every
path asked of it."""

import http.client
import io
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageStat

from tests.conftest import skip_or_fail
from tests.support.range_server import RangeServer, range_server
from uploads.analysis import ffmpeg, matroska
from uploads.analysis import tools as ffmpeg_tools
from uploads.analysis.proxy import RangeProxy
from uploads.analysis.reasons import AnalysisFailed
from uploads.analysis.tools import Limits

LIMITS = Limits(timeout=20, memory_bytes=2 * 1024**3)
FULL_READ_MAX = 100 * 1024**2

VIDEO_KEYS = {
    "kind",
    "container",
    "width",
    "height",
    "rotation",
    "display_aspect_ratio",
    "duration",
    "duration_source",
    "frame_rate",
    "video_codec",
    "audio_codec",
    "has_audio",
    "bit_rate",
}
AUDIO_KEYS = {
    "kind",
    "container",
    "duration",
    "duration_source",
    "codec",
    "sample_rate",
    "channels",
    "bit_rate",
}

# Ten seconds of picture and tone; the picture is black for its first second.
PATTERN = "testsrc2=s=640x360:d=10:r=25"
TONE = "sine=f=440:d=10"
BLACK_FIRST_SECOND = "drawbox=enable='lt(t,1)':color=black:t=fill"
FIRST_FRAME_AS_PNG = ("-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1")


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    """Skip (fail under CI) without ffmpeg and ffprobe."""
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg/ffprobe are missing (apt-get install ffmpeg)")


@pytest.fixture(scope="module")
def server() -> Iterator[RangeServer]:
    with range_server() as running:
        yield running


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def make(path: Path, *args: str) -> Path:
    """Write a file with ffmpeg (its output last) and return its path."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args, str(path)],
        check=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return path


def make_piped(path: Path, *args: str) -> Path:
    """Write a file with ffmpeg through a pipe: the muxer cannot go back to write a duration."""
    with path.open("wb") as output:
        subprocess.run(
            ["ffmpeg", "-v", "error", *args, "pipe:1"],
            check=True,
            timeout=60,
            stdout=output,
            stdin=subprocess.DEVNULL,
        )
    return path


@pytest.fixture(scope="module")
def mp4(media: Path) -> Path:
    """H.264 and AAC, 640x360, 10 s, black for the first second; moov first."""
    return make(
        media / "clip.mp4",
        *("-f", "lavfi", "-i", PATTERN, "-f", "lavfi", "-i", TONE),
        *("-vf", BLACK_FIRST_SECOND, "-c:v", "libx264", "-preset", "ultrafast"),
        *("-c:a", "aac", "-movflags", "+faststart"),
    )


@pytest.fixture(scope="module")
def large_mp4(media: Path) -> Path:
    """About 50 MB of H.264 (noise costs bits), ffmpeg's default layout: moov after the media."""
    return make(
        media / "large.mp4",
        *("-f", "lavfi", "-i", PATTERN, "-f", "lavfi", "-i", TONE),
        *("-vf", "noise=alls=40:allf=t", "-c:v", "libx264", "-preset", "ultrafast"),
        *("-qp", "20", "-c:a", "aac"),
    )


@pytest.fixture(scope="module")
def live_webm(media: Path) -> Path:
    """VP8 and Opus WebM written to a pipe, as MediaRecorder writes it: no duration, no cues."""
    return make_piped(
        media / "live.webm",
        *("-f", "lavfi", "-i", "testsrc2=s=320x180:d=10:r=10", "-f", "lavfi", "-i", TONE),
        *("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"),
        *("-c:a", "libopus", "-f", "webm"),
    )


@pytest.fixture(scope="module")
def live_mkv(media: Path) -> Path:
    """A Matroska file without a duration, several times the tail read for one."""
    return make_piped(
        media / "live.mkv",
        *("-f", "lavfi", "-i", PATTERN, "-f", "lavfi", "-i", TONE),
        *("-vf", "noise=alls=20:allf=t", "-c:v", "libx264", "-preset", "ultrafast"),
        *("-qp", "30", "-c:a", "libopus", "-f", "matroska"),
    )


@pytest.fixture(scope="module")
def mp3(media: Path) -> Path:
    return make(
        media / "tone.mp3",
        *("-f", "lavfi", "-i", "sine=f=440:d=5", "-c:a", "libmp3lame", "-b:a", "128k"),
    )


@pytest.fixture(scope="module")
def portrait_mp4(media: Path) -> Path:
    """A 640x360 picture, white on its left half, that a phone's matrix turns 90° clockwise."""
    path = make(
        media / "portrait.mp4",
        *("-f", "lavfi", "-i", "color=black:s=640x360:d=1:r=25"),
        *("-vf", "drawbox=x=0:y=0:w=320:h=360:color=white:t=fill"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    )
    set_track_matrix(path, (0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30))
    return path


def set_track_matrix(path: Path, matrix: tuple[int, ...]) -> None:
    """Write the display matrix of the (only) track's tkhd box, as a phone does."""
    data = bytearray(path.read_bytes())
    box = data.index(b"tkhd")
    version = data[box + 4]
    # After version and flags: times and track id (20 or 32 bytes), then 8 reserved, layer,
    # alternate group, volume and 2 reserved bytes.
    offset = box + 8 + (32 if version == 1 else 20) + 8 + 8
    data[offset : offset + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


def lossless(media: Path, name: str, codec: str) -> Path:
    """One second of a lossless codec no allowed list holds."""
    return make(media / name, "-f", "lavfi", "-i", "testsrc2=s=160x120:d=1:r=5", "-c:v", codec)


@pytest.fixture(scope="module")
def audio_only_mp4(media: Path, mp4: Path) -> Path:
    return make(media / "audio-only.mp4", "-i", str(mp4), "-vn", "-c", "copy")


@contextmanager
def proxied(server: RangeServer, file: Path) -> Iterator[RangeProxy]:
    """Serve a file and a proxy in front of it, the server's counts reset."""
    url = server.serve(f"/{file.name}", file)
    server.reset()
    with RangeProxy(url) as proxy:
        yield proxy


def probe(
    server: RangeServer,
    file: Path,
    content_type: str,
    *,
    limits: Limits = LIMITS,
    full_read_max: int = FULL_READ_MAX,
) -> tuple[dict[str, Any], RangeProxy]:
    """Probe a served file through a proxy; return the metadata and the (finished) proxy."""
    with proxied(server, file) as proxy:
        metadata = ffmpeg.probe(
            proxy.local_url,
            content_type=content_type,
            size=file.stat().st_size,
            limits=limits,
            full_read_max=full_read_max,
        )
    return metadata, proxy


def poster(
    server: RangeServer,
    file: Path,
    content_type: str,
    *,
    max_side: int = 320,
    image_format: str = "webp",
) -> bytes:
    """Draw a served file's poster through a proxy."""
    with proxied(server, file) as proxy:
        return ffmpeg.poster(
            proxy.local_url,
            content_type=content_type,
            limits=LIMITS,
            max_side=max_side,
            image_format=image_format,
        )


def header_duration(file: Path) -> float | None:
    """Return the duration ffprobe reads from a file's header (None without one)."""
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return None if output in ("", "N/A") else float(output)


def top_level_boxes(path: Path) -> list[str]:
    """Return the types of an ISO BMFF file's top-level boxes, in order."""
    boxes = []
    with path.open("rb") as file:
        while header := file.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", file.read(8))[0] - 8
            boxes.append(kind.decode("latin-1"))
            file.seek(size - 8, io.SEEK_CUR)
    return boxes


def luma(image: bytes) -> float:
    return float(ImageStat.Stat(Image.open(io.BytesIO(image)).convert("L")).mean[0])


# ---------------------------------------------------------------------------------- probe


def test_mp4_metadata(server: RangeServer, mp4: Path) -> None:
    metadata, _ = probe(server, mp4, "video/mp4")

    assert set(metadata) == VIDEO_KEYS
    assert metadata["duration"] == pytest.approx(10.0, abs=0.1)
    assert {key: value for key, value in metadata.items() if key != "duration"} == {
        "kind": "video",
        "container": "mov",
        "width": 640,
        "height": 360,
        "rotation": 0,
        "display_aspect_ratio": "16:9",
        "duration_source": "header",
        "frame_rate": 25.0,
        "video_codec": "h264",
        "audio_codec": "aac",
        "has_audio": True,
        "bit_rate": metadata["bit_rate"],
    }
    assert isinstance(metadata["bit_rate"], int)
    assert metadata["bit_rate"] > 0


def test_moov_at_the_end_is_probed_from_a_few_ranges(server: RangeServer, large_mp4: Path) -> None:
    assert top_level_boxes(large_mp4)[-2:] == ["mdat", "moov"], "the index should come last"
    size = large_mp4.stat().st_size

    metadata, proxy = probe(server, large_mp4, "video/mp4")

    assert metadata["duration"] == pytest.approx(10.0, abs=0.1)
    assert size > 30 * 1024**2
    assert proxy.bytes_read < 0.05 * size
    assert server.bytes_sent < 0.05 * size, (server.bytes_sent, size, server.ranges)


def test_duration_less_webm_is_timed_from_its_tail(server: RangeServer, live_webm: Path) -> None:
    assert header_duration(live_webm) is None

    metadata, _ = probe(server, live_webm, "video/webm")

    assert metadata["duration_source"] == "tail"
    assert metadata["duration"] == pytest.approx(10.0, abs=0.1)
    assert metadata["container"] == "matroska"
    assert (metadata["video_codec"], metadata["audio_codec"]) == ("vp8", "opus")
    assert metadata["bit_rate"] > 0  # Worked out from the size and the duration found.


def test_a_large_duration_less_file_is_read_at_its_tail_only(
    server: RangeServer, live_mkv: Path
) -> None:
    size = live_mkv.stat().st_size
    assert header_duration(live_mkv) is None
    assert size > 2 * matroska.TAIL_BYTES

    metadata, proxy = probe(server, live_mkv, "video/x-matroska")

    assert metadata["duration_source"] == "tail"
    assert metadata["duration"] == pytest.approx(10.0, abs=0.1)
    # The tail, the header, and what the first probe took: the first frames and buffers.
    assert proxy.bytes_read < matroska.TAIL_BYTES + 3 * 1024**2 < size


def test_without_a_usable_tail_a_small_file_is_read_whole(
    server: RangeServer, live_mkv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No tail, no cluster in it.
    monkeypatch.setattr(matroska, "TAIL_BYTES", 0)
    size = live_mkv.stat().st_size

    metadata, proxy = probe(server, live_mkv, "video/x-matroska", full_read_max=size)
    assert metadata["duration_source"] == "full_read"
    assert metadata["duration"] == pytest.approx(10.0, abs=0.1)
    assert proxy.bytes_read >= size

    metadata, _ = probe(server, live_mkv, "video/x-matroska", full_read_max=size - 1)
    assert (metadata["duration"], metadata["duration_source"]) == (None, None)


def test_mp3_metadata(server: RangeServer, mp3: Path) -> None:
    metadata, _ = probe(server, mp3, "audio/mpeg")

    assert set(metadata) == AUDIO_KEYS
    assert metadata["duration"] == pytest.approx(5.0, abs=0.1)
    assert metadata == {
        "kind": "audio",
        "container": "mp3",
        "duration": metadata["duration"],
        "duration_source": "header",
        "codec": "mp3",
        "sample_rate": 44100,
        "channels": 1,
        "bit_rate": pytest.approx(128000, rel=0.05),
    }


def test_audio_of_a_video_file_as_audio(server: RangeServer, mp4: Path) -> None:
    metadata, _ = probe(server, mp4, "audio/mp4")

    assert (metadata["kind"], metadata["codec"], metadata["channels"]) == ("audio", "aac", 1)


def test_rotation_turns_the_dimensions(server: RangeServer, portrait_mp4: Path) -> None:
    metadata, _ = probe(server, portrait_mp4, "video/mp4")

    assert metadata["rotation"] == 90
    assert (metadata["width"], metadata["height"]) == (360, 640)
    assert metadata["display_aspect_ratio"] == "9:16"


@pytest.mark.parametrize(
    ("name", "codec", "content_type"),
    [("ffv1.mkv", "ffv1", "video/x-matroska"), ("huffyuv.avi", "huffyuv", "video/x-msvideo")],
)
def test_codec_outside_the_allowed_list(
    server: RangeServer, media: Path, name: str, codec: str, content_type: str
) -> None:
    file = lossless(media, name, codec)

    with pytest.raises(AnalysisFailed) as failure:
        probe(server, file, content_type)

    assert failure.value.reason == "unsupported_format"


def test_a_video_type_without_video(server: RangeServer, audio_only_mp4: Path) -> None:
    with pytest.raises(AnalysisFailed) as failure:
        probe(server, audio_only_mp4, "video/mp4")
    assert failure.value.reason == "no_stream"


def test_a_file_of_another_container_is_unreadable(server: RangeServer, mp4: Path) -> None:
    with pytest.raises(AnalysisFailed) as failure:
        probe(server, mp4, "video/webm")
    assert failure.value.reason == "unreadable"


def test_images_are_not_probed() -> None:
    with pytest.raises(AnalysisFailed) as failure:
        ffmpeg.probe(
            "http://127.0.0.1:9/object",
            content_type="image/png",
            size=1,
            limits=LIMITS,
            full_read_max=0,
        )
    assert failure.value.reason == "unsupported_format"


# ---------------------------------------------------------------------------------- poster


def test_poster_is_the_first_bright_frame(server: RangeServer, mp4: Path) -> None:
    first_frame = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp4), *FIRST_FRAME_AS_PNG],
        check=True,
        capture_output=True,
    ).stdout
    assert luma(first_frame) < 20, "the clip should open on black"

    image = poster(server, mp4, "video/mp4")

    assert Image.open(io.BytesIO(image)).format == "WEBP"
    assert Image.open(io.BytesIO(image)).size == (320, 180)
    assert luma(image) > 60


def test_poster_in_jpeg_is_never_enlarged(server: RangeServer, mp4: Path) -> None:
    image = poster(server, mp4, "video/mp4", image_format="jpeg", max_side=4000)

    assert Image.open(io.BytesIO(image)).format == "JPEG"
    assert Image.open(io.BytesIO(image)).size == (640, 360)


def test_poster_of_a_dark_video_is_its_first_frame(server: RangeServer, media: Path) -> None:
    dark = make(
        media / "dark.webm",
        *("-f", "lavfi", "-i", "color=0x101010:s=64x48:d=1:r=5", "-c:v", "libvpx"),
    )

    image = poster(server, dark, "video/webm")

    assert Image.open(io.BytesIO(image)).size == (64, 48)
    assert luma(image) < 32


def test_poster_is_turned_for_display(server: RangeServer, portrait_mp4: Path) -> None:
    image = Image.open(io.BytesIO(poster(server, portrait_mp4, "video/mp4"))).convert("L")

    assert image.size == (180, 320)
    # Turned clockwise, the picture's white left half is on top.
    assert image.getpixel((90, 40)) > 200  # type: ignore[operator]
    assert image.getpixel((90, 280)) < 50  # type: ignore[operator]


# ---------------------------------------------------------------------------------- hostile files


def hostile_files(media: Path, other_url: str) -> dict[str, Path]:
    """Text that other demuxers would follow to another URL: HLS, ffconcat, ID3-tagged HLS."""
    playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{other_url}\n#EXT-X-ENDLIST\n".encode()
    )
    id3_tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)
    files = {
        "hls": playlist,
        "ffconcat": f"ffconcat version 1.0\nfile {other_url}\n".encode(),
        "id3-hls": id3_tag + playlist,
    }
    for name, content in files.items():
        (media / name).write_bytes(content)
    return {name: media / name for name in files}


@pytest.fixture(scope="module")
def bait(server: RangeServer, mp4: Path, media: Path) -> dict[str, Path]:
    """The hostile files, pointing at a real video the server holds at /other.ts."""
    other_url = server.serve("/other.ts", mp4)
    return hostile_files(media, other_url)


def test_the_bait_works_on_an_unhardened_ffprobe(
    server: RangeServer, bait: dict[str, Path]
) -> None:
    url = server.serve("/plain-hls", bait["hls"])
    server.reset()

    subprocess.run(["ffprobe", "-v", "quiet", url], timeout=20, check=False)

    assert "/other.ts" in server.paths


@pytest.mark.parametrize("name", ["hls", "ffconcat", "id3-hls"])
@pytest.mark.parametrize("content_type", ["video/mp4", "audio/mpeg"])
def test_hostile_files_open_nothing_else(
    server: RangeServer, bait: dict[str, Path], name: str, content_type: str
) -> None:
    file = bait[name]

    with proxied(server, file) as proxy:
        with pytest.raises(AnalysisFailed) as failure:
            ffmpeg.probe(
                proxy.local_url,
                content_type=content_type,
                size=file.stat().st_size,
                limits=LIMITS,
                full_read_max=FULL_READ_MAX,
            )
        if content_type.startswith("video/"):
            with pytest.raises(AnalysisFailed):
                ffmpeg.poster(
                    proxy.local_url,
                    content_type=content_type,
                    limits=LIMITS,
                    max_side=320,
                    image_format="webp",
                )

    assert failure.value.reason in {"unreadable", "unsupported_format", "no_stream"}
    assert proxy.refused == []
    assert set(server.paths) == {f"/{file.name}"}


# ---------------------------------------------------------------------------------- failures


def test_a_storage_error_is_storage(server: RangeServer, mp4: Path) -> None:
    server.statuses["/forbidden.mp4"] = 403
    url = server.serve("/forbidden.mp4", mp4)

    with RangeProxy(url) as proxy, pytest.raises(AnalysisFailed) as failure:
        ffmpeg.probe(
            proxy.local_url, content_type="video/mp4", size=1, limits=LIMITS, full_read_max=0
        )

    assert failure.value.reason == "storage"
    assert failure.value.transient


def test_a_stalled_store_times_out(server: RangeServer, mp4: Path) -> None:
    server.stalled.add("/stalled.mp4")
    url = server.serve("/stalled.mp4", mp4)
    limits = Limits(timeout=0.5, memory_bytes=LIMITS.memory_bytes)
    started = time.monotonic()

    with RangeProxy(url) as proxy, pytest.raises(AnalysisFailed) as failure:
        ffmpeg.probe(
            proxy.local_url, content_type="video/mp4", size=1, limits=limits, full_read_max=0
        )

    assert failure.value.reason == "timeout"
    assert time.monotonic() - started < limits.timeout + 2


def test_too_little_memory_is_memory(server: RangeServer, mp4: Path) -> None:
    limits = Limits(timeout=20, memory_bytes=64 * 1024**2)

    with pytest.raises(AnalysisFailed) as failure:
        probe(server, mp4, "video/mp4", limits=limits)

    assert failure.value.reason == "memory"


def test_a_missing_tool(server: RangeServer, mp4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ffmpeg_tools, "FFPROBE", "ffprobe-not-installed")

    with pytest.raises(AnalysisFailed) as failure:
        probe(server, mp4, "video/mp4")

    assert failure.value.reason == "tool_missing"


def test_failures_never_show_the_url(server: RangeServer, mp4: Path) -> None:
    server.statuses["/secret.mp4"] = 500
    url = server.serve("/secret.mp4", mp4) + "?X-Amz-Signature=sekrit"

    with RangeProxy(url) as proxy, pytest.raises(AnalysisFailed) as failure:
        ffmpeg.probe(
            proxy.local_url, content_type="video/mp4", size=1, limits=LIMITS, full_read_max=0
        )

    assert failure.value.reason == "storage"
    assert "sekrit" not in str(failure.value)
    assert "127.0.0.1" not in str(failure.value)


# ---------------------------------------------------------------------------------- the proxy


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return the status, the headers and the body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, parts.path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_proxy_forwards_a_range(server: RangeServer, mp4: Path) -> None:
    data = mp4.read_bytes()

    with proxied(server, mp4) as proxy:
        status, headers, body = fetch(proxy.local_url, headers={"Range": "bytes=10-19"})

    assert (status, body) == (206, data[10:20])
    assert headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert headers["Content-Length"] == "10"
    assert headers["Accept-Ranges"] == "bytes"
    assert server.ranges == ["bytes=10-19"]
    assert (proxy.requests, proxy.bytes_read) == (1, 10)


def test_proxy_answers_head_without_a_body(server: RangeServer, mp4: Path) -> None:
    with proxied(server, mp4) as proxy:
        status, headers, body = fetch(proxy.local_url, method="HEAD")

    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(mp4.stat().st_size)
    assert proxy.bytes_read == 0


def test_proxy_serves_no_other_path(server: RangeServer, mp4: Path) -> None:
    with proxied(server, mp4) as proxy:
        answers = [fetch(proxy.local_url.replace("/object", path))[0] for path in ("/x", "/")]

    assert answers == [404, 404]
    assert proxy.refused == ["/x", "/"]
    assert (proxy.requests, server.paths) == (0, [])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
def test_proxy_refuses_other_methods(server: RangeServer, mp4: Path, method: str) -> None:
    with proxied(server, mp4) as proxy:
        status, _, _ = fetch(proxy.local_url, method=method)

    assert status == 405
    assert server.paths == []


def test_proxy_follows_no_redirect(server: RangeServer, mp4: Path) -> None:
    server.statuses["/moved.mp4"] = 302
    url = server.serve("/moved.mp4", mp4)

    with RangeProxy(url) as proxy:
        status, headers, _ = fetch(proxy.local_url)

    assert status == 502
    assert "Location" not in headers
    assert server.paths == ["/moved.mp4"]


def test_proxy_hides_an_error_body(server: RangeServer, mp4: Path) -> None:
    server.statuses["/denied.mp4"] = 403
    url = server.serve("/denied.mp4", mp4)

    with RangeProxy(url) as proxy:
        status, _, body = fetch(proxy.local_url)

    assert (status, body) == (403, b"")


def test_an_abandoned_answer_stops_reading(server: RangeServer, large_mp4: Path) -> None:
    size = large_mp4.stat().st_size

    with proxied(server, large_mp4) as proxy:
        reader = socket.create_connection(("127.0.0.1", urlsplit(proxy.local_url).port or 80))
        reader.sendall(b"GET /object HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n")
        assert reader.recv(65536)
        reader.close()
        time.sleep(0.3)
        settled = proxy.bytes_read
        time.sleep(0.2)

        assert proxy.bytes_read == settled
    assert settled < 2 * 1024**2 < size
    assert server.bytes_sent < 3 * 1024**2
