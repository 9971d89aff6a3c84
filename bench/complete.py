"""Benchmark: what `complete` of a multipart upload costs beyond S3's own assembly.

Run: `.venv/bin/python bench/complete.py [--parts 64] [--rounds 15] [--s3 moto|rgw]`.
One run starts the S3 store and sets Django up in this process (`bench.support.settings`,
PostgreSQL when it answers). Each round makes two identical multipart uploads of `--parts` parts
of 5 MiB (S3's smallest; the parts' bytes are sent once, before the clock starts):

- S3 alone: one CompleteMultipartUpload call with the parts' ETags, straight from boto3;
- ours: `completion.complete_upload` of a pending record of the same shape with the same ETags,
  as the API's `complete` runs it: the claim, CompleteMultipartUpload, one ranged GET (size,
  type, ETag and the first bytes checked against the declared type), the record settled.

It reports the p50 and p90 of each over the rounds (interleaved) and their ratio; the target is
ours under 3x S3 alone at the p50: the checks cost less than S3's own work.
"""

import argparse
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import servers  # noqa: E402
from bench.support.figures import ratio  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024**2
PART = 5 * MiB
CONTENT_TYPE = "video/mp4"


def started_upload(
    client: "S3Client", key: str, parts: int, body: bytes
) -> tuple[str, dict[int, str]]:
    """Start a multipart upload and send its parts (the same bytes each); return its id and the
    parts' ETags."""
    from uploads import conf

    bucket = conf.bucket()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=CONTENT_TYPE)[
        "UploadId"
    ]
    etags = {}
    for number in range(1, parts + 1):
        etags[number] = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
    return upload_id, etags


def bare_complete(client: "S3Client", parts: int, body: bytes) -> float:
    """Seconds of one CompleteMultipartUpload call of a fresh upload."""
    from uploads import conf

    key = f"bench/bare-{uuid.uuid4().hex}.mp4"
    upload_id, etags = started_upload(client, key, parts, body)
    started = time.perf_counter()
    client.complete_multipart_upload(
        Bucket=conf.bucket(),
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in etags.items()]},
    )
    return time.perf_counter() - started


def our_complete(client: "S3Client", owner: Any, parts: int, body: bytes) -> float:
    """Seconds of `complete_upload` of a fresh pending record whose parts were all sent."""
    from django.utils import timezone

    from uploads import completion, keys
    from uploads.models import MediaFile

    media_id = uuid.uuid4()
    record = MediaFile(
        id=media_id,
        owner=owner,
        filename="bench.mp4",
        content_type=CONTENT_TYPE,
        size=parts * PART,
        key=keys.media_key(media_id, CONTENT_TYPE),
        part_size=PART,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    record.upload_id, etags = started_upload(client, record.key, parts, body)
    record.save(force_insert=True)
    started = time.perf_counter()
    settled = completion.complete_upload(media_file=record, via="api", part_etags=etags)
    seconds = time.perf_counter() - started
    if settled.status != MediaFile.Status.UPLOADED:
        raise SystemExit(f"complete left the record {settled.status}: {settled.failure_reason}")
    return seconds


def main() -> None:
    """Time both ways, interleaved; print the table and the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=64, help="parts per upload (5 MiB each)")
    parser.add_argument("--rounds", type=int, default=15, help="uploads of each kind")
    servers.add_s3_argument(parser)
    args = parser.parse_args()

    from tests.support.media import media_bytes

    with (
        servers.workdir("bench-complete-") as workdir,
        servers.s3_server(args.s3, workdir, largest=2 * args.parts * PART) as s3,
    ):
        database = servers.Database.create(workdir)
        env = servers.bench_env(workdir, database, s3, LOG_LEVEL="WARNING")
        try:
            servers.setup_django(env)
            from django.contrib.auth.models import User

            from uploads import storage

            owner = User.objects.create_user("bench-complete")
            client = storage.get_client(slow=True)
            body = media_bytes(CONTENT_TYPE, PART)
            bare, ours = [], []
            for _ in range(args.rounds):
                s3.start()  # an empty bucket each round: the store holds two uploads at most
                bare.append(bare_complete(client, args.parts, body))
                ours.append(our_complete(client, owner, args.parts, body))
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    print_table(bare, ours, args.parts, s3.name, database.vendor)


def print_table(bare: list[float], ours: list[float], parts: int, store: str, vendor: str) -> None:
    """Print p50 and p90 of each way, and the ratio at the p50 against the target."""

    def p(values: list[float], q: int) -> float:
        """The q-th percentile (nearest rank) of the values."""
        return sorted(values)[max(0, round(q / 100 * len(values)) - 1)]

    print(
        f"\nComplete: multipart uploads of {parts} parts of 5 MiB on {store} on 127.0.0.1, "
        f"{vendor}; {len(bare)} of each, interleaved ({time.strftime('%Y-%m-%d')})\n"
    )
    print(f"{'way':<36} {'p50 ms':>7} {'p90 ms':>7} {'mean ms':>8}")
    for label, values in (("S3 alone: CompleteMultipartUpload", bare), ("ours: complete", ours)):
        print(
            f"{label:<36} {p(values, 50) * 1000:>7.1f} {p(values, 90) * 1000:>7.1f} "
            f"{statistics.fmean(values) * 1000:>8.1f}"
        )
    print(f"\nours / S3 alone at the p50: {ratio(p(ours, 50), p(bare, 50))} (target < 3x)")


if __name__ == "__main__":
    main()
