"""Idempotent create: a repeated `Idempotency-Key` returns the record the first request made."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from uploads.models import IdempotencyKey, MediaFile

# How long a key is remembered; repeats after that make a new record.
KEEP = timedelta(days=1)


def fingerprint(**declared: object) -> str:
    """Return a digest of what a create declared, to tell a repeat from another request."""
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Lookup:
    """What one query found of an owner's key: its recent use (a repeat replays it), and whether
    an older, forgotten use is still stored (it is deleted before the key is stored again)."""

    recent: IdempotencyKey | None
    stale: bool


def look_up(*, owner: User, key: str) -> Lookup:
    """Find the owner's use of this key, recent or forgotten, in one query (one row at most)."""
    # At most one row (unique per owner); a replay reads its record itself.
    found = IdempotencyKey.objects.filter(owner=owner, key=key).first()
    if found is None:
        return Lookup(None, stale=False)
    if found.created_at >= timezone.now() - KEEP:
        return Lookup(found, stale=False)
    return Lookup(None, stale=True)


def find(*, owner: User, key: str) -> IdempotencyKey | None:
    """Return the owner's remembered use of this key, if it is recent enough."""
    return look_up(owner=owner, key=key).recent


def remember(
    *, owner: User, key: str, digest: str, media_file: MediaFile, stale: bool = True
) -> None:
    """Store the key with the record it made (in the caller's transaction; unique per owner).

    `stale=False` says a lookup just found no forgotten use to delete first (one query fewer).
    """
    # A use older than a day is forgotten; a recent one (a concurrent repeat) makes the insert
    # fail on the unique constraint, and the caller replays it.
    if stale:
        IdempotencyKey.objects.filter(
            owner=owner, key=key, created_at__lt=timezone.now() - KEEP
        ).delete()
    IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=digest, media_file=media_file)


def forget_old() -> int:
    """Delete keys older than a day; return how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted
