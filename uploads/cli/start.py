"""Where a file's upload starts: a pending record of the same file to resume, or a new record."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from uploads import protocol
from uploads.cli.answers import PartListing, PostUpload, Record, SignedPart
from uploads.cli.context import Transfer
from uploads.cli.errors import ApiError, StartOver, TokenRefused
from uploads.cli.files import LocalFile
from uploads.cli.parts import MAX_SIGNED, part_bounds, part_count
from uploads.cli.single import authorize

# Candidates tried before giving up on resuming (each costs a request, maybe reading the file).
MAX_CANDIDATES = 3
_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Start:
    """A record and what is left to send: a POST form, or the missing parts of a multipart plan."""

    record: Record
    form: PostUpload | None = None
    part_size: int = 0
    missing: list[int] = field(default_factory=list)
    held_bytes: int = 0
    resumed: bool = False
    first_parts: list[SignedPart] = field(default_factory=list)  # signed with a new record
    held_etags: dict[int, str] = field(default_factory=dict)  # parts S3 already holds: their ETags


def create(transfer: Transfer, local: LocalFile) -> Start:
    """Declare the file as a new upload (one Idempotency-Key per record this run asks for)."""
    record, upload = transfer.api.create(
        filename=local.name,
        content_type=local.content_type,
        size=local.size,
        idempotency_key=str(uuid.uuid4()),
        # As many part URLs as one call signs: a fast transfer then makes no parts/ call for its
        # first parts, and a slow one renews those it reaches late (a few ms of signing).
        first_part_count=MAX_SIGNED,
    )
    if isinstance(upload, PostUpload):
        return Start(record=record, form=upload)
    return Start(
        record=record,
        part_size=upload.part_size,
        missing=list(range(1, upload.part_count + 1)),
        first_parts=upload.first_parts,
    )


class Resumer:
    """Finds pending records to resume (one listing per run) and never hands out one twice."""

    def __init__(self) -> None:
        self._pending: list[Record] | None = None
        self._claimed: set[str] = set()

    def claim(self, record_id: str) -> None:
        """Keep the record from being resumed by another file of this run."""
        self._claimed.add(record_id)

    def find(self, transfer: Transfer, local: LocalFile) -> Start | None:
        """Return the newest pending upload of this very file that can go on, or None."""
        for record in self._candidates(transfer, local)[:MAX_CANDIDATES]:
            try:
                start = self._resume(transfer, local, record)
            except TokenRefused:
                raise
            except (ApiError, StartOver):
                continue  # finished, expired or cancelled meanwhile: try the next one
            if start is not None:
                self.claim(record.id)
                return start
        return None

    def _candidates(self, transfer: Transfer, local: LocalFile) -> list[Record]:
        """Pending records with the file's name, size and type, newest first."""
        if self._pending is None:
            try:
                self._pending = transfer.api.pending()
            except TokenRefused:
                raise
            except ApiError:
                self._pending = []  # only a convenience: any trouble here means a new upload
        open_status = protocol.open_status()
        matches = [
            record
            for record in self._pending
            if record.status == open_status
            and record.filename == local.name
            and record.size == local.size
            and record.content_type == local.content_type
            and record.id not in self._claimed
        ]
        return sorted(matches, key=lambda record: record.created_at, reverse=True)

    def _resume(self, transfer: Transfer, local: LocalFile, record: Record) -> Start | None:
        """Return how to go on with the record, or None when it holds another file's bytes."""
        if record.upload_method != "multipart":
            return Start(record=record, form=authorize(transfer, record.id), resumed=True)
        listing = transfer.api.listing(record.id)
        if not _holds_this_file(transfer, local, listing):
            return None
        return Start(
            record=record,
            part_size=listing.part_size,
            missing=listing.missing,
            held_bytes=sum(part.size for part in listing.parts),
            resumed=True,
            held_etags={part.part_number: part.etag for part in listing.parts},
        )


def _holds_this_file(transfer: Transfer, local: LocalFile, listing: PartListing) -> bool:
    """Tell whether every part S3 holds is this file's bytes (its ETag is their MD5).

    A record with the same name and size may be another file's, or this file before an edit:
    its parts must not be mixed with ours. Stores whose part ETags are not MD5s (SSE-KMS) never
    match, so those files start a new upload rather than risk it.
    """
    if listing.part_size <= 0 or listing.part_count != part_count(local.size, listing.part_size):
        return False
    for part in listing.parts:
        if not 1 <= part.part_number <= listing.part_count:
            return False
        _, length = part_bounds(part.part_number, listing.part_size, local.size)
        if part.size != length or not _MD5.fullmatch(_etag(part.etag)):
            return False

    def matches(number: int, etag: str) -> bool:
        offset, length = part_bounds(number, listing.part_size, local.size)
        return local.md5(offset, length) == _etag(etag)

    with ThreadPoolExecutor(transfer.parallel, "mediaupload-check") as pool:
        checks = pool.map(
            matches, [p.part_number for p in listing.parts], [p.etag for p in listing.parts]
        )
        return all(checks)


def _etag(value: str) -> str:
    """Return an ETag without its quotes, in lower case."""
    return value.strip().strip('"').lower()
