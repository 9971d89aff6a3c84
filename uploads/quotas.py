"""Per-user quotas, checked before anything is signed or any multipart upload is started.

What counts: uploaded and pending bytes, and the bytes of cancelled or deleted POST uploads whose
policy could still write (a hold, until the deadline plus the clock skew): otherwise cancelling and
POSTing anyway would store files past any quota.
"""

from django.contrib.auth.models import User
from django.db.models import Count, Max, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from uploads import conf, keys
from uploads.errors import QuotaExceeded
from uploads.models import MediaFile, QuotaHold


def enabled() -> bool:
    """Tell whether any per-user quota applies (with none, creates need no per-user lock)."""
    return bool(conf.user_quota_bytes() or conf.user_max_pending())


def check_room(*, owner: User, size: int) -> None:
    """Refuse an upload of `size` bytes that would break the owner's quotas.

    The caller holds the owner's row lock, so concurrent creates are checked one at a time.
    """
    max_bytes, max_pending = conf.user_quota_bytes(), conf.user_max_pending()
    if not max_bytes and not max_pending:
        return
    counted = MediaFile.objects.filter(
        owner=owner, status__in=[MediaFile.Status.PENDING, MediaFile.Status.UPLOADED]
    ).aggregate(held=Sum("size"), pending=Count("pk", filter=Q(status=MediaFile.Status.PENDING)))
    held, pending = counted["held"] or 0, counted["pending"]
    if max_pending and pending >= max_pending:  # holds are no uploads in progress
        raise QuotaExceeded(
            f"You have {pending} uploads in progress, the most allowed; finish or cancel one first."
        )
    if not max_bytes:
        return
    holds = QuotaHold.objects.filter(owner=owner, until__gt=timezone.now()).aggregate(
        bytes=Sum("bytes"), free_at=Max("until")
    )
    held_back = holds["bytes"] or 0
    if held + held_back + size > max_bytes:
        left = max(0, max_bytes - held - held_back)
        message = (
            f"This file needs {filesizeformat(size)}, but only {filesizeformat(left)} of your "
            f"{filesizeformat(max_bytes)} is left."
        )
        if held_back:
            message += (
                f" {filesizeformat(held_back)} of cancelled or deleted uploads comes free by "
                f"{holds['free_at']:%H:%M:%S} UTC, when their upload links have expired."
            )
        raise QuotaExceeded(message)


def hold(record: MediaFile) -> None:
    """Keep a cancelled or deleted POST upload's bytes counted while its policy can still write.

    Call it in the transaction that aborts or deletes the record. A multipart upload needs no
    hold: S3 refuses the parts of an aborted upload at once.
    """
    if record.is_multipart or record.expires_at is None:
        return
    until = record.expires_at + conf.clock_skew()
    if until <= timezone.now():
        return
    QuotaHold.objects.create(
        owner_id=record.owner_id,
        key=keys.scratch_key(record.pk, record.content_type),
        bytes=record.size,
        until=until,
    )
