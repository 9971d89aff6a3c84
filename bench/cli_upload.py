"""Benchmark: the command-line uploader against boto3's upload_file, one file, one local S3.

Run: `.venv/bin/python bench/cli_upload.py [--size-mib 1024] [--parallel 4] [--s3 moto|rgw]`.
The script starts the S3 store (moto, or Ceph RGW) and the app (`manage.py runserver`, SQLite in
a temp dir), then uploads the same MP4 file twice, each from its own process: (a) `python -m
uploads.cli upload` through the app (create, signed parts, complete with verification), (b)
boto3's `upload_file` straight to the bucket. It prints MiB/s for each, their ratio, and the
uploader's peak RSS at smaller sizes too, to show its memory does not grow with the file.
`--size-mib 16` makes a smoke run of a few seconds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORKDIR = Path(tempfile.mkdtemp(prefix="bench-cli-"))
BUCKET = "bench"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "mediaupload.settings",
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "DATABASE_URL": f"sqlite:///{WORKDIR / 'bench.sqlite3'}",
        "CONTENT_UPLOAD_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "UPLOAD_MAX_BYTES": str(5 * 1024**4),
    }
)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.support import servers as bench_servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402
from bench.support.servers import write_media  # noqa: E402
from uploads.models import MediaFile  # noqa: E402
from uploads.storage import local_s3  # noqa: E402

MiB = 1024**2

BOTO3_UPLOAD = textwrap.dedent(
    """
    import os
    import sys
    import boto3
    from botocore.config import Config

    endpoint, bucket, path, key, checksums = sys.argv[1:6]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation=checksums,
        ),
    )
    client.upload_file(path, bucket, key, ExtraArgs={"ContentType": "video/mp4"})
    """
)
# boto3's two ways: its defaults (a CRC32 per part), and no checksums, as the app's multipart
# uploads are created. moto assembles the second kind much more slowly (a full-object CRC64 over
# extra copies of the file), so only that one compares like with like.
BOTO3_VARIANTS = {"when_required": "no checksums", "when_supported": "CRC32 (default)"}


@dataclass(frozen=True)
class Run:
    """One upload by one process: what sent it, how big, how long, its peak RSS."""

    who: str
    size: int
    seconds: float
    peak_rss: int
    method: str = ""

    @property
    def mib_per_s(self) -> float:
        """Return the throughput (NaN if no time was measured)."""
        return per(self.size / MiB, self.seconds)


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a process; return its wall time, its own peak RSS in bytes, and its stdout.

    The peak is the kernel's high-water mark of the child's memory (VmHWM), read every 20 ms
    until it exits. Its ru_maxrss would not do: Linux carries the forking parent's peak (this
    script's, with Django loaded) into a child's ru_maxrss across fork and exec.
    """
    out_path = WORKDIR / "out.txt"
    peak = 0
    with out_path.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out)
        while True:
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, high_water_mark(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = out_path.read_text()
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} exited {process.returncode}: {output}")
    return seconds, peak, output


def high_water_mark(pid: int) -> int:
    """Return a process's peak resident memory so far in bytes (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def start_app(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the app with runserver (threaded, no reloader) and return once it answers."""
    log = (WORKDIR / "app.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{port}",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app exited with {process.returncode}; see {WORKDIR / 'app.log'}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/media/", timeout=1).close()
        except urllib.error.HTTPError:
            return process  # 401: it answers
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    local_s3.stop_process(process)
    tail = (WORKDIR / "app.log").read_text(errors="replace").splitlines()[-5:]
    raise SystemExit("the app did not answer within 30 s:\n" + "\n".join(tail))


class Servers:
    """The store and the app; the store is emptied (moto restarted) before every upload."""

    def __init__(self, s3: bench_servers.S3Server) -> None:
        self.s3 = s3
        self.app_port = local_s3.free_port()
        self.endpoint = s3.endpoint
        self.server = f"http://127.0.0.1:{self.app_port}"
        self._app: subprocess.Popen[bytes] | None = None

    def fresh_s3(self) -> None:
        """Empty the bucket: no run pays for the memory of the one before."""
        self.s3.start()

    def start_app(self) -> None:
        """Start the app."""
        self._app = start_app(self.app_port, dict(os.environ))

    def stop(self) -> None:
        """Stop the app (the store stops with its context)."""
        if self._app is not None:
            local_s3.stop_process(self._app)
        self.s3.stop()


def cli_upload(path: Path, size: int, servers: Servers, token: str, parallel: int) -> Run:
    """Upload the file with the command-line uploader, through the app, to an empty bucket."""
    servers.fresh_s3()
    env = {**os.environ, "MEDIAUPLOAD_TOKEN": token}
    command = [sys.executable, "-m", "uploads.cli", "upload", str(path), "--server"]
    command += [servers.server, "--json", "--no-resume", "--parallel", str(parallel)]
    seconds, rss, output = timed_process(command, env)
    result = json.loads(output.splitlines()[-1])
    if result["status"] != "uploaded":
        raise SystemExit(f"the uploader failed: {result['error']}")
    record = MediaFile.objects.get(pk=result["id"])
    parts = -(-record.size // record.part_size) if record.part_size else 0
    method = f"{parts} parts x{parallel}" if parts else "one POST"
    return Run("uploads.cli", size, seconds, rss, method)


def boto3_upload(path: Path, size: int, servers: Servers, checksums: str) -> Run:
    """Upload the file with boto3's upload_file (8 MiB parts, 10 threads) to an empty bucket."""
    servers.fresh_s3()
    command = [sys.executable, "-c", BOTO3_UPLOAD, servers.endpoint, BUCKET, str(path)]
    seconds, rss, _ = timed_process([*command, "bench/boto3.mp4", checksums], dict(os.environ))
    return Run(f"boto3, {BOTO3_VARIANTS[checksums]}", size, seconds, rss, "8 MiB parts x10")


def main() -> None:
    """Upload the file each way `--rounds` times, then the uploader alone at smaller sizes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="the compared file's size")
    parser.add_argument("--rounds", type=int, default=2, help="uploads of each kind; best kept")
    parser.add_argument("--parallel", type=int, default=4, help="the uploader's --parallel")
    parser.add_argument("--part-mib", type=int, default=16, help="UPLOAD_PART_SIZE of the app")
    parser.add_argument(
        "--threshold-mib", type=int, default=64, help="UPLOAD_MULTIPART_THRESHOLD of the app"
    )
    parser.add_argument(
        "--rss-sizes-mib",
        default="",
        help="comma list of further sizes for the RSS check (default: size/16 and size/4)",
    )
    bench_servers.add_s3_argument(parser)
    args = parser.parse_args()
    size = args.size_mib * MiB
    extra = [int(text) for text in args.rss_sizes_mib.split(",") if text.strip()] or [
        max(1, args.size_mib // 16),
        max(1, args.size_mib // 4),
    ]

    with bench_servers.s3_server(args.s3, WORKDIR, largest=size) as s3:
        measure(args, size, extra, Servers(s3))


def measure(args: argparse.Namespace, size: int, extra: list[int], servers: Servers) -> None:
    """Upload each way, interleaved, then the uploader alone at smaller sizes; print the table."""
    os.environ.update(
        {
            "AWS_S3_ENDPOINT_URL": servers.endpoint,
            "AWS_ACCESS_KEY_ID": servers.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": servers.s3.secret_key,
            "UPLOAD_PART_SIZE": str(args.part_mib * MiB),
            "UPLOAD_MULTIPART_THRESHOLD": str(args.threshold_mib * MiB),
        }
    )
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    token = Token.objects.get_or_create(user=user)[0].key
    runs: dict[str, list[Run]] = {}
    smaller: list[Run] = []
    try:
        servers.fresh_s3()
        servers.start_app()
        path = WORKDIR / "bench.mp4"
        write_media(path, size)
        for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits all
            for run in [
                cli_upload(path, size, servers, token, args.parallel),
                *(boto3_upload(path, size, servers, checksums) for checksums in BOTO3_VARIANTS),
            ]:
                runs.setdefault(run.who, []).append(run)
        for mib in extra:
            write_media(path, mib * MiB)
            smaller.append(cli_upload(path, mib * MiB, servers, token, args.parallel))
    finally:
        servers.stop()
        shutil.rmtree(WORKDIR, ignore_errors=True)

    best = {who: min(trials, key=lambda run: run.seconds) for who, trials in runs.items()}
    print(
        f"\n{args.size_mib} MiB MP4 to {servers.s3.name} on 127.0.0.1 (emptied before each "
        f"upload), "
        f"best of {args.rounds}; the app cuts parts of {args.part_mib} MiB above "
        f"{args.threshold_mib} MiB; every upload from its own process\n"
    )
    header = (
        f"{'uploader':<24} {'MiB':>5} {'method':<16} {'wall s':>7} {'MiB/s':>6} {'peak RSS':>9}"
    )
    print(header + "  trials s")
    for run in [*best.values(), *sorted(smaller, key=lambda run: run.size)]:
        trials = runs.get(run.who, [run]) if run.size == size else [run]
        print(
            f"{run.who:<24} {run.size // MiB:>5} {run.method:<16} {run.seconds:>7.1f} "
            f"{show(run.mib_per_s, '.1f'):>6} {run.peak_rss / MiB:>5.0f} MiB  "
            + " ".join(f"{trial.seconds:.1f}" for trial in trials)
        )
    cli = best["uploads.cli"].mib_per_s
    for name in BOTO3_VARIANTS.values():
        print(f"uploads.cli / boto3 with {name}: {ratio(cli, best[f'boto3, {name}'].mib_per_s)}")
    print("(target: >= 0.90x against boto3 with no checksums, the like-for-like S3 work)")


if __name__ == "__main__":
    main()
