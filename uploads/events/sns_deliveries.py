"""SNS MessageIds: each delivery is acted on once; a replay or a duplicate is acknowledged only.

A MessageId is inserted (unique) when a delivery starts acting on it, as a lease, and marked once
that delivery is answered 2xx; a failure deletes it, so SNS's retry acts. No transaction spans the
acting: like a claim (claims.py), it would hold a lock (on SQLite the whole database) across S3
calls, and a rollback could not undo what S3 already did.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from uploads.claims import LEASE
from uploads.events import sns
from uploads.models import SnsDelivery

# Once its Timestamp is this old (as our clock saw it when the delivery started), a message is
# refused anyway, so its MessageId need not be kept any longer.
KEEP = sns.MAX_AGE + sns.MAX_AHEAD


def act_once(message_id: str, act: Callable[[], int]) -> int:
    """Run `act` unless this MessageId was or is being acted on; return its result, else 0."""
    started = _start(message_id)
    if started is None:
        return 0
    mine = SnsDelivery.objects.filter(message_id=message_id, started_at=started)
    try:
        result = act()
    except BaseException:
        mine.delete()  # answered non-2xx: nothing stays stored, so SNS's retry acts on it
        raise
    mine.update(acted_at=timezone.now())
    return result


def _start(message_id: str) -> datetime | None:
    """Take a MessageId for this delivery; return the lease's start, or None if it is taken."""
    now = timezone.now()
    try:
        # A savepoint: a lost insert must leave any outer transaction usable.
        with transaction.atomic():
            SnsDelivery.objects.create(message_id=message_id, started_at=now)
        return now
    except IntegrityError:
        pass
    # Acted on, or being acted on: a replay, or a concurrent duplicate that lost the insert. A
    # delivery still unacted after the lease died with its worker: this one takes over.
    taken = SnsDelivery.objects.filter(
        message_id=message_id, acted_at=None, started_at__lte=now - LEASE
    ).update(started_at=now)
    return now if taken else None


def forget_old() -> int:
    """Delete MessageIds whose messages are too old to be accepted again; return how many."""
    deleted, _ = SnsDelivery.objects.filter(started_at__lt=timezone.now() - KEEP).delete()
    return deleted
