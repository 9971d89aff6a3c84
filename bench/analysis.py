"""Benchmark: what analysing an uploaded video costs, in bytes read from S3 and in time, against
reading the same object whole.

Run: `.venv/bin/python bench/analysis.py [--sizes-mib 10,200,1024] [--faststart-mib 200]
[--rounds 2]`.
One run starts moto, sets Django up in this process with `bench.support.settings` on a SQLite file
in a scratch directory, and puts every S3 request of the app behind a counting TCP relay
(tests/support/relay.py: small socket buffers, it counts what the server sends). It makes one
H.264 + AAC MP4 of each size with ffmpeg (640x360 noise encoded lossless, which does not
compress: about 9 MB a second of video), the moov atom at the end as ffmpeg writes it (the hard
case: ffprobe must seek to the end for the index, then back for the first frames), plus a
faststart copy (moov first) of the `--faststart-mib` one; uploads each with boto3 `upload_file`
under its media key, and makes an `uploaded` record of it, analysis pending.

Then, each round, for each file:

- full GET: boto3 `get_object` of the whole object through the relay, streamed to nothing: what
  analysis would cost if it downloaded the file first;
- ranged GET: one 64 KiB ranged GET of it (moto's floor for any request on that object);
- ours: `uploads.analysis.run.analyze(pk)`: the lease, a presigned GET, ffprobe and ffmpeg's
  poster through the loopback range proxy, the poster and thumbnail stored, the record saved
  (the record is put back to pending with `state.request` before each). Its wall time, the
  tools' CPU (user + system of this process's waited-for children, `RUSAGE_CHILDREN`), the bytes
  the proxy read from S3 (`RangeProxy.bytes_read`, recorded by a bench-only subclass) and its
  GETs, and the bytes the S3 server sent through the relay: what the proxy read plus whatever
  the TCP windows let through before a dropped connection, and any read outside the proxy (an
  image's; none for a video).

Times and CPU are the least of the rounds, bytes the most; the split between ffprobe and the
poster is the fastest round's.
"""

import argparse
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.support.relay import Relay

MiB = 1024**2
CONTENT_TYPE = "video/mp4"
FRAME_RATE = 25
# Random luma on flat chroma, lossless: incompressible frames of ~360 KB, made at ~15 MB/s here.
NOISE = f"nullsrc=s=640x360:r={FRAME_RATE},geq=random(1)*255:128:128"
TONE = "sine=f=440:r=48000"
ENCODE = ("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "aac", "-b:a", "64k")
RANGED_BYTES = 64 * 1024
CHUNK = 1 * MiB


@dataclass(frozen=True)
class Clip:
    """One stored video and its record."""

    label: str
    path: Path
    size: int
    key: str
    pk: uuid.UUID | None = None


@dataclass(frozen=True)
class Step:
    """One tool's part of an analysis: wall and CPU seconds, and the proxy's bytes read and
    seconds waited for S3's answers by its end."""

    seconds: float = 0.0
    cpu: float = 0.0
    read_by_end: int = 0
    waited_by_end: float = 0.0


@dataclass(frozen=True)
class Round:
    """One round's figures for one file."""

    full_get: float
    ranged_get: float
    wall: float
    tool_cpu: float
    read: int
    requests: int
    sent: int
    s3_wait: float
    probe: Step
    poster: Step


@dataclass
class Recorder:
    """Bench-only instruments around `analyze()`: the proxies it opened, how long they waited
    for S3's answers, each tool's share."""

    proxies: list[Any] = field(default_factory=list)
    steps: dict[str, Step] = field(default_factory=dict)
    waited: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        """Forget the last analysis's figures."""
        with self._lock:
            self.proxies.clear()
            self.steps.clear()
            self.waited = 0.0

    def wait(self, seconds: float) -> None:
        """Add time a proxy spent waiting for S3's answer to a GET (its headers)."""
        with self._lock:
            self.waited += seconds

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Patch `run.RangeProxy` with a subclass that records its instances, and time the
        tools' two entry points; restore them on the way out."""
        from uploads.analysis import ffmpeg, run
        from uploads.analysis.proxy import RangeProxy

        recorder = self

        class RecordedProxy(RangeProxy):
            def __enter__(self) -> "RecordedProxy":
                recorder.proxies.append(self)
                super().__enter__()
                return self

            # The proxy's own step "send one GET, wait for its answer": a private method, timed
            # here only; on moto that wait grows with the object (see bench/README.md).
            def _open_upstream(self, range_header: str) -> Any:
                started = time.perf_counter()
                try:
                    return super()._open_upstream(range_header)
                finally:
                    recorder.wait(time.perf_counter() - started)

        with ExitStack() as stack:
            stack.enter_context(mock.patch.object(run, "RangeProxy", RecordedProxy))
            for name in ("probe", "poster"):
                timed = self._timed(name, getattr(ffmpeg, name))
                stack.enter_context(mock.patch.object(ffmpeg, name, timed))
            yield

    def _timed(self, name: str, tool: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a tool call to record its wall time, its children's CPU and the bytes read."""

        def call(*args: Any, **kwargs: Any) -> Any:
            cpu, started = children_cpu(), time.perf_counter()
            try:
                return tool(*args, **kwargs)
            finally:
                seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
                read = self.proxies[-1].bytes_read if self.proxies else 0
                with self._lock:
                    self.steps[name] = Step(seconds, cpu, read, self.waited)

        return call


def children_cpu() -> float:
    """User plus system CPU seconds of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ the files


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, overwriting its output; fail loudly with what it said."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ffmpeg {' '.join(args[:6])}… exited {done.returncode}:\n{done.stderr}")


def encode(path: Path, frames: int) -> None:
    """Write `frames` frames of noise with a tone of the same length: moov at the end."""
    seconds = f"{frames / FRAME_RATE:.3f}"
    ffmpeg(
        *("-f", "lavfi", "-i", NOISE, "-f", "lavfi", "-i", TONE),
        *("-frames:v", str(frames), "-t", seconds, *ENCODE, str(path)),
    )


def frame_bytes(workdir: Path) -> float:
    """Bytes one frame (and its share of the tone) takes, from a one-second sample."""
    sample = workdir / "sample.mp4"
    encode(sample, FRAME_RATE)
    size = sample.stat().st_size
    sample.unlink()
    return size / FRAME_RATE


def make_clips(workdir: Path, sizes_mib: list[int], faststart_mib: int) -> list[Clip]:
    """Write one MP4 of each size (moov at the end), and a faststart copy of one of them."""
    from uploads import keys

    per_frame = frame_bytes(workdir)
    clips = []
    for mib in sizes_mib:
        path = workdir / f"clip-{mib}.mp4"
        encode(path, max(2, round(mib * MiB / per_frame)))
        clips.append(Clip("moov at end", path, path.stat().st_size, ""))
        if mib == faststart_mib:
            moved = workdir / f"clip-{mib}-faststart.mp4"
            ffmpeg("-i", str(path), "-c", "copy", "-movflags", "+faststart", str(moved))
            clips.append(Clip("faststart", moved, moved.stat().st_size, ""))
    stored = []
    for clip in clips:
        pk = uuid.uuid4()
        stored.append(replace(clip, pk=pk, key=keys.media_key(pk, CONTENT_TYPE)))
    return stored


def store(clips: list[Clip], client: "S3Client", owner: Any) -> None:
    """Upload each file under its media key; make its `uploaded` record, analysis pending."""
    from boto3.s3.transfer import TransferConfig
    from django.utils import timezone

    from uploads.models import MediaFile

    # One PUT each: moto assembles a multipart upload slowly, and the object is the same.
    whole = TransferConfig(multipart_threshold=8 * 1024 * MiB)
    for clip in clips:
        client.upload_file(
            str(clip.path),
            servers.BUCKET,
            clip.key,
            ExtraArgs={"ContentType": CONTENT_TYPE},
            Config=whole,
        )
        now = timezone.now()
        MediaFile.objects.create(
            id=clip.pk,
            key=clip.key,
            owner=owner,
            filename=clip.path.name,
            content_type=CONTENT_TYPE,
            size=clip.size,
            status=MediaFile.Status.UPLOADED,
            uploaded_at=now,
            analysis_status=MediaFile.Analysis.PENDING,
            analysis_due_at=now,
        )
        clip.path.unlink()  # the bucket has it; the disk need not hold it twice


# ------------------------------------------------------------------ one round


def settled(relay: "Relay") -> int:
    """The relay's count once nothing more arrives (a dropped connection drains for a moment)."""
    last = relay.bytes_sent
    while True:
        time.sleep(0.2)
        now = relay.bytes_sent
        if now == last:
            return now
        last = now


def full_get(client: "S3Client", clip: Clip) -> float:
    """Read the whole object to nothing; return the wall time."""
    started = time.perf_counter()
    body = client.get_object(Bucket=servers.BUCKET, Key=clip.key)["Body"]
    got = sum(len(chunk) for chunk in body.iter_chunks(CHUNK))
    seconds = time.perf_counter() - started
    if got != clip.size:
        raise SystemExit(f"the full GET of {clip.key} returned {got} of {clip.size} bytes")
    return seconds


def ranged_get(client: "S3Client", clip: Clip) -> float:
    """Read the object's first 64 KiB; return the wall time."""
    started = time.perf_counter()
    body = client.get_object(
        Bucket=servers.BUCKET, Key=clip.key, Range=f"bytes=0-{RANGED_BYTES - 1}"
    )
    body["Body"].read()
    return time.perf_counter() - started


def measure(clip: Clip, client: "S3Client", relay: "Relay", recorder: Recorder) -> Round:
    """One round on one file: the full GET, the ranged GET, then `analyze()` on its record from
    pending (its wall time, the tools' CPU, the proxy's bytes, GETs and waits, and the bytes the
    S3 server sent)."""
    from uploads.analysis import run, state
    from uploads.models import MediaFile

    assert clip.pk is not None
    whole = full_get(client, clip)
    ranged = ranged_get(client, clip)
    state.request(MediaFile.objects.filter(pk=clip.pk))
    recorder.clear()
    sent = settled(relay)
    cpu, started = children_cpu(), time.perf_counter()
    outcome = run.analyze(clip.pk)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    sent = settled(relay) - sent
    if outcome != "done":
        reason = MediaFile.objects.get(pk=clip.pk).analysis_reason
        raise SystemExit(f"analysis of {clip.path.name} ended {outcome!r} ({reason})")
    return Round(
        full_get=whole,
        ranged_get=ranged,
        wall=wall,
        tool_cpu=cpu,
        read=sum(proxy.bytes_read for proxy in recorder.proxies),
        requests=sum(proxy.requests for proxy in recorder.proxies),
        sent=sent,
        s3_wait=recorder.waited,
        probe=recorder.steps.get("probe", Step()),
        poster=recorder.steps.get("poster", Step()),
    )


def best_of(rounds: list[Round]) -> Round:
    """The least times and CPU, the most bytes; the tools' split from the fastest round."""
    fastest = min(rounds, key=lambda each: each.wall)
    return replace(
        fastest,
        full_get=min(each.full_get for each in rounds),
        ranged_get=min(each.ranged_get for each in rounds),
        tool_cpu=min(each.tool_cpu for each in rounds),
        read=max(each.read for each in rounds),
        requests=max(each.requests for each in rounds),
        sent=max(each.sent for each in rounds),
    )


# ------------------------------------------------------------------ the run


def main() -> None:
    """Make the files, measure each one's analysis against a full read; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes-mib",
        default="10,200,1024",
        help="the videos' sizes in MiB, comma-separated (each moov at the end)",
    )
    parser.add_argument(
        "--faststart-mib",
        type=int,
        default=200,
        help="also a faststart copy of the video of this size, if it is one of --sizes-mib",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds over every file; least times kept"
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    sizes = [int(each) for each in args.sizes_mib.split(",") if each.strip()]

    with (
        servers.workdir("bench-analysis-") as workdir,
        servers.s3_server(args.s3, workdir, largest=max(sizes) * MiB) as s3,
    ):
        database = servers.Database.create(workdir, want_postgres=False)
        env = servers.bench_env(workdir, database, s3, LOG_LEVEL="WARNING")
        try:
            servers.setup_django(env)
            s3.start()
            results = run_all(workdir, s3, sizes, args.faststart_mib, args.rounds)
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
    print_tables(results, args.rounds, s3.name)


def run_all(
    workdir: Path, s3: servers.S3Server, sizes: list[int], faststart_mib: int, rounds: int
) -> list[tuple[Clip, Round]]:
    """Store the files, then measure them, interleaved over the rounds."""
    import boto3
    from botocore.config import Config
    from django.conf import settings
    from django.contrib.auth.models import User

    from tests.support.relay import relaying

    clips = make_clips(workdir, sizes, faststart_mib)
    patient = Config(read_timeout=300, retries={"max_attempts": 1})
    direct = boto3.client("s3", endpoint_url=s3.endpoint, config=patient)
    owner = User.objects.create_user("bench-analysis")
    store(clips, direct, owner)
    recorder = Recorder()
    measured: dict[str, list[Round]] = {clip.key: [] for clip in clips}
    with relaying(s3.endpoint) as relay, recorder.installed():
        # The app's every S3 call (presigned GETs included) goes through the relay from here;
        # its S3 client is cached per endpoint.
        settings.AWS_S3_ENDPOINT_URL = relay.url
        relayed = boto3.client("s3", endpoint_url=relay.url, config=patient)
        for _ in range(rounds):  # interleaved, so a slow spell of the machine hits every file
            for clip in clips:
                measured[clip.key].append(measure(clip, relayed, relay, recorder))
        settings.AWS_S3_ENDPOINT_URL = s3.endpoint
    return [(clip, best_of(measured[clip.key])) for clip in clips]


def print_tables(results: list[tuple[Clip, Round]], rounds: int, store: str) -> None:
    """Print one row per file, then where each analysis's time went."""
    print(
        f"\nAnalysis: H.264 + AAC MP4s (640x360 noise, lossless) in {store} on 127.0.0.1, every S3 "
        f"byte through a counting relay; analyze() (ffprobe + ffmpeg poster via the range proxy) "
        f"against a full GET of the object; SQLite; times and CPU best of {rounds}, bytes the "
        f"most ({time.strftime('%Y-%m-%d')})\n"
    )
    print(
        f"{'file':<12} {'MiB':>5} {'wall s':>6} {'S3 wait s':>9} {'tool CPU s':>10} {'GETs':>4} "
        f"{'read MiB':>8} {'read/size':>9} {'S3 sent MiB':>11} {'full GET s':>10} "
        f"{'64K GET s':>9} {'wall/full GET':>13}"
    )
    for clip, best in results:
        print(
            f"{clip.label:<12} {clip.size / MiB:>5.0f} {best.wall:>6.2f} {best.s3_wait:>9.2f} "
            f"{best.tool_cpu:>10.2f} {best.requests:>4} {best.read / MiB:>8.2f} "
            f"{show(per(best.read, clip.size), '.2%'):>9} {best.sent / MiB:>11.2f} "
            f"{best.full_get:>10.2f} {best.ranged_get:>9.3f} {ratio(best.wall, best.full_get):>13}"
        )
    print(
        "\nWhere the time went (the fastest round): ffprobe, the poster, the rest of analyze(); "
        "S3 wait: the proxy waiting for the answers to its GETs"
    )
    print(
        f"{'file':<12} {'MiB':>5} {'probe s':>7} {'S3 wait':>7} {'CPU s':>5} {'read MiB':>8} "
        f"{'poster s':>8} {'S3 wait':>7} {'CPU s':>5} {'read MiB':>8} {'rest s':>6}"
    )
    for clip, best in results:
        probe, poster = best.probe, best.poster
        rest = best.wall - probe.seconds - poster.seconds
        print(
            f"{clip.label:<12} {clip.size / MiB:>5.0f} {probe.seconds:>7.2f} "
            f"{probe.waited_by_end:>7.2f} {probe.cpu:>5.2f} {probe.read_by_end / MiB:>8.2f} "
            f"{poster.seconds:>8.2f} {poster.waited_by_end - probe.waited_by_end:>7.2f} "
            f"{poster.cpu:>5.2f} {(poster.read_by_end - probe.read_by_end) / MiB:>8.2f} "
            f"{rest:>6.2f}"
        )


if __name__ == "__main__":
    main()
