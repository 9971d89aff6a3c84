"""The protocol's vocabulary, read from `protocol.json`: error codes, record statuses, limits.

Standard library only: the server, the command-line client (without Django) and the page (in
the config the server renders) all read this one table instead of restating it.
"""

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal, cast

Action = Literal["retry", "renew", "restart", "final"]
ACTIONS: tuple[Action, ...] = ("retry", "renew", "restart", "final")


@dataclass(frozen=True)
class ErrorCode:
    """One error `code`: its HTTP status, what a client does, and whether a person decides."""

    code: str
    status: int
    action: Action
    needs_person: bool
    summary: str


@cache
def table() -> dict[str, Any]:
    """Return the whole table, as the page receives it."""
    text = files("uploads").joinpath("protocol.json").read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def errors() -> dict[str, ErrorCode]:
    """Return every error code the server may answer, by code."""
    return {
        code: ErrorCode(
            code=code,
            status=entry["status"],
            action=entry["action"],
            needs_person=entry["needs_person"],
            summary=entry["summary"],
        )
        for code, entry in table()["errors"].items()
    }


def error(code: str) -> ErrorCode:
    """Return one error code's entry; KeyError names a code the table lacks."""
    return errors()[code]


def statuses() -> list[str]:
    """Return the record statuses, `pending` first."""
    return list(table()["statuses"])


def final_statuses() -> list[str]:
    """Return the statuses a record never leaves."""
    return [name for name, entry in table()["statuses"].items() if entry["final"]]


def analysis_statuses() -> list[str]:
    """Return where a record's background analysis can stand (`none` first)."""
    return list(table()["analysis_statuses"])


def field_checks() -> list[str]:
    """Return what a record's field says of it (`checking` first, while analysis runs)."""
    return list(table()["field_checks"])


def limit(name: str) -> int:
    """Return one of the protocol's limits (for example `max_parts_per_sign`)."""
    return int(table()["limits"][name])


def fallback_action(status: int) -> Action:
    """Return what a client does with a code it does not know, by the answer's HTTP status."""
    rules = table()["fallback"]
    by_class = f"{status // 100}xx"
    return cast(Action, rules.get(str(status)) or rules.get(by_class, "final"))


def action_for(status: int, code: str = "") -> Action:
    """Return what a client does about an app answer: the code's entry, else by HTTP status.

    A status of 0 (no answer at all) is worth another try.
    """
    known = errors().get(code)
    if known is not None:
        return known.action
    return "retry" if status == 0 else fallback_action(status)


def storage_action(status: int, code: str = "", message: str = "") -> Action:
    """Return what a client does when S3 refuses a signed request (status 0: S3 unreachable)."""
    rules = table()["storage"]
    if code in rules["renew_codes"]:
        return "renew"
    if code == "AccessDenied" and rules["renew_when_access_denied_says"] in message.lower():
        return "renew"  # AWS: "Request has expired", "Invalid according to Policy: Policy expired."
    if status == 0 or code in rules["retry_codes"] or status in rules["retry_statuses"]:
        return "retry"
    if rules["retry_5xx"] and status >= 500:
        return "retry"
    return "final"


def open_status() -> str:
    """Return the one status that is not final: a record's until it is settled (`pending`)."""
    (name,) = [str(name) for name, entry in table()["statuses"].items() if not entry["final"]]
    return name
