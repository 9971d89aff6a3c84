"""Idempotent create: a repeated `Idempotency-Key` returns the record the first request made."""

import hashlib
import json
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from uploads.models import IdempotencyKey, MediaFile

# How long a key is remembered; repeats after that make a new record.
KEEP = timedelta(days=1)


def fingerprint(**declared: object) -> str:
    """Return a digest of what a create declared, to tell a repeat from another request."""
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def find(*, owner: User, key: str) -> IdempotencyKey | None:
    """Return the owner's remembered use of this key, if it is recent enough."""
    return (
        IdempotencyKey.objects.filter(owner=owner, key=key, created_at__gte=timezone.now() - KEEP)
        .select_related("media_file")
        .first()
    )


def remember(*, owner: User, key: str, digest: str, media_file: MediaFile) -> None:
    """Store the key with the record it made (in the caller's transaction; unique per owner)."""
    # A use older than a day is forgotten; a recent one (a concurrent repeat) makes the insert
    # fail on the unique constraint, and the caller replays it.
    IdempotencyKey.objects.filter(
        owner=owner, key=key, created_at__lt=timezone.now() - KEEP
    ).delete()
    IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=digest, media_file=media_file)


def forget_old() -> int:
    """Delete keys older than a day; return how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted
