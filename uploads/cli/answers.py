"""The API's answers as typed values, checked as they are read."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class Malformed(ValueError):
    """An answer lacked a field or had one of the wrong type."""


@dataclass(frozen=True)
class Record:
    """A MediaFile as the API shows it."""

    id: str
    key: str
    filename: str
    content_type: str
    size: int
    status: str
    upload_method: str
    created_at: str


@dataclass(frozen=True)
class PostUpload:
    """A signed POST form: every field, then the file last as `file`, to `url`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart plan: parts of `part_size` bytes (the last one shorter), signed on demand."""

    part_size: int
    part_count: int
    expires_at: datetime
    first_parts: list["SignedPart"] = field(default_factory=list)  # signed with a new record


Upload = PostUpload | MultipartUpload


@dataclass(frozen=True)
class SignedPart:
    """A presigned PUT accepting exactly `size` bytes, valid until `deadline` (monotonic)."""

    part_number: int
    url: str
    size: int
    deadline: float


@dataclass(frozen=True)
class HeldPart:
    """A part S3 holds: its number, size and ETag."""

    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class PartListing:
    """What S3 holds of a multipart upload, and the part numbers it still misses."""

    part_size: int
    part_count: int
    parts: list[HeldPart]
    missing: list[int]


def _get(body: Any, name: str, kind: type[Any]) -> Any:
    """Return body[name] if it is of `kind`, else raise Malformed."""
    if not isinstance(body, dict) or name not in body:
        raise Malformed(f"no {name!r}")
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Malformed(f"{name!r} is not {kind.__name__}")
    return value


def _time(body: Any, name: str) -> datetime:
    """Return an ISO 8601 time field as an aware datetime."""
    try:
        when = datetime.fromisoformat(_get(body, name, str))
    except ValueError as error:
        raise Malformed(f"{name!r} is not a time") from error
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def expires_at(body: Any) -> datetime:
    """Read an answer's `expires_at`."""
    return _time(body, "expires_at")


def record(body: Any) -> Record:
    """Read a record."""
    return Record(
        id=_get(body, "id", str),
        key=_get(body, "key", str),
        filename=_get(body, "filename", str),
        content_type=_get(body, "content_type", str),
        size=_get(body, "size", int),
        status=_get(body, "status", str),
        upload_method=_get(body, "upload_method", str),
        created_at=_get(body, "created_at", str),
    )


def upload(body: Any, deadline_of: Callable[[datetime], float]) -> Upload:
    """Read an `upload` authorization: a POST form or a multipart plan (`deadline_of` turns the
    expiry of the part URLs that may come with it into a local deadline)."""
    method = _get(body, "method", str).lower()
    if method == "post":
        fields = _get(body, "fields", dict)
        return PostUpload(
            url=_get(body, "url", str),
            fields={str(name): str(value) for name, value in fields.items()},
            expires_at=_time(body, "expires_at"),
        )
    if method == "multipart":
        first = body.get("first_parts")
        return MultipartUpload(
            part_size=_get(body, "part_size", int),
            part_count=_get(body, "part_count", int),
            expires_at=_time(body, "expires_at"),
            first_parts=signed_parts(first, deadline_of(expires_at(first))) if first else [],
        )
    raise Malformed(f"unknown upload method {method!r}")


def signed_parts(body: Any, deadline: float) -> list[SignedPart]:
    """Read freshly signed part URLs, all valid until `deadline`."""
    return [
        SignedPart(
            part_number=_get(part, "part_number", int),
            url=_get(part, "url", str),
            size=_get(part, "size", int),
            deadline=deadline,
        )
        for part in _get(body, "parts", list)
    ]


def part_listing(body: Any) -> PartListing:
    """Read the listing of held and missing parts."""
    return PartListing(
        part_size=_get(body, "part_size", int),
        part_count=_get(body, "part_count", int),
        parts=[
            HeldPart(
                part_number=_get(part, "part_number", int),
                size=_get(part, "size", int),
                etag=_get(part, "etag", str),
            )
            for part in _get(body, "parts", list)
        ],
        missing=[int(number) for number in _get(body, "missing", list)],
    )


def page_of_records(body: Any) -> list[Record]:
    """Read one page of the record list."""
    return [record(item) for item in _get(body, "results", list)]
