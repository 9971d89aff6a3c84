"""Multipart uploads: how a file is cut into parts, signing a record's parts on demand, and
reading back what S3 holds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from uploads import conf, protocol, storage
from uploads.errors import InvalidPartNumbers, NotMultipart

if TYPE_CHECKING:
    from uploads.models import MediaFile


@dataclass(frozen=True)
class PartPlan:
    """The parts of one multipart upload: all `part_size` bytes except possibly the last."""

    size: int
    part_size: int

    @property
    def part_count(self) -> int:
        """Return how many parts the file is cut into."""
        return math.ceil(self.size / self.part_size)

    def size_of(self, part_number: int) -> int:
        """Return the exact byte count of a 1-based part."""
        if not 1 <= part_number <= self.part_count:
            raise ValueError(f"part {part_number} is outside 1..{self.part_count}")
        if part_number < self.part_count:
            return self.part_size
        return self.size - (self.part_count - 1) * self.part_size


def plan_parts(size: int, preferred_part_size: int | None = None) -> PartPlan:
    """Plan parts of the preferred size, enlarged to stay within 10,000 parts, never under 5 MiB."""
    part_size = max(preferred_part_size or conf.part_size(), conf.PART_MIN_BYTES)
    fewest_bytes = math.ceil(size / conf.MULTIPART_MAX_PARTS)
    if part_size < fewest_bytes:
        # Round up to whole MiB so part sizes stay easy to read in logs and the admin.
        part_size = math.ceil(fewest_bytes / conf.MiB) * conf.MiB
    return PartPlan(size=size, part_size=min(part_size, conf.PART_MAX_BYTES))


def uses_multipart(size: int) -> bool:
    """Tell whether a file this big goes up in parts (above the threshold or the POST limit)."""
    return size > min(conf.multipart_threshold(), conf.SINGLE_POST_MAX_BYTES)


# How many part URLs one request may ask for: enough for a few rounds of parallel parts, few enough
# that a leaked batch is worth little and expires soon.
MAX_PARTS_PER_REQUEST = protocol.limit("max_parts_per_sign")


@dataclass(frozen=True)
class SignedPart:
    """A presigned PUT for one part; the body must be exactly `size` bytes."""

    part_number: int
    url: str
    size: int


@dataclass(frozen=True)
class SignedParts:
    """Part URLs signed together, valid until `expires_at`."""

    expires_at: datetime
    parts: list[SignedPart]


@dataclass(frozen=True)
class PartsListing:
    """What S3 holds of a multipart upload, and which planned parts it still misses."""

    part_size: int
    part_count: int
    bytes_confirmed: int
    parts: list[storage.PartInfo]
    missing: list[int]


def plan_of(media_file: MediaFile) -> PartPlan:
    """Return the part plan fixed when the record was created."""
    if not media_file.is_multipart or not media_file.part_size:
        raise NotMultipart(media_file)
    return PartPlan(size=media_file.size, part_size=media_file.part_size)


def sign_parts(*, media_file: MediaFile, part_numbers: list[int]) -> SignedParts:
    """Sign short-lived PUT URLs for these parts, each pinned to its exact length.

    The URLs never outlive the upload's deadline. Raises InvalidPartNumbers for parts outside
    the plan.
    """
    plan = plan_of(media_file)
    outside = sorted(number for number in set(part_numbers) if number > plan.part_count)
    if outside:
        raise InvalidPartNumbers(
            f"This upload has parts 1 to {plan.part_count}; {outside[0]} is not one of them."
        )
    expires_in = conf.policy_expires()
    if media_file.expires_at is not None:
        left = (media_file.expires_at - timezone.now()).total_seconds()
        expires_in = max(1, min(expires_in, int(left)))
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    sized = [(number, plan.size_of(number)) for number in part_numbers]
    urls = storage.presign_upload_parts(
        key=media_file.key, upload_id=media_file.upload_id, parts=sized, expires_in=expires_in
    )
    parts = [
        SignedPart(part_number=number, size=size, url=url)
        for (number, size), url in zip(sized, urls, strict=True)
    ]
    return SignedParts(expires_at=expires_at, parts=parts)


def check_every_part_named(media_file: MediaFile, etags: Mapping[int, str]) -> None:
    """Refuse a client's part list unless it names each planned part (InvalidPartNumbers)."""
    plan = plan_of(media_file)
    if etags.keys() != set(range(1, plan.part_count + 1)):
        raise InvalidPartNumbers(
            f"This upload has parts 1 to {plan.part_count}; name every one of them, or none.",
            field="parts",
        )


def remember_progress(media_file: MediaFile, parts: list[storage.PartInfo]) -> None:
    """Remember on the record how many parts, and bytes, S3 was found to hold."""
    media_file.record_progress(parts=len(parts), bytes_held=sum(part.size for part in parts))


def listing(media_file: MediaFile) -> PartsListing:
    """Ask S3 which parts it holds (remembering the progress) and say which are missing."""
    plan = plan_of(media_file)
    parts = storage.list_parts(key=media_file.key, upload_id=media_file.upload_id)
    remember_progress(media_file, parts)
    return PartsListing(
        part_size=plan.part_size,
        part_count=plan.part_count,
        bytes_confirmed=media_file.bytes_confirmed,
        parts=parts,
        missing=missing_part_numbers(media_file, parts),
    )


def missing_part_numbers(media_file: MediaFile, parts: list[storage.PartInfo]) -> list[int]:
    """Return the planned part numbers S3 does not hold."""
    held = {part.part_number for part in parts}
    return [n for n in range(1, plan_of(media_file).part_count + 1) if n not in held]


def part_size_problem(media_file: MediaFile, parts: list[storage.PartInfo]) -> str:
    """Describe a part outside the plan or of the wrong size, or return ''."""
    plan = plan_of(media_file)
    for part in parts:
        if part.part_number > plan.part_count:
            return f"Part {part.part_number} is beyond the {plan.part_count} planned parts."
        expected = plan.size_of(part.part_number)
        if part.size != expected:
            return f"Part {part.part_number} holds {part.size} bytes; {expected} were declared."
    return ""
