"""Servers the benchmarks start and measure: a database, an S3 store (moto or Ceph RGW), the app
under gunicorn.

Everything started here is a child process stopped by its own PID (never by name). The app runs
with `bench.support.settings`; the benchmark process sets Django up with the same settings and
database, so it can make users and tokens, count queries and look at records.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024**2
BUCKET = "bench"
ACCESS_KEY, SECRET_KEY = "bench", "bench-secret"
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The Redis server a bench may count throttles in (a database number is added per bench).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def free_port() -> int:
    """Return a free TCP port on loopback."""
    from uploads.storage.local_s3 import free_port as free

    return free()


# ------------------------------------------------------------------ the database


@dataclass
class Database:
    """A throwaway database: PostgreSQL when it answers, else a SQLite file (said in the tables)."""

    url: str
    vendor: str
    _admin_url: str = ""
    _name: str = ""

    @classmethod
    def create(cls, workdir: Path, *, want_postgres: bool = True) -> "Database":
        """Create an empty database for this run."""
        if want_postgres:
            try:
                import psycopg

                name = f"mediaupload_bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
                    db.execute(f'CREATE DATABASE "{name}"')
                base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
                return cls(f"{base}/{name}", "postgresql", POSTGRES_ADMIN_URL, name)
            except Exception as error:  # any failure: fall back to SQLite, and say so
                print(f"(PostgreSQL unavailable: {str(error).strip().splitlines()[0]}; SQLite)")
        return cls(f"sqlite:///{workdir / 'bench.sqlite3'}", "sqlite")

    def drop(self) -> None:
        """Drop a PostgreSQL database made for this run (the app's connections are gone)."""
        if not self._name:
            return
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True, connect_timeout=3) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


# ------------------------------------------------------------------ environment and Django


def bench_env(
    workdir: Path, database: Database, s3: "S3Server", *, conn_max_age: int = 600, **extra: str
) -> dict[str, str]:
    """The environment of the app servers (and of this process, before Django is set up).

    The app keeps its database connections for `conn_max_age` seconds (`?conn_max_age=` in
    DATABASE_URL), as a production deployment would; 0 (Django's default, and `make serve`'s
    unless DATABASE_URL says otherwise) opens one per request.
    """
    database_url = database.url
    if conn_max_age and database.vendor == "postgresql":
        database_url += f"?conn_max_age={conn_max_age}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.support.settings",
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": "bench-only-not-secret",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "CACHE_URL": "locmemcache://",
        "CONTENT_UPLOAD_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_S3_ENDPOINT_URL": s3.endpoint,
        "UPLOAD_MAX_BYTES": str(5 * 1024**4),
        "STATIC_ROOT": str(workdir / "static"),
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def redis_cache_url(db: int) -> tuple[str, str]:
    """A CACHE_URL on Redis database `db`, emptied first; or ("", why not) when Redis (or the
    `redis` package) is missing."""
    try:
        import redis
    except ImportError:
        return "", "the redis package is not installed"
    url = f"{REDIS_URL}/{db}"
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10) as server:
            server.flushdb()  # counts left by an earlier run would throttle this one
    except redis.RedisError as error:
        return "", f"Redis at {url} did not answer ({error})"
    return url, ""


def throttle_store(cache_url: str) -> str:
    """Where the app counts throttles with this CACHE_URL, by the product's own rule
    (`uploads.api.rate_limits.store`, no UPLOAD_THROTTLE_CACHE): a shared cache, else its table."""
    from django.core.cache import CacheHandler
    from environ import Env

    from uploads.api import rate_limits

    cache = CacheHandler({"default": Env.cache_url_config(cache_url)})["default"]
    if rate_limits.is_shared(cache):
        return f"{type(cache).__name__} ({cache_url})"
    return "the app's table (uploads_throttlecount)"


def setup_django(env: dict[str, str]) -> None:
    """Set Django up in this process with the app servers' settings; migrate the database."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_user(username: str = "bench", password: str = "bench-password") -> str:
    """Create a user (if missing) and return its API token."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, f"{username}@example.com", password)
    return str(Token.objects.get_or_create(user=user)[0].key)


# ------------------------------------------------------------------ processes


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    """Wait until `url` answers anything at all (an HTTP error is an answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited {process.returncode}; see {log}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop(process)
    raise SystemExit(f"nothing answered at {url} within {timeout:.0f} s; see {log}")


def stop(process: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """Stop a child we started (if any)."""
    from uploads.storage.local_s3 import stop_process

    if process is not None:
        stop_process(process, grace=grace)


def boto3_command(path: Path, s3: "S3Server", *, threads: int = 0, part_size: int = 0) -> list[str]:
    """The command that uploads `path` with boto3's upload_file, from a process of its own: with
    boto3's defaults (8 MiB parts, 10 threads), or with `threads` and `part_size` (like for like
    with our clients: their parallel parts and the server's part size)."""
    return [
        sys.executable,
        *("-m", "bench.support.client", "boto3", str(path)),
        *("--endpoint", s3.endpoint, "--bucket", BUCKET),
        *(("--parallel", str(threads), "--part-size", str(part_size)) if threads else ()),
    ]


# ------------------------------------------------------------------ S3 servers

# The stores a bench can run against (`--s3`): moto in server mode, and Ceph's RADOS Gateway (a
# production S3 implementation, the strict tier's) on a one-OSD cluster kept in memory.
S3_KINDS = ("moto", "rgw")


class S3Server(Protocol):
    """An S3 store the benches upload to, with the bench bucket."""

    @property
    def name(self) -> str:
        """How the tables name the store."""

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""

    @property
    def access_key(self) -> str:
        """The bench user's access key."""

    @property
    def secret_key(self) -> str:
        """The bench user's secret key."""

    def start(self, origins: list[str] | None = None) -> None:
        """Make the bench bucket empty, with CORS for `origins` (Django must be set up)."""

    def stop(self) -> None:
        """Give back what the last uploads took (between rounds)."""

    def close(self) -> None:
        """Stop the store for good."""

    def pids(self) -> list[int]:
        """The store's processes, for CPU figures."""


def add_s3_argument(parser: argparse.ArgumentParser) -> None:
    """Let a bench choose its store: `--s3 moto` (the default) or `--s3 rgw`."""
    parser.add_argument(
        "--s3", choices=S3_KINDS, default="moto", help="the S3 store to upload to (default: moto)"
    )


@contextmanager
def s3_server(kind: str, workdir: Path, *, largest: int = 0) -> Iterator[S3Server]:
    """Start the chosen store for a bench run (RGW sized for files of `largest` bytes)."""
    server: S3Server = Moto(workdir) if kind == "moto" else Rgw.launch(workdir, largest)
    try:
        yield server
    finally:
        server.close()


def _point_django_at(server: S3Server) -> None:
    """Point this process's app settings at the store."""
    from django.conf import settings

    settings.AWS_S3_ENDPOINT_URL = server.endpoint
    settings.AWS_ACCESS_KEY_ID = server.access_key
    settings.AWS_SECRET_ACCESS_KEY = server.secret_key


@dataclass
class Moto:
    """moto's S3 in server mode, restarted empty for every start (its memory given back)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    name: str = "moto"
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, origins: list[str] | None = None) -> None:
        """(Re)start moto empty and create the bucket (Django must be set up)."""
        from uploads import storage
        from uploads.storage import local_s3

        stop(self.process)
        log = self.workdir / "moto.log"
        self.process = local_s3.start_moto_server("127.0.0.1", self.port, log_path=log)
        _point_django_at(self)
        storage.configure_bucket(cors_origins=origins or ["http://127.0.0.1"])

    def stop(self) -> None:
        """Stop moto."""
        stop(self.process)
        self.process = None

    def close(self) -> None:
        """Stop moto."""
        self.stop()

    def pids(self) -> list[int]:
        """moto's process."""
        return [self.process.pid] if self.process else []


# RGW for benches: memory for four of the largest file (a POST upload is held twice until its
# scratch copy goes, and a nearly full OSD stops taking writes without an error: the request just
# waits); each start deletes what the last round stored and has the garbage collector free it at
# once. A bucket index of 16 shards from the start, so no dynamic reshard (around 100,000 objects
# per shard) lands inside a measurement.
RGW_BENCH_CONF = """\
rgw override bucket index max shards = 16
rgw dynamic resharding = false
"""
RGW_MIN_MEMSTORE = 2 * 1024**3


@dataclass
class Rgw:
    """Ceph's RADOS Gateway on a one-OSD memstore cluster, started once per bench run."""

    cluster: Any
    name: str = "Ceph RGW"

    @classmethod
    def launch(cls, workdir: Path, largest: int) -> "Rgw":
        """Start the cluster (a few seconds) with room for three files of `largest` bytes."""
        from tests.support.rgw_cluster import missing_binaries, start_rgw_cluster

        missing = missing_binaries()
        if missing:
            raise SystemExit(f"Ceph RGW is not installed ({', '.join(missing)}): make system-deps")
        cluster = start_rgw_cluster(
            workdir / "rgw",
            log=lambda *args: None,
            memstore_bytes=max(RGW_MIN_MEMSTORE, 4 * largest),
            extra_conf=RGW_BENCH_CONF,
        )
        return cls(cluster)

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return str(self.cluster.endpoint)

    @property
    def access_key(self) -> str:
        """The bench user's access key."""
        return str(self.cluster.admin.access_key)

    @property
    def secret_key(self) -> str:
        """The bench user's secret key."""
        return str(self.cluster.admin.secret_key)

    def start(self, origins: list[str] | None = None) -> None:
        """Empty the bucket (objects and open multipart uploads) and set its CORS."""
        from uploads import storage

        _point_django_at(self)
        storage.configure_bucket(cors_origins=origins or ["http://127.0.0.1"])
        for uploads in list(storage.list_multipart_upload_pages("")):
            for upload in uploads:
                storage.abort_multipart_upload(key=upload.key, upload_id=upload.upload_id)
        for page in list(storage.list_object_pages("")):  # listed whole: deleting moves the pages
            storage.delete_objects([stored.key for stored in page])
        self.cluster.collect_garbage()

    def stop(self) -> None:
        """Nothing: the gateway keeps running, and the next start empties the bucket."""

    def close(self) -> None:
        """Stop the cluster's daemons."""
        self.cluster.stop()

    def pids(self) -> list[int]:
        """The mon, OSD and gateway processes."""
        return list(self.cluster.pids.values())


@dataclass
class App:
    """The app under gunicorn (sync workers, as `make serve`), with the bench settings."""

    env: dict[str, str]
    workdir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The app's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        """Start gunicorn and wait until every worker is up and answering."""
        log = self.workdir / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "mediaupload.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--error-logfile",
            str(log),
            "--timeout",
            "600",
            *extra,
        ]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_http(f"{self.url}/healthz", self.process, log)
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        """The PIDs of gunicorn's worker processes (the master's children)."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(child) for child in children)

    def stop(self) -> None:
        """Stop gunicorn (it stops its workers)."""
        stop(self.process)
        self.process = None


def collectstatic(env: dict[str, str]) -> None:
    """Write the hashed static files the page needs when DEBUG is off."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )


# ------------------------------------------------------------------ probes of a process


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def precise_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, to the nanosecond where the kernel says it.

    /proc/<pid>/stat counts in clock ticks (10 ms) but includes threads that have exited;
    /proc/<pid>/task/*/schedstat counts nanoseconds, for the threads still alive. The larger of
    the two is the better figure either way.
    """
    nanoseconds = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError, ValueError, IndexError):
            nanoseconds += int((task / "schedstat").read_text().split()[0])
    return max(cpu_seconds(pid), nanoseconds / 1e9)


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak resident set since the last reset) of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def reset_peak(pid: int) -> bool:
    """Reset a process's peak RSS to its current RSS (Linux clear_refs 5); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A scratch directory for one run, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_media(path: Path, size: int, content_type: str = "video/mp4") -> None:
    """Write `size` bytes of media with a real header (`media_bytes`), in blocks, to `path`."""
    from tests.support.media import media_bytes

    block = 64 * MiB
    if size <= block:
        path.write_bytes(media_bytes(content_type, size))
        return
    # A real header sized for the whole file, then random bytes, written a block at a time.
    head = media_bytes(content_type, size) if size <= 256 * MiB else None
    if head is not None:
        path.write_bytes(head)
        return
    import struct

    sample = media_bytes("video/mp4", 4096)
    mdat = sample.index(b"mdat")
    room = size - (mdat - 4)
    if room > 0xFFFFFFFF:
        raise SystemExit("files over 4 GiB need a 64-bit mdat box; use a smaller size")
    header = sample[: mdat - 4] + struct.pack(">I", room) + b"mdat"
    with path.open("wb") as out:
        out.write(header)
        left = size - len(header)
        while left:
            chunk = os.urandom(min(block, left))
            out.write(chunk)
            left -= len(chunk)


def children_of() -> dict[int, list[int]]:
    """Every live process's children, by parent PID."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    """A process and all its live descendants."""
    tree = children_of() if tree is None else tree
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def tree_cpu(
    pid: int,
    exclude: frozenset[int] | set[int] = frozenset(),
    tree: dict[int, list[int]] | None = None,
) -> float:
    """CPU seconds of a process and its live descendants, leaving out the subtrees in `exclude`."""
    tree = children_of() if tree is None else tree
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in exclude:
            continue
        with suppress(OSError):
            total += cpu_seconds(current)
        todo.extend(tree.get(current, []))
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS
