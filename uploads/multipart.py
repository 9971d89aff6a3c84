"""Multipart uploads of one record: signing its parts on demand and reading back what S3 holds."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from uploads import conf, storage
from uploads.errors import InvalidPartNumbers, NotMultipart
from uploads.models import MediaFile
from uploads.parts import PartPlan

# How many part URLs one request may ask for: enough for a few rounds of parallel parts, few enough
# that a leaked batch is worth little and expires soon.
MAX_PARTS_PER_REQUEST = 100


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
