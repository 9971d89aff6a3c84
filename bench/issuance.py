"""Benchmark: issuing upload authorizations, under gunicorn on PostgreSQL, side by side.

Run: `.venv/bin/python bench/issuance.py [--clients 1,4,16] [--seconds 4] [--rounds 3]
[--cache locmem|redis]`.
One run starts moto, a fresh PostgreSQL database (SQLite if none answers) and the app under
gunicorn (2 sync workers, as `make serve`) with `bench.support.settings`: throttles raised out of
reach, quotas off, database connections kept (`?conn_max_age=600`, as a production deployment
sets it; `--conn-max-age 0` for one per request). Throttle counts go where the product puts them
for the app's cache: with `--cache locmem` (the default, `make serve`'s) in the app's table, with
`--cache redis` (database 14 on 127.0.0.1:6379, emptied first) in Redis; the table's header says
which. Closed-loop clients, each with its own connection per request and a token, then time, at
each concurrency level:

- baseline: `POST /bench/baseline-create/` (bench/support/views.py), the same authentication,
  throttle, validation, quota check (as create makes it) and one INSERT, without the upload logic
  (no key, deadline, signing, S3 or record serializer);
- ours, small: `POST /api/media/` of a 1 MiB file (a signed POST policy);
- s3ff, small: django-s3-file-field's `upload-initialize/` for the same file (one part URL);
- ours, 200 MiB: `POST /api/media/`: CreateMultipartUpload, and the URLs of the first parts the
  page and the CLI send (2 x 4 parallel = 8 of 16 MiB), all a multipart upload needs to start;
- s3ff, 200 MiB: `upload-initialize/` (CreateMultipartUpload and all 4 part URLs of 64 MiB).

Then it counts SQL queries per request (Django's CaptureQueriesContext, in this process, same
database): create, parts, complete (a POST upload and a multipart one), and the baseline.
django-s3-file-field is a bench-only dependency (`pip install django-s3-file-field
django-storages`); without it its rows are left out.
"""

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import load, servers  # noqa: E402
from bench.support.figures import ratio, show  # noqa: E402

MiB = 1024**2
SMALL = 1 * MiB
LARGE = 200 * MiB
FIRST_PARTS = 8  # 2 x UPLOAD_PARALLEL_PARTS (4 by default)
# Redis database of this bench's throttle counts with --cache redis (load.py uses 13).
REDIS_DB = 14
S3FF_FIELD = "bench.S3ffUpload.blob"


def declaration(size: int) -> dict[str, Any]:
    """What a client declares about an MP4 of `size` bytes."""
    return {"filename": "clip.mp4", "content_type": "video/mp4", "size": size}


def operations() -> dict[str, load.Operation]:
    """The operations compared, by row name."""

    async def baseline(client: load.Client) -> None:
        await client.call("POST", "/bench/baseline-create/", declaration(SMALL), expect=201)

    async def ours_small(client: load.Client) -> None:
        created = await client.call("POST", "/api/media/", declaration(SMALL), expect=201)
        assert created["upload"]["method"] == "post"

    async def ours_large(client: load.Client) -> None:
        created = await client.call("POST", "/api/media/", declaration(LARGE), expect=201)
        assert len(created["upload"]["first_parts"]["parts"]) == FIRST_PARTS

    def s3ff(size: int) -> load.Operation:
        async def initialize(client: load.Client) -> None:
            body = {
                "field_id": S3FF_FIELD,
                "file_name": "clip.mp4",
                "file_size": size,
                "content_type": "video/mp4",
            }
            await client.call("POST", "/api/s3-upload/upload-initialize/", body)

        return initialize

    return {
        "baseline (no upload logic)": baseline,
        "ours: create, 1 MiB": ours_small,
        "s3ff: initialize, 1 MiB": s3ff(SMALL),
        "ours: create, 200 MiB": ours_large,
        "s3ff: initialize, 200 MiB": s3ff(LARGE),
    }


# ------------------------------------------------------------------ queries per request


def count_queries(token: str) -> list[tuple[str, int, str]]:
    """Count the SQL queries of each API call, through Django's test client in this process."""
    import requests
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.support.media import media_bytes

    http = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
    rows: list[tuple[str, int, str]] = []

    def counted(name: str, call: Callable[[], Any], note: str = "") -> Any:
        with CaptureQueriesContext(connection) as queries:
            response = call()
        assert response.status_code in (200, 201), (name, response.status_code, response.content)
        rows.append((name, len(queries), note or shape(queries.captured_queries)))
        return response.json()

    def post(path: str, body: Any = None, **headers: Any) -> Callable[[], Any]:
        return lambda: http.post(path, body, content_type="application/json", **headers)

    counted("baseline create", post("/bench/baseline-create/", declaration(SMALL)))
    content = media_bytes("video/mp4", SMALL)
    created = counted("create, POST upload", post("/api/media/", declaration(SMALL)))
    form = created["upload"]
    requests.post(
        form["url"], data=form["fields"], files={"file": ("clip.mp4", content)}, timeout=60
    ).raise_for_status()
    counted("complete, POST upload", post(f"/api/media/{created['id']}/complete/"))
    counted(
        "create, with an Idempotency-Key",
        post("/api/media/", declaration(SMALL), HTTP_IDEMPOTENCY_KEY="bench-key-1"),
    )

    # A small multipart upload: 3 parts of 5 MiB (the queries do not depend on the size).
    settings.UPLOAD_MULTIPART_THRESHOLD, settings.UPLOAD_PART_SIZE = 5 * MiB, 5 * MiB
    try:
        size = 11 * MiB
        content = media_bytes("video/mp4", size)
        created = counted("create, multipart upload", post("/api/media/", declaration(size)))
        numbers = list(range(1, created["upload"]["part_count"] + 1))
        signed = counted(
            f"parts ({len(numbers)} URLs)",
            post(f"/api/media/{created['id']}/parts/", {"part_numbers": numbers}),
        )
        for part in signed["parts"]:
            start = (part["part_number"] - 1) * 5 * MiB
            body = content[start : start + part["size"]]
            requests.put(part["url"], data=body, timeout=60).raise_for_status()
        counted("complete, multipart upload", post(f"/api/media/{created['id']}/complete/"))
    finally:
        settings.UPLOAD_MULTIPART_THRESHOLD, settings.UPLOAD_PART_SIZE = 64 * MiB, 16 * MiB
    if servers_have_s3ff():
        initialize = {
            "field_id": S3FF_FIELD,
            "file_name": "a.mp4",
            "file_size": LARGE,
            "content_type": "video/mp4",
        }
        counted("s3ff initialize", post("/api/s3-upload/upload-initialize/", initialize))
    return rows


def shape(queries: list[dict[str, str]]) -> str:
    """Name each query by its verb and table, e.g. SELECT authtoken_token."""
    names = []
    for query in queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = ""
        for keyword in (" FROM ", "INSERT INTO ", "UPDATE "):
            if keyword in sql.upper():
                rest = sql[sql.upper().index(keyword) + len(keyword) :].lstrip()
                table = rest.split(None, 1)[0].strip('"')
                break
        lock = " FOR UPDATE" if "FOR UPDATE" in sql.upper() else ""
        names.append(f"{verb} {table}{lock}".strip())
    return ", ".join(names)


def servers_have_s3ff() -> bool:
    """Tell whether django-s3-file-field is installed (and so routed)."""
    from django.conf import settings

    return bool(getattr(settings, "HAS_S3FF", False))


# ------------------------------------------------------------------ the run


def main() -> None:
    """Measure every operation at every concurrency level, interleaved; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per cell")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured time per cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, interleaved; best kept")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="the app's CONN_MAX_AGE (DATABASE_URL ?conn_max_age=), as a production deployment "
        "sets it; 0 (Django's default) opens a connection per request",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also record a py-spy flame graph (SVG) of one app worker for each cell of the first "
        "round, into this directory (pip install py-spy)",
    )
    parser.add_argument(
        "--cache",
        choices=("locmem", "redis"),
        default="locmem",
        help="the app's cache: local memory (throttle counts in the app's table, as `make serve` "
        f"has it) or Redis (database {REDIS_DB}, emptied first; it holds the counts then)",
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    levels = [int(text) for text in args.clients.split(",") if text.strip()]
    cache_url = "locmemcache://"
    if args.cache == "redis":
        cache_url, why_not = servers.redis_cache_url(REDIS_DB)
        if not cache_url:
            raise SystemExit(f"--cache redis: {why_not}")

    with servers.workdir("bench-issuance-") as workdir, servers.s3_server(args.s3, workdir) as s3:
        database = servers.Database.create(workdir)
        env = servers.bench_env(
            workdir, database, s3, conn_max_age=args.conn_max_age, CACHE_URL=cache_url
        )
        app = servers.App(env, workdir, workers=args.workers)
        try:
            servers.setup_django(env)
            s3.start()
            token = servers.make_user()
            app.start()
            ops = operations()
            if not servers_have_s3ff():
                print("(django-s3-file-field is not installed: its rows are left out)")
                ops = {name: op for name, op in ops.items() if not name.startswith("s3ff")}
            client = load.Client("127.0.0.1", app.port, token)
            best: dict[tuple[str, int], load.Result] = {}
            for round_ in range(args.rounds):  # interleaved: a slow spell of the machine hits all
                for level in levels:
                    for name, operation in ops.items():
                        spy = profile(app, args, name, level) if round_ == 0 else None
                        result = load.run(client, operation, level, args.warmup, args.seconds)
                        if spy is not None:
                            spy.wait()
                        key = (name, level)
                        if key not in best or result.throughput > best[key].throughput:
                            best[key] = result
            queries = count_queries(token)
        finally:
            app.stop()
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    counts = servers.throttle_store(cache_url)
    print_tables(args, database.vendor, s3.name, list(ops), levels, best, queries, counts)


def profile(app: servers.App, args: argparse.Namespace, name: str, level: int) -> Any:
    """Start py-spy on the first worker for the coming cell (None without --profile)."""
    if args.profile is None:
        return None
    args.profile.mkdir(parents=True, exist_ok=True)
    slug = "".join(char if char.isalnum() else "-" for char in name).strip("-")
    out = args.profile / f"{slug}-c{level}.svg"
    seconds = str(max(1, round(args.warmup + args.seconds)))
    command = ["py-spy", "record", "--nonblocking", "-r", "200", "-d", seconds, "-o", str(out)]
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy) if spy.exists() else command[0], *command[1:], "-p", str(app.worker_pids()[0])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def print_tables(
    args: argparse.Namespace,
    vendor: str,
    store: str,
    names: list[str],
    levels: list[int],
    best: dict[tuple[str, int], load.Result],
    queries: list[tuple[str, int, str]],
    counts: str = "",
) -> None:
    """Print the throughput table (ratios to the baseline and to s3ff) and the query counts;
    `counts` names where the app kept its throttle counts."""
    print(
        f"\nIssuance: gunicorn ({args.workers} sync workers), {vendor}, {store} on loopback; "
        f"{args.seconds:g} s per cell after {args.warmup:g} s warm-up, best of {args.rounds} "
        f"round(s), connections kept {args.conn_max_age} s ({time.strftime('%Y-%m-%d')})"
    )
    print(f"throttle counts: {counts}\n" if counts else "")
    print(
        f"{'operation':<34} {'clients':>7} {'ops/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'vs baseline':>11} {'vs s3ff':>8}"
    )
    baseline_name = names[0]
    for level in levels:
        for name in names:
            result = best[(name, level)]
            base = best[(baseline_name, level)].throughput
            versus = ""
            if name.startswith("ours"):
                size = name.rsplit(",", 1)[1].strip()
                rival = best.get((f"s3ff: initialize, {size}", level))
                versus = ratio(result.throughput, rival.throughput) if rival else "-"
            p50, p99 = (show(result.percentile(cut) * 1000, ".1f") for cut in (0.5, 0.99))
            # A cell that completed nothing (a busy machine, a short --seconds) shows n/a.
            print(
                f"{name:<34} {level:>7} {show(result.throughput, '.0f'):>7} {p50:>7} {p99:>7} "
                f"{ratio(result.throughput, base):>11} {versus:>8}"
            )
    print("\nSQL queries per request (CaptureQueriesContext; token authentication included)\n")
    print(f"{'request':<34} {'queries':>7}  what")
    for name, count, what in queries:
        print(f"{name:<34} {count:>7}  {what}")


if __name__ == "__main__":
    main()
