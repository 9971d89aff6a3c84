"""The protocol table (`uploads/protocol.json`) is the one declaration of error codes, record
statuses and signing limits: the server raises only codes it declares, with its statuses; the
schema publishes exactly its enums; and no client restates a code or a status of its own."""

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.exceptions import APIException

import uploads
from uploads import errors, protocol, storage
from uploads.api.errors import NOT_FOUND, SERVER_ERROR, as_api_exception, error_body
from uploads.events import notifications
from uploads.models import MediaFile

PACKAGE = Path(uploads.__file__).parent
TABLE = json.loads((PACKAGE / "protocol.json").read_text())
CODES = set(TABLE["errors"])
STATUSES = set(TABLE["statuses"])
ANALYSIS_STATUSES = set(TABLE["analysis_statuses"])
FIELD_CHECKS = set(TABLE["field_checks"])

# DRF's own exceptions the app's views let through unchanged (authentication, routing, throttling).
DRF_ANSWERS = [
    drf.NotAuthenticated,
    drf.AuthenticationFailed,
    drf.PermissionDenied,
    drf.NotFound,
    drf.MethodNotAllowed,
    drf.NotAcceptable,
    drf.UnsupportedMediaType,
    drf.Throttled,
    drf.ParseError,
]


def _subclasses(cls: type) -> list[type]:
    """Return every subclass of `cls`, however deep."""
    found: list[type] = []
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        found += [sub, *_subclasses(sub)]
    return found


def _record(status: str = "pending") -> Any:
    """A stand-in for the record an app error names (only its status and reason are read)."""
    return SimpleNamespace(status=status, failure_reason="")


def _app_exceptions() -> list[Exception]:
    """One instance of every exception the app's services and storage raise toward the API."""
    conflicts: list[Exception] = [cls(_record()) for cls in _subclasses(errors.UploadConflict)]
    return [
        *conflicts,
        errors.UploadConflict(_record(), "conflict"),
        errors.QuotaExceeded("over"),
        errors.IdempotencyKeyReused("reused"),
        errors.InvalidInput("bad", field="field"),
        errors.InvalidPartNumbers("bad"),
        notifications.EventsMalformed("bad"),
        notifications.EventsForbidden("no"),
        notifications.EventsUnavailable("later"),
        RequestDataTooBig("big"),
        MediaFile.DoesNotExist(),
        Http404(),
        storage.ClockSkewed("skewed"),
        storage.StorageUnavailable("down"),
        storage.StorageError("refused"),
    ]


@pytest.mark.parametrize("exc", _app_exceptions(), ids=lambda exc: type(exc).__name__)
def test_every_app_error_answers_a_code_of_the_table_with_its_status(exc: Exception) -> None:
    answer = as_api_exception(exc)
    assert isinstance(answer, APIException), f"{type(exc).__name__} has no HTTP answer"
    body = error_body(answer)
    assert body["code"] in CODES
    assert answer.status_code == TABLE["errors"][body["code"]]["status"]


def _api_exception_classes() -> list[type[APIException]]:
    """Return DRF's answers the app lets through, and every APIException class of the app's."""
    import uploads.api.views  # noqa: F401  (loads every API module)

    own = [
        cls
        for cls in _subclasses(APIException)
        if cls.__module__.startswith("uploads.") and cls.__name__ != "AppError"  # table-made
    ]
    return DRF_ANSWERS + own


@pytest.mark.parametrize("cls", _api_exception_classes(), ids=lambda c: c.__name__)
def test_every_api_exception_class_declares_a_code_of_the_table(cls: type[APIException]) -> None:
    code = "invalid" if issubclass(cls, drf.ValidationError) else cls.default_code
    assert code in CODES
    assert cls.status_code == TABLE["errors"][code]["status"]


def test_the_fixed_answers_are_codes_of_the_table() -> None:
    assert TABLE["errors"][SERVER_ERROR["code"]]["status"] == 500
    assert TABLE["errors"][NOT_FOUND["code"]]["status"] == 404


def test_every_entry_is_well_formed() -> None:
    assert set(protocol.statuses()) == set(MediaFile.Status.values)
    assert set(protocol.final_statuses()) == set(MediaFile.Status.values) - {"pending"}
    for code, entry in TABLE["errors"].items():
        assert re.fullmatch(r"[a-z_]+", code)
        assert entry["action"] in TABLE["actions"], code
        assert 400 <= entry["status"] < 600, code
        assert isinstance(entry["needs_person"], bool)
        assert entry["summary"]


def test_the_former_disagreements_are_settled_one_way() -> None:
    # The app's 502 is a set-up problem: final. A proxy's bare 502 is worth another try.
    assert protocol.action_for(502, "storage_error") == "final"
    assert protocol.action_for(502) == "retry"
    # Only an expired signature or policy is worth signing again; any other S3 403 is final.
    assert protocol.storage_action(403, "AccessDenied", "Request has expired") == "renew"
    assert protocol.storage_action(403, "AccessDenied", "Access Denied") == "final"
    assert protocol.storage_action(403, "SignatureDoesNotMatch") == "final"
    # A 408 is retried, from the app and from S3.
    assert protocol.action_for(408) == "retry"
    assert protocol.storage_action(408) == "retry"
    # An expired record takes a new one; the page asks a person first, the CLI acts alone.
    assert protocol.error("upload_expired").action == "restart"
    assert protocol.error("upload_expired").needs_person


@pytest.mark.parametrize(
    ("status", "action"),
    [(0, "retry"), (401, "renew"), (418, "final"), (429, "retry"), (599, "retry")],
)
def test_an_unknown_code_is_handled_by_its_http_class(status: int, action: str) -> None:
    assert protocol.action_for(status, "a_code_from_a_newer_server") == action


@pytest.mark.django_db
def test_the_schema_publishes_the_tables_codes_and_statuses(client, user) -> None:
    client.force_login(user)
    schema = client.get("/api/schema/?format=json").json()
    enums = _enums_by_component(schema)
    assert set(enums["Error.code"]) == CODES
    assert set(enums["Conflict.code"]) == _codes_answered_with(409)
    assert set(enums["Conflict.status"]) == STATUSES
    assert set(enums["ValidationError.code"]) == _codes_answered_with(400)
    assert set(enums["MediaFile.status"]) == STATUSES
    assert set(enums["Analysis.status"]) == ANALYSIS_STATUSES
    assert set(enums["FieldCheck.status"]) == FIELD_CHECKS
    # Every error status an operation documents names its codes from the table.
    for path in schema["paths"].values():
        for operation in path.values():
            for status, answer in operation.get("responses", {}).items():
                if int(status) >= 400:
                    described = set(re.findall(r"`([a-z_]+)`:", answer["description"]))
                    expected = _codes_answered_with(int(status))
                    assert described == expected, (status, answer["description"])


def _codes_answered_with(status: int) -> set[str]:
    """Return the table's codes for this HTTP status, read from the JSON itself."""
    return {code for code, entry in TABLE["errors"].items() if entry["status"] == status}


def _enums_by_component(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Return each component property's enum (following $ref to enum components)."""
    components = schema["components"]["schemas"]
    found: dict[str, list[str]] = {}
    for name, component in components.items():
        for prop, spec in component.get("properties", {}).items():
            ref = spec.get("$ref") or next(
                (item.get("$ref") for item in spec.get("allOf", []) if "$ref" in item), None
            )
            target = components[ref.rsplit("/", 1)[1]] if ref else spec
            if "enum" in target:
                found[f"{name}.{prop}"] = [value for value in target["enum"] if value]
    return found


# Where a client may name a code or a status: the table's readers. The page's own state table
# names its states, some of which share the names of the record's final statuses.
READERS = {"uploads/protocol.py", "uploads/static/uploads/core/protocol.js"}
STATE_NAMES = {"uploads/static/uploads/core/states.js"}
# The browser's own words that share an analysis status's name: a drop target that takes nothing.
DOM_WORDS = {("uploads/static/uploads/ui/dropzone.js", "none")}


def _js_literals(text: str) -> list[tuple[str, str, str]]:
    """Return the string literals of a JS module, comments left out."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"(?m)(^|[^:\\])//.*$", r"\1", text)
    return re.findall(r"""(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$]*)`)""", text)


def _client_literals() -> list[tuple[str, str]]:
    """Return (file, literal) for every string literal in the page's and the CLI's code."""
    found: list[tuple[str, str]] = []
    root = PACKAGE.parent
    for path in sorted((PACKAGE / "static").rglob("*.js")):
        name = str(path.relative_to(root))
        for groups in _js_literals(path.read_text()):
            found += [(name, value) for value in groups if value]
    for path in sorted((PACKAGE / "cli").rglob("*.py")):
        name = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((name, node.value))
    return found


def test_no_client_restates_a_code_or_a_status() -> None:
    restated = [
        (name, value)
        for name, value in _client_literals()
        if name not in READERS
        and (value in CODES or (value in STATUSES and name not in STATE_NAMES))
    ]
    assert restated == []


def test_no_client_restates_an_analysis_status_or_a_field_check() -> None:
    restated = [
        (name, value)
        for name, value in _client_literals()
        if name not in READERS
        and value in (ANALYSIS_STATUSES | FIELD_CHECKS) - STATUSES
        and (name, value) not in DOM_WORDS
    ]
    assert restated == []


def test_the_model_and_the_table_agree_on_the_analysis_statuses() -> None:
    assert list(MediaFile.Analysis.values) == list(TABLE["analysis_statuses"])


def test_the_literal_scan_finds_what_it_looks_for() -> None:
    assert _js_literals('if (code === "busy") x = `parts_gone`; // "in_use"') == [
        ("busy", "", ""),
        ("", "", "parts_gone"),
    ]
