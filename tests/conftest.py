"""Fixtures: users, API clients, S3 servers and buckets (moto, RGW), browser launch, tier rules.

Helpers that are not fixtures live in tests/support/.
"""

import ast
import functools
import itertools
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.support import media
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.support.s3 import Bucket, raw_s3_client
from tests.support.uploads import token_client
from uploads.storage import local_s3

ROOT = Path(__file__).resolve().parent.parent
# What a test run leaves behind goes to the system's temporary directory, never into the checkout:
# Hypothesis's example database (Schemathesis generates with Hypothesis), Playwright's artefacts.
SCRATCH = Path(tempfile.gettempdir())
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(SCRATCH / "mediaupload-hypothesis"))

# The second project's tests run on their own settings (make test runs them); others skip them.
SAMPLE_SETTINGS = "tests.sampleproject.settings"
collect_ignore = (
    [] if os.environ.get("DJANGO_SETTINGS_MODULE") == SAMPLE_SETTINGS else ["sampleproject"]
)

# Under CI every tier must run: a missing system part fails the run instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Playwright's sync API runs an event loop in the test thread; ORM calls in browser tests are safe
# because the live server runs in its own thread with its own connections.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# ---------------------------------------------------------------- Playwright for browser runs only


@functools.cache
def may_select(markexpr: str, markers: frozenset[str]) -> bool:
    """Tell whether a `-m` expression can select a test that carries all these markers (whatever
    other markers it has). An empty or unreadable expression selects anything."""
    if not markexpr.strip():
        return True
    try:
        from _pytest.mark.expression import Expression

        expression = Expression.compile(markexpr)
    except Exception:  # a private API that may change: then assume the test may be selected
        return True
    names = set(re.findall(r"[\w:.+\-\[\]\\/]+", markexpr)) - {"and", "or", "not"}
    others = sorted(names - markers)

    def selects(present: set[str]) -> bool:
        try:
            return expression.evaluate(lambda name, /, **kwargs: name in present)
        except Exception:
            return True

    return any(
        selects({*markers, *itertools.compress(others, values)})
        for values in itertools.product([False, True], repeat=len(others))
    )


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Load pytest-playwright (and so Playwright) only when browser tests may run.

    pyproject's addopts block it (`-p no:playwright`): importing it costs every run a second or
    more. This hook runs while this conftest loads, before the command line is fully parsed, so
    the plugin's options and fixtures arrive as if it had been loaded from its entry point.
    """
    config = pluginmanager.get_plugin("pytestconfig")
    markexpr = getattr(getattr(config, "known_args_namespace", None), "markexpr", "") or ""
    if pluginmanager.is_blocked("playwright") and may_select(markexpr, frozenset({"browser"})):
        pluginmanager.consider_pluginarg("playwright")


def pytest_configure(config: pytest.Config) -> None:
    """Send Playwright's failure artefacts (--screenshot, --tracing, --video) to the temp dir."""
    if config.pluginmanager.has_plugin("playwright") and config.option.output == "test-results":
        config.option.output = str(SCRATCH / "mediaupload-playwright-results")


def module_markers(path: Path) -> frozenset[str]:
    """The markers a test module puts on all its tests (`pytestmark = pytest.mark.x`, a call of
    one, or a list of those); none for any other shape."""
    text = path.read_text(encoding="utf-8")
    if "pytestmark" not in text:
        return frozenset()
    for node in ast.parse(text).body:
        if not isinstance(node, ast.Assign) or not any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            continue
        items = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
        markers = set()
        for item in items:
            mark = item.func if isinstance(item, ast.Call) else item
            if not (
                isinstance(mark, ast.Attribute)
                and isinstance(mark.value, ast.Attribute)
                and mark.value.attr == "mark"
            ):
                return frozenset()
            markers.add(mark.attr)
        return frozenset(markers)
    return frozenset()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave unimported the test modules whose markers the run's `-m` expression excludes (all
    their tests would be deselected): a unit run imports no browser test, and so no Playwright."""
    markexpr = config.option.markexpr or ""
    if (
        not markexpr
        or collection_path.suffix != ".py"
        or not collection_path.name.startswith("test_")
    ):
        return None
    markers = module_markers(collection_path)
    return True if markers and not may_select(markexpr, markers) else None


def skip_or_fail(reason: str) -> None:
    """Skip with a one-line reason on a laptop; fail under CI, where no tier may skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: tiers may not skip)", pytrace=False)
    pytest.skip(reason)


_skipped: list[str] = []

# What a run may leave in the checkout: the environments it runs in and the tools' own caches.
# Anything else a test writes belongs in tmp_path or the system's temporary directory.
LEFTOVERS_ALLOWED = {".venv", "node_modules", ".nox", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_untracked_at_start: set[str] | None = None


def untracked_paths() -> set[str] | None:
    """The checkout's untracked paths, ignored ones included (whole directories as `dir/`), but
    for the allowed leftovers; None outside a git checkout."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--others", "--directory", "-z"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {
        path
        for path in listing.split("\0")
        if path
        and path.split("/")[0] not in LEFTOVERS_ALLOWED
        and "__pycache__" not in path.split("/")
        and not path.rstrip("/").endswith(".egg-info")  # the editable install's, not a test's
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note what is untracked in the checkout; stop early, with one line, when the configured
    PostgreSQL cannot be reached."""
    global _untracked_at_start
    _untracked_at_start = untracked_paths() if (ROOT / ".git").exists() else None

    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg

    params = {**connection.get_connection_params(), "connect_timeout": 3}
    params.pop("cursor_factory", None)
    try:
        psycopg.connect(**params).close()
    except psycopg.Error as error:
        message = f"PostgreSQL is unreachable ({str(error).strip().splitlines()[0]})"
        if IN_CI:
            pytest.exit(f"{message} (CI=true: the db tier may not skip)", returncode=1)
        pytest.exit(f"skipping the PostgreSQL pass: {message}", returncode=0)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped tests, so a CI run can refuse to pass with any."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a CI run that skipped anything, or that left new files in the checkout (a warning
    elsewhere: on a laptop, an editor or another run may have made them)."""
    if IN_CI and _skipped and exitstatus == 0:
        print(f"\nCI=true but {len(_skipped)} test(s) skipped: {', '.join(_skipped[:5])}")
        session.exitstatus = 1
    now = untracked_paths() if _untracked_at_start is not None else None
    before = _untracked_at_start
    left = sorted(now - before) if now is not None and before is not None else []
    if left:
        print(
            f"\nNew untracked files in the checkout since this run started: {', '.join(left[:10])}"
            " (tests write to tmp_path or the system's temporary directory)"
        )
        if IN_CI and exitstatus == 0:
            session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Start every test with an empty cache: throttle counts must not leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# ---------------------------------------------------------------- users and clients


@pytest.fixture
def user(db: None) -> User:
    """A signed-up person who uploads."""
    return User.objects.create_user("alice", "alice@example.com", "alice-password")


@pytest.fixture
def other_user(db: None) -> User:
    """Someone else, whose records alice must never see."""
    return User.objects.create_user("bob", "bob@example.com", "bob-password")


@pytest.fixture
def api(user: User) -> APIClient:
    """alice's API client (token auth)."""
    return token_client(user)


@pytest.fixture
def other_api(other_user: User) -> APIClient:
    """bob's API client (token auth)."""
    return token_client(other_user)


# ---------------------------------------------------------------- S3 servers and buckets


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server process on a free loopback port, for the whole session."""
    port = local_s3.free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    try:
        process = local_s3.start_moto_server("127.0.0.1", port, log_path=log_path)
    except (RuntimeError, OSError) as error:
        skip_or_fail(f"cannot start the moto S3 server: {error}")
    yield f"http://127.0.0.1:{port}"
    local_s3.stop_process(process)


@pytest.fixture
def bucket(moto_endpoint: str, settings) -> Bucket:
    """A fresh bucket on the moto server, with the app's settings pointed at it."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.CONTENT_UPLOAD_BUCKET = name
    client = raw_s3_client(moto_endpoint)
    client.create_bucket(Bucket=name)
    return Bucket(name=name, client=client)


@pytest.fixture
def s3_down(settings) -> None:
    """Point the app at a loopback port where no S3 listens."""
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{local_s3.free_port()}"


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of every ListParts the server makes."""
    from uploads import storage

    seen: list[str] = []
    real = storage.list_parts

    def counting(**kwargs: Any) -> list[storage.PartInfo]:
        seen.append(kwargs["key"])
        return real(**kwargs)

    monkeypatch.setattr(storage, "list_parts", counting)
    return seen


@pytest.fixture
def signals() -> Iterator[list[tuple[str, str]]]:
    """Collect every media_uploaded signal sent during the test, as (record id, via)."""
    from uploads.signals import media_uploaded

    sent: list[tuple[str, str]] = []

    def receive(sender: Any, media_file: Any, via: str, **kwargs: Any) -> None:
        sent.append((str(media_file.pk), via))

    media_uploaded.connect(receive, weak=False)
    yield sent
    media_uploaded.disconnect(receive)


@pytest.fixture
def media_bytes() -> bytes:
    """A few hundred KiB of MP4: a real header, then random bytes."""
    return media.media_bytes("video/mp4", 300 * 1024)


# ---------------------------------------------------------------- browser tier


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's chromium; Playwright's own browser download cannot work offline."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def clips() -> Any:
    """Debian's ffmpeg, for playable test media (the tests that need it skip without it)."""
    from tests.support import clips

    if clips.missing():
        skip_or_fail("ffmpeg is missing (make system-deps installs it)")
    return clips


@pytest.fixture
def browser_bucket(bucket: Bucket, live_server: Any) -> Bucket:
    """The test bucket with CORS rules that let the live server's pages upload to it."""
    bucket.client.put_bucket_cors(
        Bucket=bucket.name,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [live_server.url],
                    "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                }
            ]
        },
    )
    return bucket


@pytest.fixture
def staff(db: None) -> User:
    """A staff member (a superuser: the admin's every page)."""
    return User.objects.create_superuser("staff", "staff@example.com", "staff-password")


@pytest.fixture
def csp_violations(page: Any) -> list[str]:
    """Collect what the browser refused under the Content-Security-Policy."""
    refused: list[str] = []

    def listen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", listen)
    return refused


# ---------------------------------------------------------------- strict tier (Ceph RGW)


@pytest.fixture(scope="session")
def rgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A throwaway Ceph RADOS Gateway for the session; its daemons are stopped by PID at the end."""
    from tests.support.rgw_cluster import missing_binaries, start_rgw_cluster

    missing = missing_binaries()
    if missing:
        skip_or_fail(f"Ceph RGW is not installed (missing {', '.join(missing)}): make system-deps")
    cluster = start_rgw_cluster(tmp_path_factory.mktemp("rgw"), log=lambda *args: None)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def strict_bucket(rgw: Any, settings: Any) -> Bucket:
    """A fresh bucket on RGW, with the app's settings pointed at it and its owner's keys."""
    name = f"strict-{uuid.uuid4().hex[:12]}"
    settings.AWS_S3_ENDPOINT_URL = rgw.endpoint
    settings.AWS_DEFAULT_REGION = rgw.region
    settings.AWS_ACCESS_KEY_ID = rgw.admin.access_key
    settings.AWS_SECRET_ACCESS_KEY = rgw.admin.secret_key
    settings.CONTENT_UPLOAD_BUCKET = name
    client = raw_s3_client(rgw.endpoint, rgw.admin.access_key, rgw.admin.secret_key)
    client.create_bucket(Bucket=name)
    return Bucket(name=name, client=client)
