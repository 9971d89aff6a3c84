"""Analysis as background work: real files uploaded through the API, a real `db_worker` process,
the moto S3 server; bytes read counted at the server; a worker killed mid-task."""

import io
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from tests.support import clips, worker
from tests.support.http_server import serving
from tests.support.relay import relaying
from tests.support.s3 import Bucket, post_to_s3
from tests.support.uploads import declare, sent_record
from uploads import sweeps, tasks
from uploads.analysis import run
from uploads.models import MediaFile
from uploads.rest import MediaFileRelatedField
from uploads.signals import media_analyzed
from uploads.testing import uploaded_media_file

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    """These tests make their media with Debian's ffmpeg."""
    if clips.missing():
        pytest.skip("ffmpeg is not installed")


def upload(api: Any, path: Path, content_type: str) -> MediaFile:
    """Upload a file as a client does (declare, POST, complete) and return its record."""
    body = path.read_bytes()
    created = declare(api, body, filename=path.name, content_type=content_type)
    assert post_to_s3(created["upload"], body, content_type=content_type).status_code == 204
    response = api.post(f"/api/media/{created['id']}/complete/")
    assert response.status_code == 200, response.content
    return MediaFile.objects.get(pk=created["id"])


def picture(bucket: Bucket, key: str) -> Image.Image:
    """Decode a derived file from the bucket."""
    image = Image.open(io.BytesIO(bucket.read(key)))
    image.load()
    return image


def brightness(image: Image.Image) -> float:
    """Mean luma, 0 (black) to 255."""
    grey = image.convert("L")
    return sum(grey.tobytes()) / (grey.width * grey.height)


def rotated_jpeg(path: Path) -> Path:
    """A 640x480 JPEG whose EXIF says: turn 90° clockwise to display (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (640, 480), (200, 40, 40)).save(path, "JPEG", exif=exif)
    return path


def test_the_worker_analyses_video_audio_and_images(
    api: Any, bucket: Bucket, tmp_path: Path
) -> None:
    """Each kind ends with exact metadata and a poster or thumbnail that exists and decodes."""
    mp4 = upload(api, clips.mp4(tmp_path / "clip.mp4"), "video/mp4")
    webm = upload(api, clips.webm_without_duration(tmp_path / "rec.webm"), "video/webm")
    mp3 = upload(api, clips.mp3(tmp_path / "tone.mp3"), "audio/mpeg")
    png_path = tmp_path / "still.png"
    Image.new("RGB", (800, 600), (10, 120, 200)).save(png_path)
    png = upload(api, png_path, "image/png")
    jpeg = upload(api, rotated_jpeg(tmp_path / "turned.jpg"), "image/jpeg")
    assert {r.analysis_status for r in (mp4, webm, mp3, png, jpeg)} == {"pending"}

    worker.run_batch()

    for record in (mp4, webm, mp3, png, jpeg):
        record.refresh_from_db()
        assert record.status == "uploaded"
        assert record.analysis_status == "done", record.analysis_reason
    video = mp4.metadata
    assert (video["width"], video["height"], video["rotation"]) == (640, 360, 0)
    assert abs(video["duration"] - 10) <= 0.1
    assert (video["video_codec"], video["audio_codec"], video["has_audio"]) == ("h264", "aac", True)
    assert video["frame_rate"] == 25
    poster = picture(bucket, mp4.derived["poster"])
    assert poster.size == (640, 360)
    assert brightness(poster) > 40, "the poster is the black opening"
    assert max(picture(bucket, mp4.derived["thumbnail"]).size) == 320
    assert abs(webm.metadata["duration"] - 4) <= 0.1
    assert webm.metadata["duration_source"] in ("tail", "full_read")
    assert mp3.metadata["kind"] == "audio"
    assert abs(mp3.metadata["duration"] - 3) <= 0.1
    assert (mp3.metadata["codec"], mp3.metadata["sample_rate"]) == ("mp3", 44100)
    assert "poster" not in mp3.derived and "thumbnail" not in mp3.derived
    assert (png.metadata["width"], png.metadata["height"]) == (800, 600)
    assert picture(bucket, png.derived["thumbnail"]).size == (320, 240)
    assert (jpeg.metadata["width"], jpeg.metadata["height"]) == (480, 640)
    assert jpeg.metadata["rotation"] == 90
    assert picture(bucket, jpeg.derived["thumbnail"]).size == (240, 320)  # rotation applied


def test_the_api_shows_what_analysis_found(api: Any, bucket: Bucket, tmp_path: Path) -> None:
    """The record's representation gains the analysis, the metadata and the derived files' URLs."""
    record = upload(api, clips.mp4(tmp_path / "clip.mp4", seconds=2), "video/mp4")
    before = api.get(f"/api/media/{record.pk}/").json()
    assert before["analysis"] == {"status": "pending", "reason": None, "detail": None}
    assert before["metadata"] is None and before["poster_url"] is None

    worker.run_batch()

    shown = api.get(f"/api/media/{record.pk}/").json()
    assert shown["analysis"]["status"] == "done"
    assert shown["metadata"]["kind"] == "video"
    for name in ("poster_url", "thumbnail_url"):
        assert "X-Amz-Signature=" in shown[name]
        assert "derived/" in shown[name]


def test_a_moov_at_the_end_costs_a_few_megabytes(
    user: Any, bucket: Bucket, settings: Any, tmp_path: Path
) -> None:
    """ffprobe reads a 200 MB MP4 whose index is at its end through ranged GETs: under 5% of it
    leaves the S3 server."""
    path = tmp_path / "big.mp4"
    # Noise does not compress: about 9 MB a second at this size, in frames of a few hundred KB.
    noise = "nullsrc=s=640x360:d=23:r=25,geq=random(1)*255:128:128"
    lossless = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"]
    clips._ffmpeg("-f", "lavfi", "-i", noise, *lossless, str(path))
    size = path.stat().st_size
    assert size > 200 * 1000**2
    record = stored(user, bucket, path.read_bytes(), "video/mp4", "big.mp4")
    with relaying(settings.AWS_S3_ENDPOINT_URL) as relay:
        settings.AWS_S3_ENDPOINT_URL = relay.url
        assert run.analyze(record.pk) == "done"
    record.refresh_from_db()
    assert (record.metadata["width"], record.metadata["height"]) == (640, 360)
    assert abs(record.metadata["duration"] - 23) <= 0.1
    assert relay.bytes_sent < 0.05 * size, f"{relay.bytes_sent} of {size} bytes read"


def test_a_worker_killed_mid_task_loses_nothing(
    api: Any, bucket: Bucket, settings: Any, tmp_path: Path
) -> None:
    """Killed while it reads, the work is handed on by the sweep once the lease passes, and the
    next worker completes the analysis once."""
    record = upload(api, clips.mp4(tmp_path / "clip.mp4", seconds=2), "video/mp4")
    with relaying(settings.AWS_S3_ENDPOINT_URL, stalled=True) as stalled:
        process = worker.start(AWS_S3_ENDPOINT_URL=stalled.url)
        try:
            deadline = time.monotonic() + 60
            while MediaFile.objects.get(pk=record.pk).analysis_status != "running":
                assert time.monotonic() < deadline, "the worker never started the analysis"
                time.sleep(0.1)
        finally:
            process.kill()
            process.wait(timeout=10)
    held = MediaFile.objects.get(pk=record.pk)
    assert (held.analysis_status, held.analysis_attempts) == ("running", 1)
    # Time passes: the dead worker's lease runs out, and the hourly sweep hands the work on.
    MediaFile.objects.filter(pk=record.pk).update(analysis_lease_until=timezone.now())
    tally = sweeps.expire()
    assert tally.counts.get("analysis requeued") == 1

    output = worker.run_batch()

    done = MediaFile.objects.get(pk=record.pk)
    assert (done.analysis_status, done.analysis_attempts) == ("done", 2)
    assert sorted(done.derived) == ["poster", "thumbnail"]
    assert sorted(bucket.keys()) == sorted([done.key, *done.derived.values()])
    assert "X-Amz-" not in output.stdout + output.stderr


def stored(user: Any, bucket: Bucket, body: bytes, content_type: str, name: str) -> MediaFile:
    """An uploaded record whose verified object holds `body` (put there directly), analysis due."""
    record = uploaded_media_file(
        owner=user, content_type=content_type, filename=name, body=body, store=True
    )
    MediaFile.objects.filter(pk=record.pk).update(
        analysis_status=MediaFile.Analysis.PENDING, analysis_due_at=timezone.now()
    )
    return MediaFile.objects.get(pk=record.pk)


def test_hostile_files_fail_with_a_reason_and_the_worker_keeps_going(
    user: Any, bucket: Bucket, tmp_path: Path, caplog: Any
) -> None:
    """A codec outside the allow-list, playlists that point elsewhere, a decompression bomb: each
    fails with its reason, nothing else is fetched, and the next file is analysed."""
    asked: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Recorder) as elsewhere:
        other = f"{elsewhere}/elsewhere.ts"
        playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{other}\n#EXT-X-ENDLIST\n"
        hostile = {
            "ffv1.mkv": (ffv1(tmp_path / "ffv1.mkv").read_bytes(), "video/x-matroska"),
            "list.m3u8": (playlist.encode(), "video/mp4"),
            "list.ffconcat": (f"ffconcat version 1.0\nfile {other}\n".encode(), "audio/mpeg"),
            "id3.m3u8": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + playlist.encode(), "audio/mpeg"),
            "bomb.png": (clips.png_bomb(), "image/png"),
        }
        records = {
            name: stored(user, bucket, body, kind, name) for name, (body, kind) in hostile.items()
        }
        fine = stored(
            user,
            bucket,
            clips.mp4(tmp_path / "fine.mp4", seconds=2).read_bytes(),
            "video/mp4",
            "ok",
        )
        for record in [*records.values(), fine]:
            # The task itself, as a worker runs it.
            tasks.analyze_media.call(str(record.pk))  # type: ignore[attr-defined]
    assert asked == []
    reasons = {name: MediaFile.objects.get(pk=r.pk).analysis_reason for name, r in records.items()}
    assert reasons == {
        "ffv1.mkv": "unsupported_format",
        "list.m3u8": "unreadable",
        "list.ffconcat": "unreadable",
        "id3.m3u8": "unreadable",
        "bomb.png": "too_many_pixels",
    }
    assert {MediaFile.objects.get(pk=r.pk).analysis_status for r in records.values()} == {"failed"}
    assert MediaFile.objects.get(pk=fine.pk).analysis_status == "done"
    assert "X-Amz-" not in caplog.text


def ffv1(path: Path) -> Path:
    """A Matroska whose video is FFV1: a real codec, not on the allow-list."""
    clips._ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=64x48", "-c:v", "ffv1", str(path))
    return path


def test_reanalyze_runs_again_and_says_so_per_record(
    user: Any, bucket: Bucket, tmp_path: Path
) -> None:
    """`reanalyze_uploads` analyses again, one line per record and a summary, and the signal says
    it was a reanalysis."""
    picture_path = tmp_path / "p.png"
    Image.new("RGB", (50, 40)).save(picture_path)
    image = stored(user, bucket, picture_path.read_bytes(), "image/png", "p.png")
    bomb = stored(user, bucket, clips.png_bomb(), "image/png", "bomb.png")
    sent: list[tuple[str, bool]] = []

    def receive(sender: Any, media_file: MediaFile, reanalysis: bool, **kwargs: Any) -> None:
        sent.append((media_file.filename, reanalysis))

    media_analyzed.connect(receive, weak=False)
    try:
        out = io.StringIO()
        call_command("reanalyze_uploads", "--all", "--type", "image/*", stdout=out)
    finally:
        media_analyzed.disconnect(receive)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "reanalyze_uploads: done 1, failed 1"
    assert f"{image.pk} p.png done kind=image width=50 height=40" in lines
    assert f"{bomb.pk} bomb.png failed too_many_pixels" in lines
    assert sorted(sent) == [("bomb.png", True), ("p.png", True)]


def test_every_path_that_completes_an_upload_enqueues_its_analysis(
    user: Any, bucket: Bucket
) -> None:
    """Not only the API: a record settled by the reconcile sweep has its task waiting too."""
    from django_tasks_db.models import DBTaskResult

    record = sent_record(user)  # its file is in the bucket; its browser never called complete/
    sweeps.reconcile()
    record.refresh_from_db()
    assert (record.status, record.analysis_status) == ("uploaded", "pending")
    waiting = DBTaskResult.objects.filter(task_path="uploads.tasks.analyze_media")
    assert [task.args_kwargs["args"][0] for task in waiting] == [str(record.pk)]


def test_the_drf_field_refuses_a_real_clip_too_long(
    api: Any, bucket: Bucket, tmp_path: Path
) -> None:
    """A 10 s clip, analysed by the worker, is refused by a field that takes 5 s at most."""
    clip = upload(api, clips.mp4(tmp_path / "ten.mp4", seconds=10, size="160x120"), "video/mp4")
    worker.run_batch()

    class Teaser(serializers.Serializer[Any]):
        video = MediaFileRelatedField(max_duration=5)

    request = APIRequestFactory().post("/")
    request.user = clip.owner
    teaser = Teaser(data={"video": str(clip.pk)}, context={"request": request})
    assert not teaser.is_valid()
    assert teaser.errors == {
        "video": ["This file is 10 seconds long; files here may be at most 5 seconds."]
    }
