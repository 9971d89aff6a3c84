"""Benchmark: one large file to a local S3, single POST against multipart at 1, 4 and 8 parts.

Run: `.venv/bin/python bench/multipart_upload.py [--size-mib 1024] [--part-mib 16]
[--s3 moto|rgw]`.
Every variant runs in the same process against the same server, so ratios are comparable on a
noisy machine; absolute times depend on the machine.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORKDIR = Path(tempfile.mkdtemp(prefix="bench-multipart-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "mediaupload.settings",
        "SECRET_KEY": "bench-only",
        "DATABASE_URL": f"sqlite:///{WORKDIR / 'bench.sqlite3'}",
        "CONTENT_UPLOAD_BUCKET": "bench",
        "AWS_ACCESS_KEY_ID": "bench",  # moto's; RGW's are set in the settings when it starts
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "UPLOAD_MAX_BYTES": str(5 * 1024**4),
    }
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.support import servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402
from tests.support.media import media_bytes  # noqa: E402
from uploads import services, storage  # noqa: E402
from uploads.models import MediaFile  # noqa: E402

MiB = 1024**2


def upload_single_post(user: User, path: Path, size: int) -> MediaFile:
    """Upload the file with one signed POST (the baseline)."""
    settings.UPLOAD_MULTIPART_THRESHOLD = size  # stay at or under the threshold: one POST
    created = services.create_upload(
        owner=user, filename="bench.mp4", content_type="video/mp4", size=size
    )
    assert isinstance(created.upload, storage.PresignedPost)
    with path.open("rb") as body:
        response = requests.post(
            created.upload.url,
            data=created.upload.fields,
            files={"file": ("bench.mp4", body, "video/mp4")},
            timeout=600,
        )
    response.raise_for_status()
    return services.complete_upload(media_file=created.media_file, via="api")


def upload_multipart(
    user: User, path: Path, size: int, part_size: int, parallel: int
) -> tuple[MediaFile, int]:
    """Upload the file in parts, `parallel` at a time, as the browser does."""
    from uploads import multipart

    settings.UPLOAD_MULTIPART_THRESHOLD = 0
    settings.UPLOAD_PART_SIZE = part_size
    created = services.create_upload(
        owner=user, filename="bench.mp4", content_type="video/mp4", size=size
    )
    record = created.media_file
    plan = multipart.plan_of(record)

    def send(number: int) -> None:
        (signed,) = multipart.sign_parts(media_file=record, part_numbers=[number]).parts
        with path.open("rb") as source:
            source.seek((number - 1) * plan.part_size)
            chunk = source.read(signed.size)
        requests.put(signed.url, data=chunk, timeout=600).raise_for_status()

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(send, range(1, plan.part_count + 1)))
    return services.complete_upload(media_file=record, via="api"), plan.part_count


def main() -> None:
    """Run every variant once and print a table with ratios to the single POST."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=16)
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    size = args.size_mib * MiB

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    with servers.s3_server(args.s3, WORKDIR, largest=size) as s3:
        rows = measure(user, s3, size, args.part_mib)
    shutil.rmtree(WORKDIR, ignore_errors=True)  # the file and the database

    baseline = rows[0][3]
    print(f"\n{args.size_mib} MiB to {s3.name} on 127.0.0.1, parts of {args.part_mib} MiB\n")
    print(f"{'variant':<14} {'parts':>6} {'parallel':>8} {'wall s':>8} {'MiB/s':>8} {'vs POST':>8}")
    for name, parts, parallel, seconds in rows:
        print(
            f"{name:<14} {parts:>6} {parallel:>8} {seconds:>8.1f} "
            f"{show(per(args.size_mib, seconds), '.0f'):>8} {ratio(baseline, seconds):>8}"
        )


def measure(
    user: User, s3: servers.S3Server, size: int, part_mib: int
) -> list[tuple[str, int, int, float]]:
    """Upload the file as one POST, then in parts 1, 4 and 8 at a time; return the rows."""
    s3.start()
    try:
        path = WORKDIR / "bench.mp4"
        # A real MP4 header, then random bytes: the server checks what the bytes are.
        path.write_bytes(media_bytes("video/mp4", size))

        rows: list[tuple[str, int, int, float]] = []
        started = time.perf_counter()
        record = upload_single_post(user, path, size)
        rows.append(("single POST", 1, 1, time.perf_counter() - started))
        assert record.status == MediaFile.Status.UPLOADED
        storage.delete_object(record.key)  # moto keeps objects in RAM: free them between runs
        for parallel in (1, 4, 8):
            started = time.perf_counter()
            record, parts = upload_multipart(user, path, size, part_mib * MiB, parallel)
            rows.append((f"multipart x{parallel}", parts, parallel, time.perf_counter() - started))
            assert record.status == MediaFile.Status.UPLOADED, record.failure_reason
            storage.delete_object(record.key)
    finally:
        s3.stop()
    return rows


if __name__ == "__main__":
    main()
