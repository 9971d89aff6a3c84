"""The command-line uploader (`python -m uploads.cli`), run as a process against the live app."""

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.authtoken.models import Token

from tests.support.fake_app import answering_server
from tests.support.http_server import serving
from tests.support.media import media_bytes
from uploads import multipart
from uploads.cli.retry import RetryPolicy
from uploads.cli.upload import COMPLETE_ROUNDS
from uploads.models import MediaFile
from uploads.storage.local_s3 import free_port

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024**2


@pytest.fixture
def token(user) -> str:
    """alice's DRF token."""
    key, _ = Token.objects.get_or_create(user=user)
    return str(key.key)


@pytest.fixture
def small_parts(settings) -> None:
    """Multipart from 1 MiB on, in parts of 5 MiB (S3's minimum): a 16 MiB file has 4 parts."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 1 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB


def cli_command(*args: str, server: str) -> list[str]:
    """Return the argument list that runs the uploader."""
    return [sys.executable, "-m", "uploads.cli", "upload", "--server", server, *args]


def cli_env(token: str | None) -> dict[str, str]:
    """The environment of the uploader: ours, without MEDIAUPLOAD_*, with the token if given."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEDIAUPLOAD")}
    return {**env, "MEDIAUPLOAD_TOKEN": token} if token else env


def run_cli(*args: str, server: str, token: str | None) -> subprocess.CompletedProcess[str]:
    """Run the uploader to its end."""
    return _run(cli_command(*args, server=server), token)


def _run(command: list[str], token: str | None) -> subprocess.CompletedProcess[str]:
    """Run a command in the uploader's environment to its end, its output captured."""
    return subprocess.run(
        command,
        env=cli_env(token),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def json_results(completed: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """Parse the --json output: one object per line."""
    return [json.loads(line) for line in completed.stdout.splitlines()]


def write_clip(path: Path, size: int) -> bytes:
    """Write an MP4 of `size` bytes (a real header, then random bytes) and return its bytes."""
    body = media_bytes("video/mp4", size)
    path.write_bytes(body)
    return body


def assert_no_traceback(completed: subprocess.CompletedProcess[str]) -> None:
    """The uploader reported its failures as lines, not as a crash."""
    assert "Traceback" not in completed.stderr, completed.stderr


# ---------------------------------------------------------------- uploads that succeed


def test_single_post_file_is_uploaded(live_server, bucket, token, tmp_path):
    body = write_clip(tmp_path / "clip.mp4", 300 * 1024)

    completed = run_cli(str(tmp_path / "clip.mp4"), "--json", server=live_server.url, token=token)

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    (result,) = json_results(completed)
    assert set(result) == {"file", "id", "status", "key", "size", "parts_sent", "seconds", "error"}
    assert result["status"] == "uploaded" and result["error"] is None
    assert result["size"] == len(body) and result["parts_sent"] == 1
    assert result["key"].startswith("media/")
    assert bucket.read(result["key"]) == body
    record = MediaFile.objects.get(pk=result["id"])
    assert record.status == MediaFile.Status.UPLOADED
    assert not record.is_multipart and record.filename == "clip.mp4"


def test_multipart_file_is_uploaded_in_parallel_parts(
    live_server, bucket, small_parts, token, tmp_path
):
    body = write_clip(tmp_path / "big.mp4", 16 * MiB)

    completed = run_cli(str(tmp_path / "big.mp4"), "--json", server=live_server.url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["status"] == "uploaded" and result["parts_sent"] == 4
    assert bucket.read(result["key"]) == body
    assert MediaFile.objects.get(pk=result["id"]).is_multipart


def test_a_new_upload_starts_on_the_part_urls_that_came_with_its_record(
    live_server, bucket, small_parts, monkeypatch, token, tmp_path
):
    # The CLI asks for as many as one call signs; this server signs 2 of the 4 parts per call.
    monkeypatch.setattr(multipart, "MAX_PARTS_PER_REQUEST", 2)
    body = write_clip(tmp_path / "big.mp4", 16 * MiB)
    with proxy(live_server.url, lambda exchange, seen: None) as (api_url, api_seen):
        completed = run_cli(str(tmp_path / "big.mp4"), "--json", server=api_url, token=token)

    assert completed.returncode == 0, completed.stderr
    assert bucket.read(json_results(completed)[0]["key"]) == body
    (create,) = [e for e in api_seen if e.method == "POST" and e.path == "/api/media/"]
    assert json.loads(create.body)["first_part_count"] == 100
    signed = [json.loads(e.body)["part_numbers"] for e in api_seen if e.path.endswith("/parts/")]
    assert sorted(number for batch in signed for number in batch) == [3, 4]


def test_complete_names_every_part_with_the_etag_storage_gave_it(
    live_server, bucket, small_parts, token, tmp_path
):
    write_clip(tmp_path / "big.mp4", 16 * MiB)
    with proxy(live_server.url, lambda exchange, seen: None) as (api_url, api_seen):
        completed = run_cli(str(tmp_path / "big.mp4"), "--json", server=api_url, token=token)

    assert completed.returncode == 0, completed.stderr
    (complete,) = [e for e in api_seen if e.path.endswith("/complete/")]
    key = json_results(completed)[0]["key"]
    upload_etag = bucket.client.head_object(Bucket=bucket.name, Key=key)["ETag"]
    sent = json.loads(complete.body)["parts"]
    assert [part["part_number"] for part in sent] == [1, 2, 3, 4]
    # The object's ETag is the MD5 of the parts' MD5s: the ETags sent are the ones S3 gave.
    digests = b"".join(bytes.fromhex(part["etag"].strip('"')) for part in sent)
    assert upload_etag.strip('"') == f"{hashlib.md5(digests).hexdigest()}-4"


def test_human_output_says_where_each_file_went(live_server, bucket, token, tmp_path):
    write_clip(tmp_path / "a.mp4", 4096)
    write_clip(tmp_path / "b.mp4", 8192)

    completed = run_cli(
        str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), server=live_server.url, token=token
    )

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'a.mp4'}: uploaded as media/")
    assert "\r" not in completed.stderr  # no progress bar when stderr is not a terminal


# ---------------------------------------------------------------- resuming after a kill


def held_parts(api, record_id: str, *, wait: bool = False) -> dict[str, Any] | None:
    """GET parts/ as alice; None while another request holds the record (409 busy)."""
    for _ in range(100):
        response = api.get(f"/api/media/{record_id}/parts/")
        if response.status_code == 200:
            listing: dict[str, Any] = response.json()
            return listing
        assert response.status_code == 409 and response.json()["code"] == "busy", response.json()
        if not wait:
            return None
        time.sleep(0.05)
    raise AssertionError("the record stayed busy for 5 s")


def interrupt_upload(
    path: Path, *, server: str, token: str, api, user, sig: int = signal.SIGKILL
) -> tuple[str, list[int]]:
    """Start a throttled upload, signal it once S3 holds a part; return its record and misses.

    At 2 MB/s the 16 MiB file takes 8 s: seconds to spare after the first part, however busy the
    machine.

    After SIGINT, the uploader must leave at once with status 130 and a hint to run it again.
    """
    process = subprocess.Popen(
        cli_command(str(path), "--parallel", "1", "--limit-rate", "2M", "--json", server=server),
        env=cli_env(token),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the upload ended before it could be interrupted"
            assert time.monotonic() < deadline, "no part arrived in 30 s"
            record = MediaFile.objects.filter(owner=user).first()
            if record and (listing := held_parts(api, str(record.pk))) and listing["parts"]:
                break
            time.sleep(0.05)
    finally:
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=10)
    if sig == signal.SIGINT:
        assert process.returncode == 130
        assert stderr.strip() == "interrupted: run the same command again to resume"
    listing = held_parts(api, str(record.pk), wait=True)
    assert listing is not None
    assert 0 < len(listing["parts"]) < listing["part_count"], listing
    return str(record.pk), listing["missing"]


def test_a_killed_upload_resumes_with_only_the_missing_parts(
    live_server, bucket, small_parts, token, api, user, tmp_path
):
    path = tmp_path / "concert.mp4"
    body = write_clip(path, 16 * MiB)
    record_id, missing = interrupt_upload(
        path, server=live_server.url, token=token, api=api, user=user
    )

    completed = run_cli(str(path), "--json", server=live_server.url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["id"] == record_id
    assert result["status"] == "uploaded"
    assert result["parts_sent"] == len(missing)
    assert bucket.read(result["key"]) == body
    assert MediaFile.objects.filter(owner=user).count() == 1


def test_a_file_changed_since_the_interruption_starts_a_new_upload(
    live_server, bucket, small_parts, token, api, user, tmp_path
):
    path = tmp_path / "concert.mp4"
    write_clip(path, 16 * MiB)
    old_id, _ = interrupt_upload(path, server=live_server.url, token=token, api=api, user=user)
    edited = write_clip(path, 16 * MiB)  # same name and size, other bytes

    completed = run_cli(str(path), "--json", server=live_server.url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["id"] != old_id
    assert result["parts_sent"] == 4
    assert bucket.read(result["key"]) == edited
    assert MediaFile.objects.get(pk=old_id).status == MediaFile.Status.PENDING  # left untouched


def test_after_ctrl_c_no_resume_starts_a_new_upload(
    live_server, bucket, small_parts, token, api, user, tmp_path
):
    path = tmp_path / "concert.mp4"
    body = write_clip(path, 16 * MiB)
    old_id, _ = interrupt_upload(
        path, server=live_server.url, token=token, api=api, user=user, sig=signal.SIGINT
    )

    completed = run_cli(str(path), "--json", "--no-resume", server=live_server.url, token=token)

    (result,) = json_results(completed)
    assert result["id"] != old_id and result["parts_sent"] == 4
    assert bucket.read(result["key"]) == body


def test_a_killed_single_post_goes_on_with_its_record(live_server, bucket, user, token, tmp_path):
    path = tmp_path / "clip.mp4"
    body = write_clip(path, 2 * MiB)
    process = subprocess.Popen(
        cli_command(str(path), "--limit-rate", "1M", server=live_server.url),
        env=cli_env(token),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not MediaFile.objects.filter(owner=user).exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # some of the form is on its way
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (pending,) = MediaFile.objects.filter(owner=user)
    assert pending.status == MediaFile.Status.PENDING

    completed = run_cli(str(path), "--json", server=live_server.url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["id"] == str(pending.pk) and result["parts_sent"] == 1
    assert bucket.read(result["key"]) == body


# ---------------------------------------------------------------- failures: one line each


def test_each_failed_file_gets_one_line_and_the_exit_status_says_so(
    live_server, bucket, settings, token, tmp_path
):
    settings.UPLOAD_MAX_BYTES = 1 * MiB
    write_clip(tmp_path / "good.mp4", 4096)
    write_clip(tmp_path / "huge.mp4", 2 * MiB)
    (tmp_path / "fake.mp4").write_bytes(os.urandom(4096))  # not MP4 bytes: verification fails
    (tmp_path / "notes.txt").write_text("hello")
    files = ["missing.mp4", "huge.mp4", "fake.mp4", "notes.txt", "good.mp4"]

    completed = subprocess.run(
        cli_command(*files, "--json", server=live_server.url),
        env=cli_env(token),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 1
    assert_no_traceback(completed)
    errors = completed.stderr.splitlines()
    assert errors[0] == "missing.mp4: not found"
    assert errors[1] == (
        "huge.mp4: the server refused it: "
        "Files larger than 1.0\xa0MB (1048576 bytes) are not accepted."
    )
    assert errors[2].startswith("fake.mp4: failed: ")
    assert errors[3].startswith("notes.txt: the server refused it: Files of type text/plain")
    assert len(errors) == 4
    results = {result["file"]: result for result in json_results(completed)}
    assert results["missing.mp4"]["id"] is None and results["missing.mp4"]["status"] is None
    assert results["fake.mp4"]["status"] == "failed"
    assert results["good.mp4"]["status"] == "uploaded" and results["good.mp4"]["error"] is None


def test_a_bad_token_is_named_as_such(live_server, bucket, tmp_path):
    write_clip(tmp_path / "a.mp4", 4096)
    write_clip(tmp_path / "b.mp4", 4096)

    completed = run_cli(
        str(tmp_path / "a.mp4"),
        str(tmp_path / "b.mp4"),
        "--token",
        "not-a-token",
        server=live_server.url,
        token=None,
    )

    assert completed.returncode == 1
    assert_no_traceback(completed)
    message = "the server refused the token (Invalid token.); check --token or MEDIAUPLOAD_TOKEN"
    assert completed.stderr.splitlines() == [
        f"{tmp_path / 'a.mp4'}: {message}",
        f"{tmp_path / 'b.mp4'}: {message}",
    ]


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--server", "http://127.0.0.1:9"], None, "give your API token"),
        (["--server", "localhost:8000"], "x", "give the app's address"),
        (["--server", "http://127.0.0.1:9", "--parallel", "0"], "x", "must be at least 1"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, token, message):
    completed = subprocess.run(
        [sys.executable, "-m", "uploads.cli", "upload", "clip.mp4", *args],
        env=cli_env(token),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert completed.returncode == 2
    assert message in completed.stderr


def test_an_unreachable_server_is_one_line_after_retries(tmp_path):
    write_clip(tmp_path / "clip.mp4", 4096)
    server = f"http://127.0.0.1:{free_port()}"

    completed = run_cli(
        str(tmp_path / "clip.mp4"), "--retries", "1", server=server, token="anything"
    )

    assert completed.returncode == 1
    assert_no_traceback(completed)
    assert completed.stderr.splitlines() == [
        f"{tmp_path / 'clip.mp4'}: cannot reach {server.removeprefix('http://')}: "
        "connection refused"
    ]


# ---------------------------------------------------------------- retries and renewals


@dataclass
class Exchange:
    """One request the proxy received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        """Return the query string's parameters."""
        return parse_qs(urlsplit(self.path).query)


@dataclass
class Answer:
    """What the proxy answers itself; after forwarding the request first when `forward`."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    forward: bool = False


Rule = Callable[[Exchange, list[Exchange]], Answer | None]
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding"}
# Headers the proxy's own server writes: not copied from the answer it forwards.
_OWN_HEADERS = {"date", "server"}


@contextmanager
def proxy(target: str, rule: Rule) -> Iterator[tuple[str, list[Exchange]]]:
    """Forward to `target`, except where `rule` answers; yield the address and every exchange."""
    seen: list[Exchange] = []
    lock = threading.Lock()

    def forward(exchange: Exchange) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(urlsplit(target).netloc, timeout=60)
        try:
            headers = {k: v for k, v in exchange.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(exchange.method, exchange.path, exchange.body or None, headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {
                name: value
                for name, value in response.getheaders()
                if name.lower() not in _HOP_BY_HOP | _OWN_HEADERS
                and (name.lower() != "content-length" or exchange.method == "HEAD")
            }
            return response.status, kept, payload
        finally:
            connection.close()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            exchange = Exchange(self.command, self.path, dict(self.headers), body)
            with lock:
                answer = rule(exchange, list(seen))
                seen.append(exchange)
            if answer is None or answer.forward:
                status, headers, payload = forward(exchange)
            if answer is not None:
                status, headers, payload = answer.status, answer.headers, answer.body
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "content-length" not in {name.lower() for name in headers}:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any

        def log_message(self, *args: object) -> None:
            """Stay quiet."""

    with serving(Handler) as url:
        yield url, seen


def json_answer(status: int, detail: str, code: str, **headers: str) -> Answer:
    """An answer in the app's error shape."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    return Answer(status, body, {"Content-Type": "application/json", **headers})


def s3_error(status: int, code: str, message: str) -> Answer:
    """An answer in S3's error shape."""
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return Answer(status, body, {"Content-Type": "application/xml"})


def first(exchange: Exchange, seen: list[Exchange], method: str, suffix: str) -> bool:
    """Tell whether this is the first request of its kind."""
    same = [e for e in [*seen, exchange] if e.method == method and e.path.endswith(suffix)]
    return exchange.method == method and exchange.path.endswith(suffix) and len(same) == 1


def test_failed_requests_are_retried_and_refused_part_urls_signed_again(
    live_server, bucket, small_parts, settings, token, user, tmp_path
):
    def flaky_storage(exchange: Exchange, seen: list[Exchange]) -> Answer | None:
        part = exchange.query.get("partNumber", [""])[0]
        earlier = [e for e in seen if e.method == "PUT" and e.query.get("partNumber") == [part]]
        if exchange.method != "PUT" or earlier:
            return None
        if part == "1":
            return s3_error(503, "SlowDown", "Please reduce your request rate.")
        if part == "2":
            return s3_error(403, "AccessDenied", "Request has expired")
        return None

    def flaky_api(exchange: Exchange, seen: list[Exchange]) -> Answer | None:
        if first(exchange, seen, "POST", "/api/media/"):  # created, but the answer is lost
            return Answer(502, b"<html>Bad Gateway</html>", forward=True)
        if first(exchange, seen, "POST", "/parts/"):
            return json_answer(503, "The storage service is unavailable.", "storage_unavailable")
        if first(exchange, seen, "POST", "/complete/"):
            return json_answer(429, "Request was throttled.", "throttled", **{"Retry-After": "1"})
        return None

    body = write_clip(tmp_path / "big.mp4", 16 * MiB)
    with (
        proxy(bucket.client.meta.endpoint_url, flaky_storage) as (storage_url, storage_seen),
        proxy(live_server.url, flaky_api) as (api_url, api_seen),
    ):
        settings.AWS_S3_ENDPOINT_URL = storage_url
        completed = run_cli(str(tmp_path / "big.mp4"), "--json", server=api_url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["status"] == "uploaded" and result["parts_sent"] == 4
    assert bucket.read(result["key"]) == body
    creates = [e for e in api_seen if e.method == "POST" and e.path == "/api/media/"]
    assert len(creates) == 2
    assert creates[0].headers["Idempotency-Key"] == creates[1].headers["Idempotency-Key"]
    assert MediaFile.objects.filter(owner=user).count() == 1  # the lost answer's record, reused
    signed = [json.loads(e.body)["part_numbers"] for e in api_seen if e.path.endswith("/parts/")]
    assert signed[:2] == [[1, 2, 3, 4], [1, 2, 3, 4]]  # the 503 was retried
    assert [2] in signed[2:]  # the part URL S3 refused was signed again
    puts = [e.query["partNumber"][0] for e in storage_seen if e.method == "PUT"]
    assert sorted(puts) == ["1", "1", "2", "2", "3", "4"]
    assert len([e for e in api_seen if e.path.endswith("/complete/")]) == 2


def conflict(code: str, detail: str, record_status: str, **headers: str) -> Answer:
    """A 409 in the app's shape: the record's status comes with it."""
    body = json.dumps({"detail": detail, "code": code, "status": record_status}).encode()
    return Answer(409, body, {"Content-Type": "application/json", **headers})


def test_an_answer_worth_retrying_is_tried_exactly_retries_plus_one_times(tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)

    with answering_server(503, headers={"Retry-After": "0"}) as (server, received):
        completed = run_cli(str(path), "--retries", "2", server=server, token="T")

    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"{path}: the server answered 503: Service Unavailable"
    ]
    # The pending list (only a convenience: given up quietly), then the create: 3 tries each.
    assert [request.method for request in received] == ["GET"] * 3 + ["POST"] * 3


def upload_to_refusing_storage(
    path: Path, refusal: Answer, live_server, bucket, settings, token: str
) -> tuple[subprocess.CompletedProcess[str], list[Exchange], list[Exchange]]:
    """Upload a small clip (--json) while storage answers every request with `refusal`; return
    the run, what storage was sent and what the app was sent."""
    write_clip(path, 4096)
    with (
        proxy(bucket.client.meta.endpoint_url, lambda e, seen: refusal) as (storage_url, posts),
        proxy(live_server.url, lambda exchange, seen: None) as (api_url, api_seen),
    ):
        settings.AWS_S3_ENDPOINT_URL = storage_url
        completed = run_cli(str(path), "--json", server=api_url, token=token)
    return completed, posts, api_seen


def test_an_expired_policy_is_renewed_up_to_its_limit_then_the_file_fails(
    live_server, bucket, settings, token, tmp_path
):
    path = tmp_path / "clip.mp4"
    expired = s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    completed, posts, api_seen = upload_to_refusing_storage(
        path, expired, live_server, bucket, settings, token
    )

    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"{path}: storage refused the file "
        "(403 AccessDenied: Invalid according to Policy: Policy expired.)"
    ]
    renewals = RetryPolicy().renewals
    assert len([e for e in api_seen if e.path.endswith("/authorize/")]) == renewals
    assert len(posts) == renewals + 1
    assert not [e for e in api_seen if e.path.endswith("/complete/")]


def test_any_other_403_from_storage_is_final(live_server, bucket, settings, token, tmp_path):
    path = tmp_path / "clip.mp4"
    denied = s3_error(403, "AccessDenied", "Access Denied")
    completed, posts, api_seen = upload_to_refusing_storage(
        path, denied, live_server, bucket, settings, token
    )

    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"{path}: storage refused the file (403 AccessDenied: Access Denied)"
    ]
    assert len(posts) == 1  # signing again would only be refused again
    assert not [e for e in api_seen if e.path.endswith("/authorize/")]


@pytest.mark.parametrize("retries", [0, 1])
def test_complete_rounds_stop_at_their_limit(live_server, bucket, token, tmp_path, retries):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)
    detail = "The bucket holds no file for this upload yet."
    missing = conflict("not_received", detail, "pending", **{"Retry-After": "0"})

    def never_received(exchange: Exchange, seen: list[Exchange]) -> Answer | None:
        return missing if exchange.path.endswith("/complete/") else None

    with proxy(live_server.url, never_received) as (api_url, api_seen):
        completed = run_cli(
            str(path), "--json", "--retries", str(retries), server=api_url, token=token
        )

    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [f"{path}: pending: {detail}"]
    (result,) = json_results(completed)
    assert result["status"] == "pending" and result["parts_sent"] == COMPLETE_ROUNDS
    # Each round: `complete` and its own retries, then the file sent again with a fresh form.
    completes = [e for e in api_seen if e.path.endswith("/complete/")]
    assert len(completes) == COMPLETE_ROUNDS * (retries + 1)
    assert len([e for e in api_seen if e.path.endswith("/authorize/")]) == COMPLETE_ROUNDS - 1


def test_an_expired_upload_starts_over_by_itself(live_server, bucket, token, user, tmp_path):
    path = tmp_path / "clip.mp4"
    body = write_clip(path, 4096)
    expired = conflict("upload_expired", "This upload's deadline has passed.", "expired")

    def expire_first(exchange: Exchange, seen: list[Exchange]) -> Answer | None:
        return expired if first(exchange, seen, "POST", "/complete/") else None

    with proxy(live_server.url, expire_first) as (api_url, api_seen):
        completed = run_cli(str(path), "--json", server=api_url, token=token)

    assert completed.returncode == 0, completed.stderr
    (result,) = json_results(completed)
    assert result["status"] == "uploaded" and bucket.read(result["key"]) == body
    creates = [e for e in api_seen if e.method == "POST" and e.path == "/api/media/"]
    assert len(creates) == 2
    assert creates[0].headers["Idempotency-Key"] != creates[1].headers["Idempotency-Key"]
    assert MediaFile.objects.filter(owner=user).count() == 2


def test_a_storage_error_of_the_app_is_final(live_server, bucket, token, tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)
    refused = json_answer(502, "The storage service refused the request.", "storage_error")

    def refuse_creates(exchange: Exchange, seen: list[Exchange]) -> Answer | None:
        return refused if exchange.method == "POST" else None

    with proxy(live_server.url, refuse_creates) as (api_url, api_seen):
        completed = run_cli(str(path), server=api_url, token=token)

    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"{path}: the server answered 502: The storage service refused the request."
    ]
    assert len([e for e in api_seen if e.method == "POST"]) == 1


# ---------------------------------------------------------------- hostile servers


# Runs the command in its arguments, its stdout dropped, and prints its peak RSS in bytes. A fresh
# interpreter, because Linux reports a child's peak RSS as at least its parent's at the fork.
_PEAK_RSS = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "print(usage.ru_maxrss * 1024)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_cli_measured(*args: str, server: str, token: str) -> tuple[int, str, int]:
    """Run the uploader to its end; return its exit status, its stderr and its peak RSS."""
    completed = _run([sys.executable, "-c", _PEAK_RSS, *cli_command(*args, server=server)], token)
    return completed.returncode, completed.stderr, int(completed.stdout)


@pytest.mark.parametrize(
    "status",
    [201, 302],
    ids=["created", "redirect"],  # a redirect: requests would read its whole body
)
def test_a_100_mb_answer_is_one_line_and_little_memory(tmp_path, status):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)
    headers = {"Location": "http://localhost:9/api/media/"} if status == 302 else {}

    with answering_server(status, headers=headers, json_bytes=100 * 10**6) as (server, received):
        returncode, stderr, peak_rss = run_cli_measured(str(path), server=server, token="T")

    assert returncode == 1
    assert stderr.splitlines() == [
        f"{path}: the server's answer is larger than 4 MiB; is --server the app's address?"
    ]
    assert [request.method for request in received] == ["GET", "POST"]  # pending list, create
    assert peak_rss < 100 * 10**6, f"peak RSS {peak_rss / 10**6:.0f} MB"


def test_a_100_mb_answer_from_storage_is_one_line_and_little_memory(
    live_server, bucket, settings, token, tmp_path
):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)

    with answering_server(200, json_bytes=100 * 10**6) as (storage_url, received):
        settings.AWS_S3_ENDPOINT_URL = storage_url
        returncode, stderr, peak_rss = run_cli_measured(
            str(path), server=live_server.url, token=token
        )

    assert returncode == 1
    assert stderr.splitlines() == [f"{path}: storage's answer is larger than 64 KiB"]
    assert [request.method for request in received] == ["POST"]
    assert peak_rss < 100 * 10**6, f"peak RSS {peak_rss / 10**6:.0f} MB"


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)

    with answering_server(200) as (elsewhere, elsewhere_received):
        target = elsewhere.replace("127.0.0.1", "localhost") + "/api/media/"
        with answering_server(302, headers={"Location": target}) as (server, received):
            completed = run_cli(str(path), server=server, token="secret-token")

    assert completed.returncode == 1
    assert_no_traceback(completed)
    assert completed.stderr.splitlines() == [
        f"{path}: the server redirects to {target}; use that address as --server"
    ]
    assert [request.headers["Authorization"] for request in received] == ["Token secret-token"] * 2
    assert elsewhere_received == []


def test_a_redirect_from_storage_is_not_followed(live_server, bucket, settings, token, tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)

    with answering_server(200) as (elsewhere, elsewhere_received):
        moved = Answer(302, headers={"Location": f"{elsewhere}/bucket/"})
        with proxy(
            bucket.client.meta.endpoint_url,
            lambda exchange, seen: moved if exchange.method == "POST" else None,
        ) as (storage_url, _):
            settings.AWS_S3_ENDPOINT_URL = storage_url
            completed = run_cli(str(path), server=live_server.url, token=token)

    assert completed.returncode == 1
    assert_no_traceback(completed)
    assert completed.stderr.splitlines() == [f"{path}: storage refused the file (302 Found)"]
    assert elsewhere_received == []


# ---------------------------------------------------------------- the package itself


def test_the_uploader_imports_no_django():
    code = (
        "import pkgutil, importlib, sys, uploads.cli\n"
        "for module in pkgutil.iter_modules(uploads.cli.__path__):\n"
        "    if module.name != '__main__':\n"
        "        importlib.import_module(f'uploads.cli.{module.name}')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'mediaupload'} or m in {'uploads.models', 'uploads.conf'}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(None) | {"DJANGO_SETTINGS_MODULE": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert completed.stdout.strip() == "[]"


def test_the_uploader_runs_where_django_cannot_be_imported(live_server, bucket, token, tmp_path):
    blocked = tmp_path / "blocked"
    for name in ("django", "rest_framework"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('no {name} here')\n")
    path = tmp_path / "clip.mp4"
    write_clip(path, 4096)
    search_path = os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")]))
    env = cli_env(token) | {"PYTHONPATH": search_path, "DJANGO_SETTINGS_MODULE": ""}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert "ImportError: no django here" in run("-c", "import django").stderr  # blocked indeed
    shown = run("-m", "uploads.cli", "upload", "--help")
    uploaded = run("-m", "uploads.cli", "upload", str(path), "--json", "--server", live_server.url)

    assert shown.returncode == 0 and "--server URL" in shown.stdout, shown.stderr
    assert uploaded.returncode == 0, uploaded.stderr
    assert json_results(uploaded)[0]["status"] == "uploaded"


def test_the_form_body_streams_the_fields_then_the_file_last(tmp_path):
    from uploads.cli.streams import FileSlice, FormBody

    path = tmp_path / "clip.mp4"
    path.write_bytes(b"0123456789" * 300_000)
    fields = {"key": "incoming/x.mp4", "Content-Type": "video/mp4", "policy": "e30="}
    with (
        FileSlice(path, 0, path.stat().st_size, cancel=threading.Event()) as file,
        FormBody(fields, 'a "clip".mp4', "video/mp4", file) as form,
    ):
        declared = len(form)
        sent = b"".join(iter(lambda: form.read(64 * 1024), b""))

    assert len(sent) == declared
    boundary = form.content_type.split("boundary=")[1].encode()
    parts = sent.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n" and parts[0] == b""
    names = [part.split(b"\r\n")[1] for part in parts[1:-1]]
    assert names == [
        b'Content-Disposition: form-data; name="key"',
        b'Content-Disposition: form-data; name="Content-Type"',
        b'Content-Disposition: form-data; name="policy"',
        b'Content-Disposition: form-data; name="file"; filename="a %22clip%22.mp4"',
    ]
    assert parts[-2].endswith(b"\r\n\r\n" + path.read_bytes() + b"\r\n")
