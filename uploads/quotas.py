"""Per-user quotas, checked before anything is signed or any multipart upload is started."""

from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat

from uploads import conf
from uploads.errors import QuotaExceeded
from uploads.models import MediaFile


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
    if max_pending and pending >= max_pending:
        raise QuotaExceeded(
            f"You have {pending} uploads in progress, the most allowed; finish or cancel one first."
        )
    if max_bytes and held + size > max_bytes:
        left = max(0, max_bytes - held)
        raise QuotaExceeded(
            f"This file needs {filesizeformat(size)}, but only {filesizeformat(left)} of your "
            f"{filesizeformat(max_bytes)} is left."
        )
