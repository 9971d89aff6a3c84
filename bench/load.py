"""Benchmark: many users at once, each uploading whole small files, under the product's limits.

Run: `.venv/bin/python bench/load.py [--s3 moto|rgw] [--clients 50] [--seconds 30] [--warmup 3]
[--nodes 1,2] [--baseline-seconds 5] [--size-kib 64] [--no-table]`.

One run starts the S3 store and a fresh PostgreSQL database (SQLite if none answers), then, for
each row, the app as `make serve` runs it: gunicorn with 2 sync workers per node, the production
settings (DEBUG off; plain HTTP on loopback, so SECURE_SSL_REDIRECT off; database connections
kept, as a deployment sets `?conn_max_age=`) with the product's own quotas and throttles
(`BENCH_LIMITS=product`: 120 creates a minute per user, 20 uploads pending per user…); the bench
app is installed for its baseline view only. Every row has fresh users: `--clients` of them, each
with its own token, client i being user i throughout. Each client, in a closed loop:

1. `POST /api/media/` declaring a `--size-kib` MP4 (real MP4 bytes: complete sniffs them);
2. POST of the bytes to S3 with the form it got (`upload.url`, `upload.fields`, the file last);
3. `POST /api/media/{id}/complete/`, whose record must say `uploaded`.

A failed call (any non-2xx answer, 429 included, a transport failure, or no answer in 60 s) is
counted against its kind and the client starts a new upload; the run goes on. Only uploads that
finished inside the `--seconds` window after the warm-up are measured: uploads per second, the
p50/p99 of the whole upload and of each call, and errors by kind (the target: none).

The rows: one node counting throttles in Redis (`CACHE_URL=redis://…/13`, emptied first), the
same node counting them in the app's table (`CACHE_URL=locmemcache://`, the default without a
shared cache; `--no-table` leaves it out), and two nodes: two gunicorn instances on two ports
sharing PostgreSQL and Redis, each client sticking to one (half the clients each). Redis is
127.0.0.1:6379 unless BENCH_REDIS_URL says otherwise; without it (or the `redis` package) every
row counts in the app's table, and the output says so. The table also gives the share of the
machine busy during each row and how much of it other processes took (another bench meanwhile).

Each row ends with the issuance baseline of the same app and clients: `POST
/bench/baseline-create/` (bench/support/views.py: authentication, the same per-user create
throttle, validation, quota check and one INSERT, no upload logic) for `--baseline-seconds`, by
other users, so the baseline's counts never touch the uploaders' budgets. Its records stay pending,
and a user may hold only 20: each baseline client creates as a user of its own pool, moving to the
next one after 20. The table gives the ratios of app calls per second (a create and a complete per
upload) and of uploads per second to the baseline's creates per second: what the whole upload
costs the app, against the cheapest authenticated, throttled insert it can do.

With the product's throttle, a user may create 120 uploads a minute: a run whose clients each
finish more than 2 uploads a second (or that is much longer than a minute) gets 429s, as real
users would.
"""

import argparse
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import load, servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402

KiB = 1024
CONTENT_TYPE = "video/mp4"
FILENAME = "clip.mp4"
# Redis database of this bench's throttle counts (emptied at each row); issuance.py uses 14.
REDIS_DB = 13
# The baseline's user pools are sized for up to this many creates a second, well above what this
# app answers on a small machine (~350/s, bench/README.md), so no pool runs dry.
BASELINE_CEILING = 2000
STEPS = ("create", "S3 POST", "complete")
# Servers this run uses that it did not start (their CPU is the run's, not another load's).
SERVED_BY = {"redis-server", "postgres"}


@dataclass
class PooledClient(load.Client):
    """A baseline client: it creates as the next user of its pool once one has made `budget`
    records (they stay pending, and the product lets a user hold only so many)."""

    pool: list[str] = field(default_factory=list)
    budget: int = 1
    made: int = 0

    async def request(self, method: str, path: str, body: Any = None) -> load.Answer:
        """Send the request as the pool's current user."""
        self.token = self.pool[min(self.made // self.budget, len(self.pool) - 1)]
        self.made += 1
        return await super().request(method, path, body)


@dataclass
class Row:
    """One configuration measured: its uploads, its baseline and what the machine did meanwhile."""

    nodes: int
    cache_url: str
    store: str
    uploads: load.Tally
    baseline: load.Tally
    machine_busy: float  # share of all cores busy during the uploads' cell
    generator_cpu: float  # this process's CPU during that cell, share of one core
    others_cpu: float  # other processes' CPU during that cell (not ours, not the servers we use)
    counts_found: str  # where the throttle counts were seen after the row
    logs: list[Path]

    @property
    def errors(self) -> int:
        """Failed calls of the row, uploads and baseline, warm-up included."""
        return sum(self.uploads.errors.values()) + sum(self.baseline.errors.values())


def declaration(size: int) -> dict[str, Any]:
    """What a client declares about the MP4 it uploads."""
    return {"filename": FILENAME, "content_type": CONTENT_TYPE, "size": size}


def upload_operation(content: bytes) -> load.CountedOperation:
    """A whole upload of `content`: create, POST to S3, complete, as one timed operation."""
    declared = declaration(len(content))

    async def upload(client: load.Client, steps: load.Steps) -> None:
        created = await steps.json("create", client.request("POST", "/api/media/", declared))
        form = created.get("upload") or {}
        if form.get("method") != "post":
            raise load.StepFailed("create", "not a POST upload", repr(form)[:300])
        sent = load.post_form(form["url"], form["fields"], FILENAME, content, CONTENT_TYPE)
        await steps.call("S3 POST", sent)
        path = f"/api/media/{created['id']}/complete/"
        done = await steps.json("complete", client.request("POST", path))
        if done.get("status") != "uploaded":
            raise load.StepFailed("complete", f"status {done.get('status')}", repr(done)[:300])

    return upload


def baseline_operation(size: int) -> load.CountedOperation:
    """One baseline create of a file of `size` bytes."""
    declared = declaration(size)

    async def baseline(client: load.Client, steps: load.Steps) -> None:
        await steps.call("baseline", client.request("POST", "/bench/baseline-create/", declared))

    return baseline


# ------------------------------------------------------------------ users and counts


def make_users(prefix: str, count: int) -> list[tuple[int, str]]:
    """Create `count` users with tokens; return (pk, token) of each. Their passwords are unusable:
    hashing one takes a third of a second, and the API only sees tokens."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    users = User.objects.bulk_create(
        [User(username=f"{prefix}-{n}", password=make_password(None)) for n in range(count)]
    )
    tokens = Token.objects.bulk_create([Token(key=Token.generate_key(), user=u) for u in users])
    return [(token.user.pk, token.key) for token in tokens]


def creates_per_user() -> int:
    """How many baseline records one user may make in a short cell: the pending quota bounds
    them (they are never completed), and so does the create throttle."""
    from uploads import conf
    from uploads.api import rate_limits

    bounds = []
    if conf.user_max_pending():
        bounds.append(conf.user_max_pending())
    rate = conf.throttle_rate("create")
    if rate:
        bounds.append(rate_limits.parse_rate(rate)[0])
    return min(bounds, default=10**9)


def limits() -> str:
    """The product's limits the app runs with (this process has the same settings)."""
    from django.template.defaultfilters import filesizeformat

    from uploads import conf

    rates = ", ".join(f"{scope} {conf.throttle_rate(scope)}" for scope in ("create", "parts"))
    quota = filesizeformat(conf.user_quota_bytes()) if conf.user_quota_bytes() else "none"
    return (
        f"limits per user: {rates}; at most {conf.user_max_pending() or 'any number of'} "
        f"pending; quota {quota}"
    )


def counts_found(cache_url: str, user_pks: list[int]) -> str:
    """Where the app counted these users' creates: keys in the row's Redis database, rows in the
    app's table (the product picks the store; this checks that it picked the one expected)."""
    from uploads.models import ThrottleCount

    keys = [f"uploads:create:{pk}" for pk in user_pks]
    rows = ThrottleCount.objects.filter(key__in=keys).count()
    found = f"{rows} users' rows in uploads_throttlecount"
    if cache_url.startswith("redis"):
        import redis

        with redis.Redis.from_url(cache_url, socket_connect_timeout=2) as server:
            count = sum(1 for _ in server.scan_iter(match="*uploads-rate:uploads:create:*"))
        found += f", {count} create counters in Redis"
    return found


def foreign_cpu() -> dict[int, float]:
    """CPU seconds so far of each process that is neither this run's (this process and its
    children: the app, the S3 store) nor a server it uses (PostgreSQL, Redis): another bench
    running meanwhile shows here."""
    tree = servers.children_of()
    ours = set(servers.descendants(os.getpid(), tree))
    found = {}
    for pid in (pid for pids in tree.values() for pid in pids):
        if pid in ours:
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name not in SERVED_BY and not name.startswith("postgres"):
            found[pid] = servers.cpu_seconds(pid)
    return found


# ------------------------------------------------------------------ a row


def measure_row(
    args: argparse.Namespace,
    number: int,
    nodes: int,
    cache_url: str,
    content: bytes,
    workdir: Path,
    database: servers.Database,
    s3: servers.S3Server,
) -> Row:
    """Start `nodes` app servers counting throttles by `cache_url`; run the uploads, then the
    baseline, with fresh users; stop the servers."""
    s3.start()  # an empty bucket (moto restarted empty): each row starts alike
    if cache_url.startswith("redis"):
        servers.redis_cache_url(REDIS_DB)  # empty it: every row counts from zero
    uploaders = make_users(f"load{number}", args.clients)
    budget = creates_per_user()
    # Enough users per baseline client for BASELINE_CEILING creates a second, `budget` each.
    expected = BASELINE_CEILING * (args.warmup + args.baseline_seconds) / args.clients
    pool_size = max(1, math.ceil(expected / budget))
    pools = make_users(f"base{number}", args.clients * pool_size)

    env = servers.bench_env(workdir, database, s3, CACHE_URL=cache_url, BENCH_LIMITS="product")
    apps = []
    for node in range(nodes):
        logs = workdir / f"row{number}-node{node + 1}"
        logs.mkdir()
        apps.append(servers.App(env, logs, workers=args.workers))
    try:
        # The nodes start side by side: a gunicorn takes seconds to import the app.
        with ThreadPoolExecutor(nodes) as starting:
            list(starting.map(servers.App.start, apps))
        # Client i is user i, on node i mod nodes throughout (a sticky balancer).
        clients = [
            load.Client("127.0.0.1", apps[i % nodes].port, token)
            for i, (_, token) in enumerate(uploaders)
        ]
        busy_before, cpu_before = servers.machine_busy(), time.process_time()
        others_before, wall_before = foreign_cpu(), time.monotonic()
        uploads = load.run_counted(clients, upload_operation(content), args.warmup, args.seconds)
        wall = time.monotonic() - wall_before
        busy_after, others_after = servers.machine_busy(), foreign_cpu()
        others = sum(seconds - others_before.get(pid, 0.0) for pid, seconds in others_after.items())
        generator_cpu = per(time.process_time() - cpu_before, wall)
        machine = per(busy_after[0] - busy_before[0], busy_after[1] - busy_before[1])
        pooled: list[load.Client] = [
            PooledClient(
                "127.0.0.1",
                apps[i % nodes].port,
                "",
                pool=[token for _, token in pools[i * pool_size : (i + 1) * pool_size]],
                budget=budget,
            )
            for i in range(args.clients)
        ]
        baseline = load.run_counted(
            pooled, baseline_operation(len(content)), args.warmup, args.baseline_seconds
        )
    finally:
        with ThreadPoolExecutor(nodes) as stopping:
            list(stopping.map(servers.App.stop, apps))
    return Row(
        nodes=nodes,
        cache_url=cache_url,
        store=servers.throttle_store(cache_url),
        uploads=uploads,
        baseline=baseline,
        machine_busy=machine,
        generator_cpu=generator_cpu,
        others_cpu=per(others, wall * (os.cpu_count() or 1)),
        counts_found=counts_found(cache_url, [pk for pk, _ in uploaders + pools]),
        logs=[app.workdir / "gunicorn.log" for app in apps],
    )


# ------------------------------------------------------------------ the run


def main() -> None:
    """Measure each row; print the tables (exit 1 when any call failed)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50, help="clients, each its own user")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per row")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time per cell")
    parser.add_argument("--nodes", default="1,2", help="node counts, comma-separated")
    parser.add_argument(
        "--baseline-seconds", type=float, default=5.0, help="measured time of each baseline"
    )
    parser.add_argument("--size-kib", type=int, default=64, help="size of each uploaded file")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per node")
    parser.add_argument(
        "--no-table",
        dest="table",
        action="store_false",
        help="leave out the one-node row counting throttles in the app's table",
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    node_counts = [int(text) for text in args.nodes.split(",") if text.strip()]

    from tests.support.media import media_bytes

    content = media_bytes(CONTENT_TYPE, args.size_kib * KiB)
    load_before = os.getloadavg()
    notes: list[str] = []
    rows: list[Row] = []
    with servers.workdir("bench-load-") as workdir, servers.s3_server(args.s3, workdir) as s3:
        database = servers.Database.create(workdir)
        redis_url, why_not = servers.redis_cache_url(REDIS_DB)
        if not redis_url:
            notes.append(f"({why_not}: every row counts throttles in the app's table)")
        plan = [(nodes, redis_url or "locmemcache://") for nodes in node_counts]
        if redis_url and args.table and 1 in node_counts:
            plan.insert(node_counts.index(1) + 1, (1, "locmemcache://"))
        env = servers.bench_env(workdir, database, s3, BENCH_LIMITS="product")
        try:
            servers.setup_django(env)
            notes.insert(0, limits())
            for number, (nodes, cache_url) in enumerate(plan, 1):
                row = measure_row(args, number, nodes, cache_url, content, workdir, database, s3)
                rows.append(row)
                if failed_on_the_server(row):
                    show_logs(row)
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    print_tables(args, rows, s3.name, database.vendor, load_before, notes)
    errors = sum(row.errors for row in rows)
    if errors:
        raise SystemExit(f"{errors} calls failed (the target is none): see the errors above")


def failed_on_the_server(row: Row) -> bool:
    """Tell whether a row had an error the app's log may explain (5xx, transport, timeout)."""
    return any(
        not reason.isdigit() or reason.startswith("5")
        for tally in (row.uploads, row.baseline)
        for _, reason in tally.errors
    )


def show_logs(row: Row, lines: int = 40) -> None:
    """Print the end of each node's gunicorn log (to stderr: the workdir goes at the end)."""
    for log in row.logs:
        text = log.read_text(errors="replace").splitlines() if log.exists() else []
        print(f"--- the last {lines} lines of {log}:", *text[-lines:], sep="\n", file=sys.stderr)


def label(row: Row) -> str:
    """The row's name for its throttle counts: Redis, or the app's table."""
    return "Redis" if row.cache_url.startswith("redis") else "table"


def print_tables(
    args: argparse.Namespace,
    rows: list[Row],
    store: str,
    vendor: str,
    load_before: tuple[float, float, float],
    notes: list[str],
) -> None:
    """Print throughput and ratios, latencies, errors, and where each row counted throttles."""
    print(
        f"\nLoad: {args.clients} clients, each its own user and token, each a closed loop of whole "
        f"uploads of a {args.size_kib} KiB MP4 (create, S3 POST, complete); gunicorn "
        f"({args.workers} sync workers per node), the product's quotas and throttles, {vendor}, "
        f"{store} on loopback; {args.seconds:g} s measured after {args.warmup:g} s warm-up, "
        f"baseline {args.baseline_seconds:g} s ({time.strftime('%Y-%m-%d %H:%M')})"
    )
    print(
        f"load average before the run: {' '.join(f'{v:.2f}' for v in load_before)}; "
        f"{os.cpu_count()} cores"
    )
    for note in notes:
        print(note)
    print(
        f"\n{'nodes':>5} {'counts':<6} {'uploads/s':>9} {'calls/s':>8} {'base/s':>7} "
        f"{'calls/base':>10} {'uploads/base':>12} {'errors':>6} {'busy':>5} {'others':>6} "
        f"{'gen CPU':>7}"
    )
    for row in rows:
        uploads, base = row.uploads.throughput, row.baseline.throughput
        # Each measured upload is one create and one complete: the app's share of the work.
        calls = 2 * uploads
        print(
            f"{row.nodes:>5} {label(row):<6} {show(uploads, '.1f'):>9} {show(calls, '.1f'):>8} "
            f"{show(base, '.0f'):>7} {ratio(calls, base):>10} {ratio(uploads, base):>12} "
            f"{row.errors:>6} {show(row.machine_busy, '.0%'):>5} "
            f"{show(row.others_cpu, '.0%'):>6} {show(row.generator_cpu, '.0%'):>7}"
        )
    print(
        "\n(calls/s: a create and a complete per upload; base/s: baseline creates a second; "
        "busy: all cores during the uploads; others: of which processes not of this run "
        "(PostgreSQL and Redis count as ours); gen CPU: this generator, of one core)"
    )

    print("\nLatency in ms, p50 / p99, of the uploads measured (baseline: its creates)\n")
    header = f"{'nodes':>5} {'counts':<6} {'upload':>13}"
    header += "".join(f" {step:>13}" for step in (*STEPS, "baseline"))
    print(header)
    for row in rows:
        cells = [row.uploads.latencies]
        cells += [row.uploads.steps.get(step, []) for step in STEPS]
        cells.append(row.baseline.latencies)
        text = "".join(f" {p50_p99(latencies):>13}" for latencies in cells)
        print(f"{row.nodes:>5} {label(row):<6}{text}")

    print("\nErrors, whole run (warm-up included), by call\n")
    print(f"{'nodes':>5} {'counts':<6} " + " ".join(f"{s:>8}" for s in (*STEPS, "baseline")))
    for row in rows:
        counts = [row.uploads.errors_of(step) for step in STEPS]
        counts.append(row.baseline.errors_of("baseline"))
        print(f"{row.nodes:>5} {label(row):<6} " + " ".join(f"{c:>8}" for c in counts))
    for row in rows:
        for tally in (row.uploads, row.baseline):
            for (kind, reason), count in sorted(tally.errors.items()):
                detail = tally.examples.get((kind, reason), "")
                print(f"  {row.nodes} node(s), {label(row)}: {kind} {reason} x{count}: {detail}")

    print("\nThrottle counts, by row (the store the product picks for that CACHE_URL)\n")
    for row in rows:
        print(
            f"{row.nodes} node(s), CACHE_URL={row.cache_url}: {row.store}; "
            f"found: {row.counts_found}"
        )


def p50_p99(latencies: list[float]) -> str:
    """'p50 / p99' in milliseconds (n/a for none)."""
    p50, p99 = (show(load.percentile(latencies, cut) * 1000, ".0f") for cut in (0.5, 0.99))
    return f"{p50} / {p99}"


if __name__ == "__main__":
    main()
