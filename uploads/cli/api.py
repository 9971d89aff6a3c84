"""The app's upload API: token, Idempotency-Key, retries, and its error answers as exceptions."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import requests

from uploads import protocol
from uploads.cli import answers
from uploads.cli.errors import (
    AnswerTooLarge,
    ApiError,
    StartOver,
    TokenRefused,
    Transient,
    UploadError,
)
from uploads.cli.http import (
    CONNECT_TIMEOUT,
    local_deadline,
    now,
    read_answer,
    retry_after,
    unreachable,
)
from uploads.cli.retry import RetryPolicy, with_retries

T = TypeVar("T")

API_TIMEOUT = 60.0
# Completing assembles a multipart upload and reads the object back: slow on a large file.
COMPLETE_TIMEOUT = 600.0
# The app answers JSON of a few KiB; its largest answer, a new record with as many signed part
# URLs as one call signs (the protocol's max_parts_per_sign, 100), stays under 200 KiB. More than
# this is not the app (a wrong --server, or a hostile one): it is not read further, so a huge
# answer cannot exhaust memory.
API_ANSWER_LIMIT = 4 * 1024**2
# Fields whose message reads well without the field's name in front.
_SELF_EXPLAINING_FIELDS = {"size", "content_type"}


@dataclass(frozen=True)
class Answer:
    """A successful answer: its JSON body, the response, and when the request was sent."""

    body: Any
    response: requests.Response
    sent_at: float


class ApiClient:
    """Calls /api/media/ on the app server as the token's owner."""

    def __init__(
        self,
        server: str,
        token: str,
        session: requests.Session,
        policy: RetryPolicy,
        cancel: threading.Event,
    ) -> None:
        self._base = server.rstrip("/") + "/api/media/"
        self._session = session
        self._headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self._policy = policy
        self._cancel = cancel

    def create(
        self,
        *,
        filename: str,
        content_type: str,
        size: int,
        idempotency_key: str,
        first_part_count: int,
    ) -> tuple[answers.Record, answers.Upload]:
        """Declare a file; return its pending record and how to upload it (a multipart answer
        with up to `first_part_count` part URLs)."""
        declared = {
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "first_part_count": first_part_count,
        }
        answer = self._call(
            "POST", "", payload=declared, headers={"Idempotency-Key": idempotency_key}
        )
        deadline_of = _deadline_of(answer)
        return self._read(
            answer,
            lambda body: (answers.record(body), answers.upload(body["upload"], deadline_of)),
        )

    def pending(self) -> list[answers.Record]:
        """Return the newest 100 pending records."""
        params = {"status": protocol.open_status(), "page_size": "100"}
        answer = self._call("GET", "", params=params)
        return self._read(answer, answers.page_of_records)

    def listing(self, record_id: str) -> answers.PartListing:
        """Return the parts S3 holds for a multipart upload, and the ones it misses."""
        return self._read(self._call("GET", f"{record_id}/parts/"), answers.part_listing)

    def sign(self, record_id: str, part_numbers: list[int]) -> list[answers.SignedPart]:
        """Sign PUT URLs for these parts (at most the protocol's `max_parts_per_sign`)."""
        answer = self._call("POST", f"{record_id}/parts/", payload={"part_numbers": part_numbers})

        deadline_of = _deadline_of(answer)
        return self._read(
            answer, lambda body: answers.signed_parts(body, deadline_of(answers.expires_at(body)))
        )

    def authorize(self, record_id: str) -> answers.Upload:
        """Return a fresh authorization for a pending record."""
        answer = self._call("POST", f"{record_id}/authorize/")
        deadline_of = _deadline_of(answer)
        return self._read(answer, lambda body: answers.upload(body["upload"], deadline_of))

    def complete(self, record_id: str, etags: dict[int, str] | None = None) -> answers.Record:
        """Ask the server to verify the file and settle the record (`etags`: every part's)."""
        body = None
        if etags:
            body = {"parts": [{"part_number": n, "etag": etags[n]} for n in sorted(etags)]}
        answer = self._call(
            "POST", f"{record_id}/complete/", payload=body, timeout=COMPLETE_TIMEOUT
        )
        return self._read(answer, answers.record)

    def _read(self, answer: Answer, reader: Callable[[Any], T]) -> T:
        """Apply `reader` to the body, turning a malformed answer into an ApiError."""
        try:
            return reader(answer.body)
        except (answers.Malformed, KeyError, TypeError) as error:
            raise ApiError(
                f"unexpected answer from {answer.response.url} ({error}); is --server the app?",
                status=answer.response.status_code,
            ) from error

    def _call(
        self,
        method: str,
        path: str,
        *,
        payload: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = API_TIMEOUT,
    ) -> Answer:
        """Make one API request, retrying what is worth retrying; raise ApiError otherwise."""
        url = self._base + path

        def attempt() -> Answer:
            sent_at = now()
            try:
                response = self._session.request(
                    method,
                    url,
                    json=payload,
                    params=params,
                    headers={**self._headers, **(headers or {})},
                    timeout=(CONNECT_TIMEOUT, timeout),
                    allow_redirects=False,  # a redirect would carry the token elsewhere
                    stream=True,
                )
                content = read_answer(response, API_ANSWER_LIMIT)
            except (requests.ConnectionError, requests.Timeout) as error:
                raise unanswered(url, error) from error
            except AnswerTooLarge as error:
                raise ApiError(
                    f"the server's answer is {error}; is --server the app's address?",
                    status=response.status_code,
                ) from error
            if 200 <= response.status_code < 300:
                try:
                    return Answer(json.loads(content), response, sent_at)
                except ValueError as error:
                    raise ApiError(
                        f"{url} answered something other than JSON; is --server the app?",
                        status=response.status_code,
                    ) from error
            raise refusal(response, content)

        return with_retries(attempt, self._policy, self._cancel)


def _deadline_of(answer: Answer) -> Callable[[datetime], float]:
    """Turn the server's expiry times in this answer into local deadlines."""
    return lambda expires_at: local_deadline(expires_at, answer.response, answer.sent_at)


def unanswered(url: str, error: requests.RequestException) -> Exception:
    """Translate a request that got no answer (status 0 to the protocol's table)."""
    reason = UploadError(unreachable(url, error))
    return Transient(reason) if protocol.action_for(0) == "retry" else reason


def refusal(response: requests.Response, content: bytes) -> Exception:
    """Translate a non-2xx answer into what the protocol's table says to do about it.

    retry: Transient (after Retry-After, if any); renew: TokenRefused, since a token cannot be
    renewed and the run stops; restart: StartOver, which a new upload does at once even when the
    table says a person decides (none is at hand); final: an ApiError to report.
    """
    status = response.status_code
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.reason or f"HTTP {status}")
    code = str(body.get("code") or "")
    record_status = body.get("status") if isinstance(body.get("status"), str) else None

    def failure(message: str, kind: type[ApiError] = ApiError) -> ApiError:
        return kind(message, status=status, code=code, detail=detail, record_status=record_status)

    action = protocol.action_for(status, code)
    if action == "renew":
        return failure(
            f"the server refused the token ({detail}); check --token or MEDIAUPLOAD_TOKEN",
            TokenRefused,
        )
    message = _message(response, body, detail, record_status)
    if action == "retry":
        return Transient(failure(message), retry_after=retry_after(response))
    if action == "restart":
        return StartOver(message)
    return failure(message)


def _message(
    response: requests.Response, body: dict[str, Any], detail: str, record_status: str | None
) -> str:
    """Say in one line why the app refused a request, for a person."""
    status = response.status_code
    if status == 400:
        return f"the server refused it: {_field_messages(body.get('fields')) or detail}"
    if status == 403:
        return f"not allowed: {detail}"
    if 300 <= status < 400:
        where = response.headers.get("Location", "elsewhere")
        return f"the server redirects to {where}; use that address as --server"
    if status == 404 and not body:
        return f"{response.url} is not there; is --server the app's address?"
    if status == 404:
        return "the server has no such upload (was it deleted?)"
    if status == 429:
        return f"the server is busy: {detail}"
    if record_status:  # a conflict with the record's state: name that state
        return f"{record_status}: {detail}"
    if status == 409:
        return detail
    return f"the server answered {status}: {detail}"


def _field_messages(fields: Any) -> str:
    """Join a 400's per-field messages into one line."""
    if not isinstance(fields, dict):
        return ""
    lines = []
    for name, messages in fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            lines.append(str(message) if name in _SELF_EXPLAINING_FIELDS else f"{name}: {message}")
    return " ".join(lines)
