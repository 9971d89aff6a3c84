"""Sweeps run from cron: reconcile records with the bucket, and expire uploads past their deadline.

Safe on several machines at once: records are claimed a batch at a time (skipping rows another
sweep holds), their S3 work runs unlocked, and each is settled by an UPDATE that applies only while
its claim holds. Running a sweep twice does nothing the first run did not.
"""

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from uploads import claims, completion, conf, deletions, idempotency, keys, services, storage
from uploads.analysis import sweep as analysis_sweep
from uploads.errors import UploadNotReceived
from uploads.events import notifications as events
from uploads.events import sns_deliveries
from uploads.models import MediaFile, QuotaHold

logger = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=1)
BATCH_SIZE = 100

Say = Callable[[str], None]


@dataclass
class Tally:
    """What one sweep did, counted by kind (e.g. "completed": 2)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        """Count one more thing of this kind."""
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def summary(self) -> str:
        """Return the counts as one line, or 'nothing to do'."""
        return ", ".join(f"{kind} {n}" for kind, n in self.counts.items()) or "nothing to do"


def _claimed_batches(pks: list[uuid.UUID]) -> Iterator[claims.Claim]:
    """Claim these records a batch at a time, skipping the ones another worker holds."""
    for start in range(0, len(pks), BATCH_SIZE):
        yield from claims.claim_batch(pks[start : start + BATCH_SIZE])


def _inspected(
    pks: list[uuid.UUID], say: Say, tally: Tally
) -> Iterator[tuple[claims.Claim, completion.Outcome | None]]:
    """Claim these records a batch at a time and check each one's object.

    Yields each claim with its outcome, None (claim still held) when the file has not arrived. A
    record S3 could not be asked about is released, reported, and left for the next run.
    """
    for held in _claimed_batches(pks):
        try:
            outcome = completion.inspect(held.record)
        except UploadNotReceived:
            outcome = None
        except storage.StorageError as error:
            claims.release(held)
            say(f"ERROR {held.record.pk}: {error}")
            tally.add("errors")
            continue
        except BaseException:
            claims.release(held)
            raise
        yield held, outcome


def _report_settled(record: MediaFile, say: Say, tally: Tally) -> None:
    """Say how a record was settled."""
    if record.status == MediaFile.Status.UPLOADED:
        say(f"completed {record.pk} ({record.filename}): its file had arrived")
        tally.add("completed")
    else:
        say(f"failed {record.pk} ({record.filename}): {record.failure_reason}")
        tally.add("failed")


def reconcile(*, grace: timedelta = DEFAULT_GRACE, say: Say = logger.info) -> Tally:
    """Settle pending records whose files arrived, clean stray uploads, report what is missing."""
    tally = Tally()
    _complete_arrived(say, tally)
    _promote_legacy(say, tally)
    _carry_out_deletions(say, tally)
    cutoff = timezone.now() - grace
    scratch = list(storage.list_objects(conf.key_prefix()))
    _delete_stray_scratch(scratch, cutoff, say, tally)
    _abort_orphan_multipart(cutoff, say, tally)
    _report_media(scratch, cutoff, say, tally)
    analysis_sweep.report_derived(cutoff, say, tally.add)
    return tally


def _carry_out_deletions(say: Say, tally: Tally) -> None:
    """Delete the objects of deleted records that their request could not (S3 failed then)."""
    done, left = deletions.retry_stale()
    if done:
        say(f"deleted {done} objects of deleted records")
        tally.counts["deleted"] = tally.counts.get("deleted", 0) + done
    if left:
        say(f"ERROR {left} objects of deleted records could not be deleted; next run retries")
        tally.counts["errors"] = tally.counts.get("errors", 0) + left


def _complete_arrived(say: Say, tally: Tally) -> None:
    """Complete (or fail) every pending record whose whole file is in the bucket."""
    pending = list(
        MediaFile.objects.filter(status=MediaFile.Status.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for held, outcome in _inspected(pending, say, tally):
        if outcome is None:
            claims.release(held)
        else:
            _report_settled(completion.settle(held, outcome, via="reconcile"), say, tally)


def _promote_legacy(say: Say, tally: Tally) -> None:
    """Move records verified before the two key spaces existed out of the scratch prefix.

    Their objects would otherwise be exposed to late POSTs and to the scratch lifecycle rule. The
    copy is conditional on the ETag verified back then; an object that no longer has it is reported.
    """
    legacy = MediaFile.objects.filter(
        status=MediaFile.Status.UPLOADED, key__startswith=conf.key_prefix()
    )
    for record in legacy.iterator():
        target = keys.media_key(record.pk, record.content_type)
        try:
            etag = storage.copy_object(
                source_key=record.key, target_key=target, if_match=record.etag
            )
        except (storage.ObjectChanged, storage.ObjectNotFound):
            say(f"REPORT uploaded record {record.pk}: {record.key} is not the verified object")
            tally.add("reported")
            continue
        moved = MediaFile.objects.filter(pk=record.pk, key=record.key).update(
            key=target, etag=etag or record.etag
        )
        if moved:
            storage.delete_object(record.key)
            say(f"moved {record.pk} from {record.key} to {target}")
            tally.add("moved")


def _delete_stray_scratch(
    objects: list[storage.StoredObject], cutoff: datetime, say: Say, tally: Tally
) -> None:
    """Delete scratch objects older than the grace period that no pending upload wants."""
    old = [item for item in objects if item.last_modified < cutoff]
    records = _records_by_id(item.key for item in old)
    for item in old:
        media_id = keys.media_id_of(item.key)
        if events.is_stray(item.key, records.get(media_id) if media_id else None):
            storage.delete_object(item.key)
            say(f"deleted stray scratch object {item.key}")
            tally.add("deleted")


def _abort_orphan_multipart(cutoff: datetime, say: Say, tally: Tally) -> None:
    """Abort multipart uploads older than the grace period that belong to no pending record."""
    for prefix in (conf.media_prefix(), conf.key_prefix()):
        uploads = [
            item for item in storage.list_multipart_uploads(prefix) if item.initiated < cutoff
        ]
        records = _records_by_id(item.key for item in uploads)
        for item in uploads:
            media_id = keys.media_id_of(item.key)
            record = records.get(media_id) if media_id else None
            live = (
                record is not None
                and record.status == MediaFile.Status.PENDING
                and record.upload_id == item.upload_id
            )
            if not live:
                storage.abort_multipart_upload(key=item.key, upload_id=item.upload_id)
                say(f"aborted orphan multipart upload of {item.key}")
                tally.add("aborted")


def _report_media(
    scratch: list[storage.StoredObject], cutoff: datetime, say: Say, tally: Tally
) -> None:
    """Report (never delete) media objects no record serves and uploaded records without objects."""
    media = list(storage.list_objects(conf.media_prefix()))
    records = _records_by_id(item.key for item in media)
    being_deleted = deletions.pending_keys()
    for item in media:
        media_id = keys.media_id_of(item.key)
        record = records.get(media_id) if media_id else None
        serves = record is not None and record.key == item.key
        in_flight = record is not None and record.status == MediaFile.Status.PENDING
        orphan = not serves and not in_flight and item.key not in being_deleted
        if orphan and item.last_modified < cutoff:
            say(f"REPORT media object {item.key} belongs to no record (not deleted)")
            tally.add("reported")
    stored = {item.key for item in media} | {item.key for item in scratch}
    uploaded = MediaFile.objects.filter(status=MediaFile.Status.UPLOADED).values_list("pk", "key")
    for pk, key in uploaded.iterator():
        if key not in stored:
            say(f"REPORT uploaded record {pk} has no object at {key}")
            tally.add("reported")


def _release_holds(say: Say, tally: Tally) -> None:
    """Once a cancelled or deleted upload's policy can write no more, delete what it wrote late
    and stop counting its bytes (a hold counts only until then, swept or not)."""
    for hold in QuotaHold.objects.filter(until__lte=timezone.now()).iterator():
        try:
            storage.delete_object(hold.key)
        except storage.StorageError as error:
            say(f"ERROR {hold.key}: {error}")
            tally.add("errors")
            continue
        hold.delete()
        say(f"released the hold on {hold.key} (its upload link has expired; any late copy deleted)")
        tally.add("released")


def _records_by_id(object_keys: Iterator[str] | list[str]) -> dict[uuid.UUID, MediaFile]:
    """Return the records the keys were built for, by id (keys of no record are left out)."""
    ids = {media_id for key in object_keys if (media_id := keys.media_id_of(key))}
    return {record.pk: record for record in MediaFile.objects.filter(pk__in=ids)}


def expire(*, grace: timedelta = DEFAULT_GRACE, say: Say = logger.info) -> Tally:
    """Settle pending records past their deadline plus `grace`: complete them if the file arrived,
    else mark them expired, aborting their multipart upload and deleting partial objects."""
    tally = Tally()
    # A POST policy still writes until S3's clock passes the deadline: wait out the skew first.
    overdue_before = timezone.now() - grace - conf.clock_skew()
    overdue = list(
        MediaFile.objects.filter(status=MediaFile.Status.PENDING, expires_at__lt=overdue_before)
        .order_by("expires_at")
        .values_list("pk", flat=True)
    )
    for held, outcome in _inspected(overdue, say, tally):
        if outcome is not None:
            _report_settled(completion.settle(held, outcome, via="expire"), say, tally)
            continue
        try:
            record = services.close_claimed(held, mark=MediaFile.mark_expired, via="expire")
        except storage.StorageError as error:
            say(f"ERROR {held.record.pk}: {error}")
            tally.add("errors")
            continue
        if record is not None:
            say(f"expired {record.pk} ({record.filename}): deadline {held.record.expires_at}")
            tally.add("expired")
    _release_holds(say, tally)
    forgotten = idempotency.forget_old()
    if forgotten:
        say(f"forgot {forgotten} idempotency keys older than a day")
        tally.counts["forgotten keys"] = forgotten
    sns_deliveries.forget_old()  # MessageIds whose messages are refused as stale anyway
    analysis_sweep.requeue_lost(say, tally.add)
    return tally
