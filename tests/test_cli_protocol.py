"""The uploader reads what to do about each answer from the protocol's table, and retries within
its limits (no server: the answers are made here)."""

import copy
import dataclasses
import io
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest
import requests

from uploads import protocol
from uploads.cli import api, s3
from uploads.cli.errors import (
    NeedsRenewal,
    StartOver,
    StorageRefused,
    TokenRefused,
    Transient,
    UploadError,
)
from uploads.cli.retry import RetryPolicy, with_retries

# Each action moved to another: a CLI restating the shipped table disagrees with this one.
_ROTATED: dict[protocol.Action, protocol.Action] = {
    "retry": "renew",
    "renew": "restart",
    "restart": "final",
    "final": "retry",
}
# Codes no table names, answered with each kind of HTTP status.
_UNKNOWN_APP_ANSWERS = [
    (status, code)
    for status in (301, 302, 400, 401, 403, 404, 408, 409, 410, 422, 429, 500, 502, 503, 504)
    for code in ("", "made_up_by_a_newer_server")
]
_S3_STATUSES = (301, 400, 403, 404, 408, 409, 412, 429, 500, 501, 503)
_S3_CODES = ("", "AccessDenied", "SignatureDoesNotMatch", "EntityTooLarge", "NoSuchUpload")
_S3_MESSAGES = (
    "",
    "Request has expired",
    "Invalid according to Policy: Policy expired.",
    "Access Denied",
    "Request was denied",
)


def _permuted(shipped: dict[str, Any]) -> dict[str, Any]:
    """Return the table with every action moved and S3's rules turned around."""
    table = copy.deepcopy(shipped)
    for entry in table["errors"].values():
        entry["action"] = _ROTATED[entry["action"]]
    table["fallback"] = {
        "401": "final",
        "408": "restart",
        "429": "renew",
        "3xx": "retry",
        "4xx": "retry",
        "5xx": "final",
    }
    storage = shipped["storage"]
    table["storage"] = {
        "renew_codes": storage["retry_codes"],
        "renew_when_access_denied_says": "denied",
        "retry_codes": [*storage["renew_codes"], "AccessDenied"],
        "retry_statuses": [403, 409],
        "retry_5xx": False,
    }
    return table


@pytest.fixture(params=["shipped", "permuted"])
def table(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shipped table, or (in place of the cached one) a permuted one."""
    if request.param == "permuted":
        shipped_errors = protocol.errors()
        changed = _permuted(protocol.table())
        errors = {
            code: dataclasses.replace(entry, action=changed["errors"][code]["action"])
            for code, entry in shipped_errors.items()
        }
        monkeypatch.setattr(protocol, "table", lambda: changed)
        monkeypatch.setattr(protocol, "errors", lambda: errors)
        assert all(protocol.error(c).action != e.action for c, e in shipped_errors.items())
    return str(request.param)


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    """A response with this status (its body is passed on its own)."""
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response.url = "http://app.test/api/media/"
    response.headers.update(headers or {})
    return response


def _action_taken(failure: Exception, renewal: type[Exception]) -> protocol.Action:
    """Return the action the CLI took up: the exception it raises (`renewal`'s type to renew)."""
    if isinstance(failure, Transient):
        return "retry"
    if isinstance(failure, renewal):
        return "renew"
    if isinstance(failure, StartOver):
        return "restart"
    assert isinstance(failure, UploadError), failure
    return "final"


def _app_action(failure: Exception) -> protocol.Action:
    """Return the action the CLI took up for an app answer (a 401 stops the run)."""
    return _action_taken(failure, TokenRefused)


def _storage_action(failure: Exception) -> protocol.Action:
    """Return the action the CLI took up for an S3 answer (an expired signature is signed again)."""
    return _action_taken(failure, NeedsRenewal)


def _app_answers() -> list[tuple[int, str]]:
    """Every code of the table with its status, and unknown codes of every kind of status."""
    known = [(entry.status, code) for code, entry in protocol.errors().items()]
    return [*known, *_UNKNOWN_APP_ANSWERS]


def test_the_cli_does_what_the_table_says_about_every_app_answer(table: str) -> None:
    seen = set()
    for status, code in _app_answers():
        body = json.dumps({"detail": "why", "code": code, "status": protocol.open_status()})

        failure = api.refusal(_response(status), body.encode())

        assert _app_action(failure) == protocol.action_for(status, code), (status, code)
        seen.add(_app_action(failure))
    assert seen == set(protocol.ACTIONS)  # every action was taken up at least once


def test_the_cli_does_what_the_table_says_when_the_app_does_not_answer(table: str) -> None:
    failure = api.unanswered("http://app.test/", requests.ConnectionError("Connection refused"))

    assert _app_action(failure) == protocol.action_for(0)


def test_a_retried_app_answer_keeps_its_retry_after(table: str) -> None:
    status, code = next((s, c) for s, c in _app_answers() if protocol.action_for(s, c) == "retry")

    body = json.dumps({"detail": "why", "code": code}).encode()

    failure = api.refusal(_response(status, {"Retry-After": "7"}), body)

    assert isinstance(failure, Transient) and failure.retry_after == 7.0


def _s3_body(code: str, message: str) -> str:
    """An S3 error document (empty when it names nothing)."""
    if not code and not message:
        return ""
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"


def test_the_cli_does_what_the_table_says_about_every_s3_answer(table: str) -> None:
    storage = protocol.table()["storage"]
    codes = {*_S3_CODES, *storage["renew_codes"], *storage["retry_codes"]}
    seen = set()
    for status, code, message in itertools.product(_S3_STATUSES, sorted(codes), _S3_MESSAGES):
        failure = s3.refusal(_response(status), _s3_body(code, message), "part")

        expected = protocol.storage_action(status, code, message)
        assert _storage_action(failure) == expected, (status, code, message)
        seen.add(expected)
    assert seen == {"retry", "renew", "final"}  # what storage_action can say


def test_the_cli_does_what_the_table_says_when_s3_does_not_answer(table: str) -> None:
    failure = s3.unanswered("http://s3.test/", requests.ConnectionError("Connection refused"))

    assert _storage_action(failure) == protocol.storage_action(0)


def test_a_refused_s3_transfer_is_named_in_one_line() -> None:
    body = _s3_body("AccessDenied", "Access Denied")

    failure = s3.refusal(_response(403), body, "part")

    assert isinstance(failure, StorageRefused)  # not signed again: it would be refused again
    assert str(failure) == "storage refused the part (403 AccessDenied: Access Denied)"


# ---------------------------------------------------------------- the list of pending records


class _Session:
    """Answers every request with one JSON body, and keeps the requests' arguments."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Answer 200 with the body."""
        self.requests.append({"method": method, "url": url, **kwargs})
        response = _response(200)
        response.raw = io.BytesIO(self.body)
        return response


def test_pending_records_are_asked_for_by_the_tables_open_status(monkeypatch) -> None:
    statuses = {"waiting": {"final": False}, "done": {"final": True}}
    changed = {**protocol.table(), "statuses": statuses}
    monkeypatch.setattr(protocol, "table", lambda: changed)
    session = _Session(b'{"results": []}')
    stub = cast(requests.Session, session)
    client = api.ApiClient("http://app.test", "T", stub, RetryPolicy(), threading.Event())

    assert client.pending() == []

    assert session.requests[0]["params"]["status"] == "waiting"


# ---------------------------------------------------------------- limits of retries and renewals


def _failing(
    failure: Callable[[], Exception], successes_after: int | None = None
) -> tuple[Callable[[], str], list[int]]:
    """Return an operation raising `failure()` (until call `successes_after`), and its calls."""
    calls: list[int] = []

    def operation() -> str:
        calls.append(len(calls) + 1)
        if successes_after is not None and len(calls) > successes_after:
            return "done"
        raise failure()

    return operation, calls


def test_a_transient_failure_is_tried_exactly_attempts_times_then_given_up() -> None:
    reason = UploadError("the server answered 503")
    operation, calls = _failing(lambda: Transient(reason))
    notes: list[str] = []

    with pytest.raises(UploadError) as raised:
        with_retries(
            operation, RetryPolicy(attempts=3, base=0), threading.Event(), on_retry=notes.append
        )

    assert raised.value is reason
    assert len(calls) == 3
    assert [note.split(" in ")[0] for note in notes] == ["retry 1/2", "retry 2/2"]


def test_the_last_attempt_is_made() -> None:
    operation, calls = _failing(lambda: Transient(UploadError("busy")), successes_after=2)

    assert with_retries(operation, RetryPolicy(attempts=3, base=0), threading.Event()) == "done"
    assert len(calls) == 3


def test_renewals_stop_at_their_limit() -> None:
    reason = UploadError("storage refused the file (403 AccessDenied: Request has expired)")
    operation, calls = _failing(lambda: NeedsRenewal(reason))
    renewed: list[int] = []

    with pytest.raises(UploadError) as raised:
        with_retries(
            operation,
            RetryPolicy(attempts=1, renewals=2, base=0),
            threading.Event(),
            renew=lambda: renewed.append(1),
        )

    assert raised.value is reason
    assert len(renewed) == 2
    assert len(calls) == 3  # renewals cost no attempt: one attempt, then one after each renewal


def test_the_last_renewal_is_used() -> None:
    operation, calls = _failing(lambda: NeedsRenewal(UploadError("expired")), successes_after=2)
    policy = RetryPolicy(attempts=1, renewals=2, base=0)

    assert with_retries(operation, policy, threading.Event(), renew=lambda: None) == "done"
    assert len(calls) == 3


def test_without_a_way_to_renew_a_refusal_is_final() -> None:
    reason = UploadError("expired")
    operation, calls = _failing(lambda: NeedsRenewal(reason))

    with pytest.raises(UploadError) as raised:
        with_retries(operation, RetryPolicy(base=0), threading.Event())

    assert raised.value is reason and len(calls) == 1
