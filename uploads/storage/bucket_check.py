"""The bucket self-test behind `manage.py check_bucket`: each check passes or says what is wrong."""

import contextlib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from uploads import conf, storage
from uploads.storage import clock
from uploads.storage.bucket import ABORT_MULTIPART_RULE, EXPIRE_SCRATCH_RULE

_TIMEOUT = 10
_PROBE_BODY = b"mediaupload bucket self-test\n"


@dataclass(frozen=True)
class CheckResult:
    """One line of the self-test."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer: status and headers (lower-cased names)."""

    status: int
    headers: Message


def _http(url: str, *, method: str, headers: dict[str, str], body: bytes | None = None) -> _Answer:
    """Send one request as a browser would, without following redirects; errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            return _Answer(response.status, response.headers)
    except urllib.error.HTTPError as error:
        return _Answer(error.code, error.headers)


def _allows(answer: _Answer, origin: str) -> bool:
    """Tell whether a CORS answer lets this origin read it."""
    return answer.headers.get("Access-Control-Allow-Origin", "") in {origin, "*"}


# S3's error codes for credentials it does not accept.
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_BUCKET_PROBLEMS = {
    "NoSuchBucket": "does not exist: run configure_bucket",
    "AccessDenied": "refuses these credentials: they need s3:ListBucket and the object rights",
}


def run_checks(origins: list[str]) -> Iterator[CheckResult]:
    """Run every check in order; the rest are skipped once credentials or the bucket fail."""
    if not storage.credentials_found():
        names = conf.s3_connection().names
        wanted = f"{names['access_key_id']} and {names['secret_access_key']}"
        yield CheckResult("credentials", False, f"none found: set {wanted}")
        return
    try:
        problem = storage.access_problem()
    except storage.StorageError as error:
        yield CheckResult("credentials", True, "found")
        yield CheckResult("bucket reachable", False, f"{conf.bucket()}: {error}")
        return
    clock_check = _clock()  # measured from S3's answer just above
    if not clock_check.ok:  # S3 refuses whatever this server signs: nothing else can pass
        yield CheckResult("credentials", True, "found")
        yield clock_check
        return
    if problem in _BAD_CREDENTIALS:
        yield CheckResult("credentials", False, f"S3 does not accept them ({problem})")
        return
    yield CheckResult("credentials", True, "found and accepted by S3")
    if problem:
        detail = _BUCKET_PROBLEMS.get(problem, f"S3 refused to list it ({problem})")
        yield CheckResult("bucket reachable", False, f"{conf.bucket()} {detail}")
        return
    yield CheckResult("bucket reachable", True, f"{conf.bucket()} answers")
    yield clock_check
    yield _lifecycle()
    yield _derived_round_trip()
    try:
        yield from _signed_checks(origins)
    except storage.ClockSkewed as skewed:  # signing by this server's own clock (no shortcuts)
        yield CheckResult("signing", False, str(skewed))


def _signed_checks(origins: list[str]) -> Iterator[CheckResult]:
    """The checks that send what this server signs: CORS preflights and a real POST."""
    if not origins:
        yield CheckResult("CORS", False, "no origins to check: set UPLOAD_CORS_ORIGINS or --origin")
    for origin in origins:
        yield from _cors(origin)
    yield _post_round_trip(origins[0] if origins else None)


def _clock() -> CheckResult:
    """This server's clock is near enough S3's: S3 refuses requests over 15 minutes off."""
    offset = clock.offset()
    if offset is None:
        return CheckResult("clock", True, "not measured: S3 sent no usable Date header")
    refused = clock.problem()
    if refused:
        return CheckResult("clock", False, refused)
    if abs(offset) > clock.CORRECT_SECONDS:
        return CheckResult("clock", True, clock.correction(offset))
    return CheckResult("clock", True, clock.describe(offset))


def _lifecycle() -> CheckResult:
    """Our lifecycle rules are on the bucket."""
    present = {rule.get("ID") for rule in storage.lifecycle_rules()}
    missing = [rule for rule in (ABORT_MULTIPART_RULE, EXPIRE_SCRATCH_RULE) if rule not in present]
    if missing:
        return CheckResult(
            "lifecycle", False, f"missing {', '.join(missing)}: run configure_bucket"
        )
    return CheckResult("lifecycle", True, "abandoned multipart uploads and scratch objects expire")


def _derived_round_trip() -> CheckResult:
    """The task workers can write, read and delete under the derived prefix (posters)."""
    key = f"{conf.derived_prefix()}check-bucket-{uuid.uuid4()}/probe.txt"
    try:
        storage.put_object(key=key, body=b"x", content_type="text/plain")
        storage.read_object(key)
        storage.delete_object(key)
    except storage.StorageError as error:
        _cleanup(key)
        return CheckResult("derived files", False, f"under {conf.derived_prefix()}: {error}")
    return CheckResult(
        "derived files", True, f"written, read and deleted under {key.split('/')[0]}/"
    )


def _probe_key() -> str:
    """Return a throwaway scratch key for the checks' own objects."""
    return f"{conf.key_prefix()}check-bucket-{uuid.uuid4()}.txt"


def _cors(origin: str) -> Iterator[CheckResult]:
    """Preflights for POST and PUT from the origin, and ETag readable on a real cross-origin PUT."""
    post = storage.presign_post(key=_probe_key(), content_type="text/plain", size=1, expires_in=60)
    for method, url in (("POST", post.url), ("PUT", post.url)):
        answer = _http(
            url,
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": method},
        )
        ok = answer.status < 300 and _allows(answer, origin)
        detail = "allowed" if ok else f"refused (HTTP {answer.status}): add the origin to CORS"
        yield CheckResult(f"CORS preflight {method} from {origin}", ok, detail)
    key = _probe_key()
    url = storage.presign_put(key=key, content_type="text/plain", expires_in=60)
    answer = _http(
        url,
        method="PUT",
        headers={"Origin": origin, "Content-Type": "text/plain"},
        body=_PROBE_BODY,
    )
    _cleanup(key)
    exposed = answer.headers.get("Access-Control-Expose-Headers", "").lower()
    ok = answer.status < 300 and _allows(answer, origin) and "etag" in exposed
    detail = (
        "exposed"
        if ok
        else f"not readable by the page (HTTP {answer.status}, exposed: {exposed or 'none'}); "
        "multipart uploads need ExposeHeaders ETag"
    )
    yield CheckResult(f"ETag on a cross-origin PUT from {origin}", ok, detail)


def _post_round_trip(origin: str | None) -> CheckResult:
    """A tiny signed POST, as a browser sends it, is stored; then it is deleted."""
    key = _probe_key()
    post = storage.presign_post(
        key=key, content_type="text/plain", size=len(_PROBE_BODY), expires_in=60
    )
    boundary = uuid.uuid4().hex
    body = _form(boundary, {**post.fields}, _PROBE_BODY)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if origin:
        headers["Origin"] = origin
    answer = _http(post.url, method="POST", headers=headers, body=body)
    try:
        stored = storage.head_object(key).size == len(_PROBE_BODY)
    except storage.ObjectNotFound:
        stored = False
    finally:
        _cleanup(key)
    ok = answer.status < 300 and stored
    detail = "stored and deleted" if ok else f"HTTP {answer.status}, stored: {stored}"
    return CheckResult("signed POST upload", ok, detail)


def _form(boundary: str, fields: dict[str, str], file_body: bytes) -> bytes:
    """Encode a multipart/form-data body: the signed fields, then the file last."""
    lines: list[bytes] = []
    for name, value in fields.items():
        lines += [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="{name}"'.encode(),
            b"",
            value.encode(),
        ]
    lines += [
        f"--{boundary}".encode(),
        b'Content-Disposition: form-data; name="file"; filename="check.txt"',
        b"Content-Type: text/plain",
        b"",
        file_body,
        f"--{boundary}--".encode(),
        b"",
    ]
    return b"\r\n".join(lines)


def _cleanup(key: str) -> None:
    """Delete a probe object; a failure here is not the check's failure."""
    with contextlib.suppress(storage.StorageError):
        storage.delete_object(key)
