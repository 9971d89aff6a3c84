"""Benchmark: the cron sweeps over a large bucket: wall time, peak memory, S3 calls and queries.

Run: `.venv/bin/python bench/sweeps.py [--items 10000,100000] [--s3 rgw|moto] [--concurrent 10000]`.
One run starts the S3 store and a fresh PostgreSQL database (SQLite if none answers), with the
bench settings. For each size it fills the bucket and the database with a mix of `--items`
records and objects, every hundred of them:

- 60 uploaded records with their media objects, and 2 whose media object is gone (reported);
- 10 pending records whose file arrived in the scratch prefix (reconcile completes them);
- 10 pending records past their deadline whose file never came (expire expires them);
- 5 failed, expired or aborted records without objects (left alone);
- 10 stray scratch objects and 2 media objects of no record (deleted; reported);
- 1 multipart upload of no record (aborted).

Then `reconcile_uploads` and `expire_uploads` (`uploads.sweeps`, `--grace 0`) run once each, each in
a process of its own, which reports its wall time, its peak RSS (VmHWM) against its RSS before the
sweep began, its S3 calls by operation (botocore's before-call events) and its SQL queries
(`connection.execute_wrapper`). The work each sweep did is checked against the mix: a sweep that
did less or more than it should fails the run. Targets: time linear or better from the smallest
size to the largest, and memory flat.

With `--concurrent N`, a fresh mix of N items is swept by two reconciles started at once, then two
expires: between them they must do each thing exactly once (their tallies add up to the mix's).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import servers  # noqa: E402
from bench.support.figures import ratio  # noqa: E402

MiB = 1024**2
CONTENT_TYPE = "video/mp4"
SIZE = 2048  # bytes per object: the sweeps' work does not depend on it
PER_HUNDRED = {
    "uploaded": 60,
    "uploaded, object gone": 2,
    "pending, arrived": 10,
    "pending, overdue, never came": 10,
    "closed, no object": 5,
    "stray scratch object": 10,
    "media object of no record": 2,
    "multipart upload of no record": 1,
}
SWEEPS = ("reconcile", "expire")


def expected_tally(items: int, sweep: str) -> dict[str, int]:
    """What a sweep must report doing over a fresh mix of `items`."""
    share = {kind: count * items // 100 for kind, count in PER_HUNDRED.items()}
    if sweep == "reconcile":
        return {
            "completed": share["pending, arrived"],
            "deleted": share["stray scratch object"],
            "aborted": share["multipart upload of no record"],
            "reported": share["uploaded, object gone"] + share["media object of no record"],
        }
    return {"expired": share["pending, overdue, never came"]}


# ------------------------------------------------------------------ the mix


def fill(items: int, owner_id: int) -> None:
    """Write the mix's records (bulk INSERTs) and objects (PUTs from 32 threads)."""
    from tests.support.media import media_bytes
    from uploads import keys, storage
    from uploads.models import MediaFile

    body = media_bytes(CONTENT_TYPE, SIZE)
    past = _now() - timedelta(hours=2)
    records: list[MediaFile] = []
    objects: list[str] = []
    multipart: list[str] = []

    def record(status: str, key: str, media_id: uuid.UUID) -> None:
        records.append(
            MediaFile(
                id=media_id,
                key=key,
                owner_id=owner_id,
                filename="clip.mp4",
                content_type=CONTENT_TYPE,
                size=SIZE,
                status=status,
                expires_at=past,
            )
        )

    for kind, count in PER_HUNDRED.items():
        for _ in range(count * items // 100):
            media_id = uuid.uuid4()
            scratch = keys.scratch_key(media_id, CONTENT_TYPE)
            media = keys.media_key(media_id, CONTENT_TYPE)
            if kind.startswith("uploaded"):
                record(MediaFile.Status.UPLOADED, media, media_id)
                if kind == "uploaded":
                    objects.append(media)
            elif kind.startswith("pending"):
                record(MediaFile.Status.PENDING, scratch, media_id)
                if kind == "pending, arrived":
                    objects.append(scratch)
            elif kind == "closed, no object":
                status = (MediaFile.Status.FAILED, MediaFile.Status.EXPIRED)[len(records) % 2]
                record(status, scratch, media_id)
            elif kind == "stray scratch object":
                objects.append(scratch)
            elif kind == "media object of no record":
                objects.append(media)
            else:
                multipart.append(scratch)
    MediaFile.objects.bulk_create(records, batch_size=5000)
    client = storage.get_client()
    bucket = _bucket()

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)

    def start_multipart(key: str) -> None:
        client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=CONTENT_TYPE)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, objects))
        list(pool.map(start_multipart, multipart))


def empty(s3: servers.S3Server) -> None:
    """Delete every record, object and open upload, so the next size starts from nothing."""
    from django.db import connection

    from uploads.models import MediaFile

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # and what refers to the records (tasks, holds…)
            cursor.execute(f'TRUNCATE "{MediaFile._meta.db_table}" CASCADE')
        else:
            MediaFile.objects.all().delete()
    s3.start()  # an empty bucket: moto restarted, RGW's emptied


def _now() -> Any:
    """Django's aware now."""
    from django.utils import timezone

    return timezone.now()


def _bucket() -> str:
    """The app's bucket."""
    from uploads import conf

    return conf.bucket()


# ------------------------------------------------------------------ one sweep, in its own process


@dataclass(frozen=True)
class Run:
    """What one sweep process measured."""

    sweep: str
    seconds: float
    rss_before: int  # bytes, after Django's setup, before the sweep
    rss_peak: int  # bytes
    s3_calls: dict[str, int]
    queries: int
    tally: dict[str, int]

    @property
    def did(self) -> str:
        """What it did, as one line ("completed 10, deleted 10")."""
        return ", ".join(f"{kind} {count}" for kind, count in self.tally.items()) or "nothing"

    @property
    def s3_total(self) -> int:
        """Every S3 call it made."""
        return sum(self.s3_calls.values())


def sweep_in_child() -> None:
    """The child's side: run one sweep, counting its S3 calls and queries; print a JSON line."""
    import django

    django.setup()
    from django.db import connection

    from uploads import storage, sweeps

    calls: dict[str, int] = {}
    queries = 0

    def count_call(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    def count_query(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(*args)

    for slow in (False, True):
        storage.get_client(slow=slow).meta.events.register("before-call.s3", count_call)
    connection.ensure_connection()
    rss_before = servers.memory(os.getpid())["VmRSS"]
    run = sweeps.reconcile if sys.argv[2] == "reconcile" else sweeps.expire
    started = time.perf_counter()
    with connection.execute_wrapper(count_query):
        tally = run(grace=timedelta(0), say=lambda line: None)
    seconds = time.perf_counter() - started
    # VmHWM, not getrusage(): its maxrss survives exec, and so would report the parent's size.
    peak = servers.memory(os.getpid())["VmHWM"]
    print(
        json.dumps(
            {
                "sweep": sys.argv[2],
                "seconds": seconds,
                "rss_before": rss_before,
                "rss_peak": peak,
                "s3_calls": calls,
                "queries": queries,
                "tally": tally.counts,
            }
        )
    )


def start_sweep(env: dict[str, str], sweep: str) -> subprocess.Popen[str]:
    """Start one sweep in a process of its own."""
    return subprocess.Popen(
        [sys.executable, __file__, "--child", sweep],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen[str]) -> Run:
    """Wait for a sweep process; return what it measured."""
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the sweep process exited {process.returncode}")
    return Run(**json.loads(out.strip().splitlines()[-1]))


def check(items: int, runs: list[Run]) -> str:
    """Compare what these runs of one sweep did together with the mix; '' when they agree."""
    sweep = runs[0].sweep
    done: dict[str, int] = {}
    for run in runs:
        for kind, count in run.tally.items():
            done[kind] = done.get(kind, 0) + count
    done.pop("left to another run", None)
    wanted = expected_tally(items, sweep)
    return "" if done == wanted else f"{sweep} did {done}, the mix wanted {wanted}"


# ------------------------------------------------------------------ the run


def main() -> None:
    """Fill, sweep, measure each size; then the concurrent check; print the tables."""
    if sys.argv[1:2] == ["--child"]:
        sweep_in_child()
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", default="10000,100000", help="mix sizes, comma-separated")
    parser.add_argument(
        "--concurrent", type=int, default=10000, help="mix size for two sweeps at once (0: skip)"
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    sizes = [int(text) for text in args.items.split(",") if text.strip()]
    problems: list[str] = []
    measured: list[tuple[int, float, Run]] = []
    concurrent: list[Run] = []

    with servers.workdir("bench-sweeps-") as workdir, servers.s3_server(args.s3, workdir) as s3:
        database = servers.Database.create(workdir)
        env = servers.bench_env(workdir, database, s3, conn_max_age=0)
        try:
            servers.setup_django(env)
            s3.start()
            owner_id = _owner_id()
            for items in sizes:
                started = time.perf_counter()
                fill(items, owner_id)
                filled = time.perf_counter() - started
                for sweep in SWEEPS:
                    run = result_of(start_sweep(env, sweep))
                    measured.append((items, filled, run))
                    problem = check(items, [run])
                    if problem:
                        problems.append(f"{items} items: {problem}")
                empty(s3)
            if args.concurrent:
                fill(args.concurrent, owner_id)
                for sweep in SWEEPS:
                    pair = [start_sweep(env, sweep) for _ in range(2)]
                    runs = [result_of(process) for process in pair]
                    concurrent.extend(runs)
                    problem = check(args.concurrent, runs)
                    if problem:
                        problems.append(f"two at once, {args.concurrent} items: {problem}")
                empty(s3)
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    print_tables(database.vendor, s3.name, measured, args.concurrent, concurrent)
    if problems:
        raise SystemExit("\n".join(problems))


def _owner_id() -> int:
    """The bench user's id (created if missing)."""
    from django.contrib.auth.models import User

    servers.make_user()
    return int(User.objects.get(username="bench").pk)


def print_tables(
    vendor: str,
    store: str,
    measured: list[tuple[int, float, Run]],
    concurrent_items: int,
    concurrent: list[Run],
) -> None:
    """Print each sweep's figures by size, how they grew, and the two-at-once check."""
    print(
        f"\nSweeps: {vendor}, {store} on loopback, one process per sweep, --grace 0 "
        f"({time.strftime('%Y-%m-%d')}); items = records + objects + open uploads\n"
    )
    print(
        f"{'sweep':<10} {'items':>7} {'wall s':>7} {'ms/item':>7} {'RSS MiB':>7} "
        f"{'peak MiB':>8} {'S3 calls':>8} {'S3/item':>7} {'queries':>7} {'q/item':>6}  did"
    )
    for items, _, run in measured:
        print(
            f"{run.sweep:<10} {items:>7} {run.seconds:>7.1f} {run.seconds * 1000 / items:>7.2f} "
            f"{run.rss_before / MiB:>7.0f} {run.rss_peak / MiB:>8.0f} {run.s3_total:>8} "
            f"{run.s3_total / items:>7.3f} {run.queries:>7} {run.queries / items:>6.3f}  {run.did}"
        )
    print("\nS3 calls by operation\n")
    for items, _, run in measured:
        calls = ", ".join(f"{name} {count}" for name, count in sorted(run.s3_calls.items()))
        print(f"{run.sweep:<10} {items:>7}  {calls}")
    sizes = sorted({items for items, _, _ in measured})
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\nGrowth from {small} to {large} items ({large / small:g}x the items)\n")
        print(f"{'sweep':<10} {'wall':>8} {'per item':>8} {'peak RSS':>9} {'queries':>8}")
        for sweep in SWEEPS:
            first = next(run for items, _, run in measured if items == small and run.sweep == sweep)
            last = next(run for items, _, run in measured if items == large and run.sweep == sweep)
            per_item = (last.seconds / large) / (first.seconds / small)
            print(
                f"{sweep:<10} {ratio(last.seconds, first.seconds):>8} {per_item:>7.2f}x "
                f"{(last.rss_peak - first.rss_peak) / MiB:>+8.1f}M "
                f"{ratio(last.queries, first.queries):>8}"
            )
    print("\nFilling the mix (bulk INSERTs, PUTs from 32 threads; not a sweep's time)\n")
    for items in sizes:
        filled = next(seconds for size, seconds, _ in measured if size == items)
        print(f"{items:>7} items  {filled:.1f} s")
    if concurrent:
        print(f"\nTwo sweeps started at once over {concurrent_items} items\n")
        for run in concurrent:
            print(f"{run.sweep:<10} {run.seconds:>6.1f} s  {run.did}")
        print("\nBetween them each did exactly what the mix wanted, nothing twice (checked).")


if __name__ == "__main__":
    main()
