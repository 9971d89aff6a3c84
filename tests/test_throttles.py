"""Throttle counts that every worker and node shares: the store (the app's table, or a shared
cache), the API's rates (an idempotent repeat included), the demo's sign-in, and two gunicorn
workers counting against one rate."""

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from rest_framework.authtoken.models import Token

from bench.support.servers import App, collectstatic
from tests.support.live import database_url
from tests.test_production import production_env
from uploads import checks
from uploads.api import rate_limits
from uploads.api.rate_limits import Backoff, CacheStore, RateStore, TableStore
from uploads.models import MediaFile, ThrottleCount

# Every count here goes through the database or a cache shared by threads: run on PostgreSQL too.
pytestmark = pytest.mark.db

SIGN_IN = Backoff(free=3, max_wait=4, memory=100)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A clock at a fixed moment."""
    return Clock()


def fresh_cache() -> LocMemCache:
    """A local-memory cache of its own (instances of one name share their entries)."""
    return LocMemCache(f"throttles-{uuid.uuid4()}", {})


@pytest.fixture(params=["table", "cache"])
def store(request: pytest.FixtureRequest, clock: Clock, db: None) -> RateStore:
    """Each store, counting with the test's clock."""
    if request.param == "table":
        return TableStore(clock)
    return CacheStore(fresh_cache(), clock)


def at(seconds: float) -> datetime:
    """An epoch time as a datetime."""
    return datetime.fromtimestamp(seconds, UTC)


# ---------------------------------------------------------------- rates


@pytest.mark.django_db
def test_the_table_counts_a_sliding_window(clock):
    store = TableStore(clock)
    start = clock.now
    for offset in (0, 10, 20):
        clock.now = start + offset
        assert store.take("k", 3, 60) == 0
    clock.now = start + 30
    assert store.take("k", 3, 60) == 30  # until the first call leaves the window
    clock.now = start + 60.5
    assert store.take("k", 3, 60) == 0  # the first call has left: wherever a minute begins
    clock.now = start + 61
    assert store.take("k", 3, 60) == 9  # the call at +10 leaves next
    assert store.take("k", 1, 60) == pytest.approx(59.5)  # a lowered rate: the newest must leave
    assert store.take("other", 3, 60) == 0  # per key


def test_a_shared_cache_counts_fixed_windows(clock):
    store = CacheStore(fresh_cache(), clock)
    clock.now = 1_000_020.0  # a window of 60 s began at 1,000,020
    assert [store.take("k", 2, 60) for _ in range(2)] == [0, 0]
    clock.now += 10
    assert store.take("k", 2, 60) == 50
    clock.now += 50
    assert store.take("k", 2, 60) == 0  # the next window


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_get_exactly_the_rate():
    start = threading.Barrier(16)

    def take(_: int) -> float:
        try:
            start.wait()
            return TableStore().take("burst", 10, 60)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(16) as pool:
        waits = list(pool.map(take, range(16)))
    assert waits.count(0) == 10
    assert len(ThrottleCount.objects.get(key="burst").hits) == 10


# ---------------------------------------------------------------- growing waits


def test_attempts_wait_longer_after_each_failure(store, clock):
    counters = [("user", SIGN_IN)]
    assert [store.attempt(counters) for _ in range(3)] == [0, 0, 0]
    assert store.attempt(counters) == 1  # three failures: the fourth waits 1 s
    clock.now += 1
    assert store.attempt(counters) == 0
    assert store.attempt(counters) == 2  # then 2 s
    clock.now += 2
    assert store.attempt(counters) == 0
    clock.now += 4
    assert store.attempt(counters) == 0
    assert store.attempt(counters) == 4  # up to max_wait


@pytest.mark.django_db
def test_failures_are_forgotten_memory_seconds_after_the_last(clock):
    store = TableStore(clock)
    counters = [("user", SIGN_IN)]
    assert [store.attempt(counters) for _ in range(3)] == [0, 0, 0]
    clock.now += 99
    assert store.attempt(counters) == 0  # waited out; a fourth failure, 99 s after the third
    clock.now += 99
    assert store.attempt(counters) == 0  # the memory runs from the last failure
    clock.now += 100
    assert [store.attempt(counters) for _ in range(3)] == [0, 0, 0]


def test_a_cache_forgets_failures_memory_seconds_after_the_last(clock):
    store = CacheStore(fresh_cache(), clock)
    counters = [("user", Backoff(free=3, max_wait=300, memory=1))]
    assert store.attempt(counters) == 0
    time.sleep(0.6)  # the cache's own clock decides when a count is dropped
    assert store.attempt(counters) == 0
    time.sleep(0.6)  # 1.2 s after the first failure, 0.6 s after the last
    assert store.attempt(counters) == 0
    assert store.attempt(counters) == 1  # three remembered: the fourth waits
    clock.now += 1
    time.sleep(1.1)
    assert [store.attempt(counters) for _ in range(3)] == [0, 0, 0]  # all forgotten


def test_a_refused_attempt_counts_on_no_counter(store, clock):
    assert [store.attempt([("address", SIGN_IN)]) for _ in range(3)] == [0, 0, 0]
    both = [("user", SIGN_IN), ("address", SIGN_IN)]
    assert store.attempt(both) == 1
    clock.now += 1
    assert [store.attempt([("user", SIGN_IN)]) for _ in range(3)] == [0, 0, 0]  # "user" was not hit


def test_a_refund_takes_one_failure_back_and_clear_forgets_all(store, clock):
    counters = [("user", SIGN_IN)]
    assert [store.attempt(counters) for _ in range(2)] == [0, 0]
    store.refund("user")
    assert [store.attempt(counters) for _ in range(2)] == [0, 0]  # three failures so far
    assert store.attempt(counters) == 1
    store.clear("user")
    assert [store.attempt(counters) for _ in range(3)] == [0, 0, 0]


class ReadTogether(LocMemCache):
    """A cache where parallel attempts all read the waits before any of them counts."""

    def __init__(self, parties: int) -> None:
        super().__init__(f"together-{uuid.uuid4()}", {})
        self.all_read = threading.Barrier(parties)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        found = super().get_many(keys, version)
        self.all_read.wait()
        return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["table", "cache"])
def test_parallel_attempts_get_only_the_free_failures(kind):
    shared = ReadTogether(12)
    start = threading.Barrier(12)

    def attempt(_: int) -> float:
        try:
            start.wait()
            store = TableStore() if kind == "table" else CacheStore(shared)
            return store.attempt([("user", Backoff(free=4, max_wait=300, memory=3600))])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(12) as pool:
        waits = list(pool.map(attempt, range(12)))
    assert waits.count(0) == 4


def test_long_or_unusual_keys_are_stored_by_digest(store, clock):
    odd = "signin:user-address:" + "é" * 300
    assert [store.attempt([(odd, SIGN_IN)]) for _ in range(3)] == [0, 0, 0]
    assert store.attempt([(odd, SIGN_IN)]) == 1
    assert rate_limits.safe_key(odd).startswith("sha256:") and rate_limits.safe_key("a:b") == "a:b"


# ---------------------------------------------------------------- the table's upkeep


@pytest.mark.django_db
def test_expired_rows_are_deleted_at_most_once_a_minute(
    clock, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(rate_limits, "_last_sweep", 0.0)
    store = TableStore(clock)
    ThrottleCount.objects.create(key="stale", expires_at=at(clock.now - 1))
    ThrottleCount.objects.create(key="live", expires_at=at(clock.now + 1))
    with django_capture_on_commit_callbacks(execute=True):
        store.take("k", 5, 60)
    assert set(ThrottleCount.objects.values_list("key", flat=True)) == {"live", "k"}
    ThrottleCount.objects.create(key="stale", expires_at=at(clock.now - 1))
    clock.now += 30
    with django_capture_on_commit_callbacks(execute=True):
        store.take("k", 5, 60)
    assert ThrottleCount.objects.filter(key="stale").exists()  # not a minute since the last
    clock.now += 31
    with django_capture_on_commit_callbacks(execute=True):
        store.take("k", 5, 60)
    assert set(ThrottleCount.objects.values_list("key", flat=True)) == {"k"}


# ---------------------------------------------------------------- which store


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", TableStore),
        ("django.core.cache.backends.dummy.DummyCache", TableStore),
        ("django.core.cache.backends.filebased.FileBasedCache", TableStore),
        ("django.core.cache.backends.db.DatabaseCache", TableStore),
        ("django.core.cache.backends.redis.RedisCache", CacheStore),
    ],
)
def test_counts_leave_worker_memory_unless_the_default_cache_is_shared(
    settings, tmp_path, backend, kind
):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    assert isinstance(rate_limits.store(), kind)


def test_upload_throttle_cache_names_the_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
        "throttles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.UPLOAD_THROTTLE_CACHE = "throttles"
    chosen = rate_limits.store()
    assert isinstance(chosen, CacheStore) and isinstance(chosen.cache, LocMemCache)


def problems() -> dict[str, str]:
    """The throttle problems the system checks report, by id."""
    found = checks.check_upload_settings()
    return {problem.id or "": problem.msg for problem in found if "THROTTLE" in problem.msg}


def test_checks_report_a_missing_or_unshared_throttle_cache_and_unreadable_rates(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
    }
    assert problems() == {}
    settings.UPLOAD_THROTTLE_CACHE = "redis"
    assert problems() == {}
    settings.UPLOAD_THROTTLE_CACHE = "default"
    assert set(problems()) == {"uploads.W005"}
    settings.UPLOAD_THROTTLE_CACHE = "nowhere"
    settings.UPLOAD_THROTTLE_PARTS = "300/fortnight"
    assert set(problems()) == {"uploads.E017", "uploads.E018"}


# ---------------------------------------------------------------- the API


def create(api: Any, key: str) -> Any:
    """POST the same declaration with this Idempotency-Key."""
    body = {"filename": "clip.mp4", "content_type": "video/mp4", "size": 2048}
    return api.post("/api/media/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.functional
@pytest.mark.django_db
def test_200_repeated_creates_with_one_key_are_throttled(api, bucket, settings):
    assert settings.UPLOAD_THROTTLE_CREATE == "120/minute"
    key = str(uuid.uuid4())
    answers = [create(api, key) for _ in range(200)]
    assert Counter(answer.status_code for answer in answers) == {201: 120, 429: 80}
    assert {answer.json()["id"] for answer in answers[:120]} == {answers[0].json()["id"]}
    assert all(0 < int(answer["Retry-After"]) <= 60 for answer in answers[120:])
    assert MediaFile.objects.count() == 1


@pytest.mark.functional
@pytest.mark.django_db
def test_a_throttled_repeat_is_a_429_and_after_the_wait_the_same_record(api, bucket, settings):
    settings.UPLOAD_THROTTLE_CREATE = "1/minute"
    key = str(uuid.uuid4())
    first = create(api, key)
    refused = create(api, key)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    ThrottleCount.objects.update(hits=[0.0])  # a minute has passed
    again = create(api, key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


# ---------------------------------------------------------------- the demo's sign-in


def sign_in(client: Any, password: str) -> str:
    """Try alice's sign-in from one address; return the page (or the redirect's target)."""
    answer = client.post(
        "/accounts/login/",
        {"username": "alice", "password": password},
        REMOTE_ADDR="203.0.113.5",
    )
    return str(answer["Location"]) if answer.status_code == 302 else answer.content.decode()


@pytest.mark.django_db
def test_sign_in_waits_grow_and_live_in_the_table(client, user):
    for _ in range(5):
        assert "Please enter a correct username" in sign_in(client, "wrong")
    assert "Wait 1 s" in sign_in(client, "wrong")
    ThrottleCount.objects.update(blocked_until=None)  # the wait is over
    assert "Please enter a correct username" in sign_in(client, "wrong")
    assert "Wait 2 s" in sign_in(client, "alice-password")


@pytest.mark.django_db
def test_a_submission_without_a_password_neither_counts_nor_clears_failures(client, user):
    for _ in range(4):
        assert "Please enter a correct username" in sign_in(client, "wrong")
    for _ in range(3):
        assert "didn't match" in sign_in(client, "")
    assert "Please enter a correct username" in sign_in(client, "wrong")  # the fifth failure
    assert "Wait 1 s" in sign_in(client, "alice-password")


@pytest.mark.django_db
def test_successful_sign_ins_from_one_address_never_wait(client, user):
    for _ in range(25):
        assert sign_in(client, "alice-password").startswith("/")  # signed in: redirected
        client.logout()


# ---------------------------------------------------------------- two gunicorn workers


@pytest.fixture
def two_workers(
    tmp_path: Path, bucket: Any, settings: Any, transactional_db: None
) -> Iterator[App]:
    """The demo under gunicorn with two sync workers and `make serve`'s cache: local memory."""
    env = production_env(
        tmp_path,
        DATABASE_URL=database_url(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        CSRF_COOKIE_SECURE="false",
        SESSION_COOKIE_SECURE="false",
        AWS_S3_ENDPOINT_URL=settings.AWS_S3_ENDPOINT_URL,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        CONTENT_UPLOAD_BUCKET=bucket.name,
        UPLOAD_THROTTLE_AUTHORIZE="60/minute",
    )
    collectstatic(env)  # the sign-in page's hashed static files (DEBUG is off)
    app = App(env=env, workdir=tmp_path, workers=2)
    # Each answer's worker, in the access log: the test's way to see that both workers served.
    app.start("--access-logfile", str(tmp_path / "access.log"), "--access-logformat", "%(p)s %(U)s")
    try:
        yield app
    finally:
        app.stop()


def in_parallel(count: int, call: Callable[[], requests.Response]) -> list[requests.Response]:
    """Make `count` calls at once, each on its own connection."""
    start = threading.Barrier(count)

    def one(_: int) -> requests.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def workers_that_answered(app: App, path: str) -> set[int]:
    """The PIDs of the workers whose access log lines name this path."""
    log = (app.workdir / "access.log").read_text()
    return {int(pid) for pid, seen in re.findall(r"<(\d+)> (\S+)", log) if seen == path}


def authorizes_in_a_burst(app: App, user: Any) -> None:
    """80 authorizes at once at 60/minute: exactly 60 pass, whichever worker answers."""
    token = Token.objects.get_or_create(user=user)[0].key
    headers = {"Authorization": f"Token {token}", "Connection": "close"}
    created = requests.post(
        f"{app.url}/api/media/",
        json={"filename": "a.mp4", "content_type": "video/mp4", "size": 2048},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    path = f"/api/media/{created.json()['id']}/authorize/"
    answers = in_parallel(
        80, lambda: requests.post(f"{app.url}{path}", headers=headers, timeout=60)
    )
    assert Counter(answer.status_code for answer in answers) == {200: 60, 429: 20}
    assert workers_that_answered(app, path) == set(app.worker_pids())
    later = [requests.post(f"{app.url}{path}", headers=headers, timeout=30) for _ in "ab"]
    assert [answer.status_code for answer in later] == [429, 429]


def sign_ins_in_a_burst(app: App) -> None:
    """12 wrong passwords at once: 5 are checked, the others wait, whichever worker answers."""
    page = requests.get(f"{app.url}/accounts/login/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    form = {"username": "alice", "password": "wrong", "csrfmiddlewaretoken": csrf.group(1)}

    def guess() -> requests.Response:
        return requests.post(
            f"{app.url}/accounts/login/",
            data=form,
            cookies={"csrftoken": page.cookies["csrftoken"]},
            headers={"Connection": "close"},
            timeout=60,
        )

    pages = [answer.text for answer in in_parallel(12, guess)]
    assert sum("Please enter a correct username" in text for text in pages) == 5
    assert sum("Too many failed sign-ins" in text for text in pages) == 7
    assert workers_that_answered(app, "/accounts/login/") == set(app.worker_pids())


@pytest.mark.functional
def test_two_gunicorn_workers_share_throttle_counts(two_workers, user):
    authorizes_in_a_burst(two_workers, user)
    sign_ins_in_a_burst(two_workers)
