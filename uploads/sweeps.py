"""Sweeps run from cron: reconcile records with the bucket, and expire uploads past their deadline.

Safe on several machines at once: records are claimed a batch at a time (skipping rows another
sweep holds), their S3 work runs unlocked, and each is settled by an UPDATE that applies only while
its claim holds. The bucket is walked by one run at a time (a lease per sweep, see leases.py).
Running a sweep twice does nothing the first run did not.

Memory stays flat in the number of records and objects: records are read a batch at a time, and
the bucket a listing page at a time, each page checked against its records with one query.
"""

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from uploads import (
    claims,
    completion,
    conf,
    deletions,
    idempotency,
    keys,
    leases,
    services,
    storage,
)
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


def _batches(records: "QuerySet[MediaFile]") -> Iterator[list[uuid.UUID]]:
    """Yield the ids of these records a batch at a time, in id order, never all of them at once.

    Each batch is read after the one before was dealt with (keyset pagination), so records settled
    meanwhile drop out of the query and the ones left pending are not visited twice.
    """
    after: uuid.UUID | None = None
    while True:
        page = records if after is None else records.filter(pk__gt=after)
        pks = list(page.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not pks:
            return
        yield pks
        after = pks[-1]


def _inspected(
    records: "QuerySet[MediaFile]", say: Say, tally: Tally
) -> Iterator[tuple[claims.Claim, completion.Outcome | None]]:
    """Claim these records a batch at a time and check each one's object.

    Yields each claim with its outcome, None (claim still held) when the file has not arrived. A
    record S3 could not be asked about is released, reported, and left for the next run.
    """
    for pks in _batches(records):
        for held in claims.claim_batch(pks):
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
    # From the start: what another run settles while this one works is that run's to tidy.
    cutoff = timezone.now() - grace
    # Taken first, so that of two runs started together only one walks the bucket (the other
    # shares the records' work, then stops); a run started after it ends walks it again.
    with leases.held("reconcile") as lease:
        _complete_arrived(say, tally)
        if lease is None:
            _left_to_another("reconcile", say, tally)
            return tally
        try:
            _promote_legacy(say, tally)
            _carry_out_deletions(say, tally)
            _delete_stray_scratch(lease, cutoff, say, tally)
            _abort_orphan_multipart(lease, cutoff, say, tally)
            _report_media(lease, cutoff, say, tally)
            analysis_sweep.report_derived(lease.pages, cutoff, say, tally.add)
        except leases.LeaseLost as lost:
            say(f"ERROR {lost}: stopped walking the bucket")
            tally.add("errors")
    return tally


def _left_to_another(name: str, say: Say, tally: Tally) -> None:
    """Say that another run of this sweep is walking the bucket, and leave that part to it."""
    until = leases.holder_until(name)
    when = f" (its lease runs to {until:%H:%M:%S} UTC)" if until else ""
    say(f"another {name} run is walking the bucket{when}: that part is left to it")
    tally.add("left to another run")


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
    pending = MediaFile.objects.filter(status=MediaFile.Status.PENDING)
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


def _delete_stray_scratch(lease: leases.Lease, cutoff: datetime, say: Say, tally: Tally) -> None:
    """Delete scratch objects older than the grace period that no pending upload wants."""
    for page in lease.pages(storage.list_object_pages(conf.key_prefix())):
        old = [item for item in page if item.last_modified < cutoff]
        records = _records_by_id(item.key for item in old)
        stray = [item.key for item in old if _is_stray(item.key, records, cutoff)]
        refused = storage.delete_objects(stray)  # one call per page
        for key in stray:
            if key in refused:
                say(f"ERROR {key}: not deleted: {refused[key]}")
                tally.add("errors")
            else:
                say(f"deleted stray scratch object {key}")
                tally.add("deleted")


def _is_stray(key: str, records: dict[uuid.UUID, MediaFile], cutoff: datetime) -> bool:
    """Tell whether a scratch object is stray, and its record (if any) settled before the cutoff:
    a promotion deletes its own scratch copy right after settling, and is left to do so."""
    record = _record_for(records, key)
    return events.is_stray(key, record) and (record is None or record.updated_at < cutoff)


def _abort_orphan_multipart(lease: leases.Lease, cutoff: datetime, say: Say, tally: Tally) -> None:
    """Abort multipart uploads older than the grace period that belong to no pending record."""
    for prefix in (conf.media_prefix(), conf.key_prefix()):
        for page in lease.pages(storage.list_multipart_upload_pages(prefix)):
            old = [item for item in page if item.initiated < cutoff]
            records = _records_by_id(item.key for item in old)
            for item in old:
                record = _record_for(records, item.key)
                live = (
                    record is not None
                    and record.status == MediaFile.Status.PENDING
                    and record.upload_id == item.upload_id
                )
                if not live:
                    storage.abort_multipart_upload(key=item.key, upload_id=item.upload_id)
                    say(f"aborted orphan multipart upload of {item.key}")
                    tally.add("aborted")


def _report_media(lease: leases.Lease, cutoff: datetime, say: Say, tally: Tally) -> None:
    """Report (never delete) media objects no record serves and uploaded records without objects.

    One walk of the media listing does both: a listing comes in key order, which under the prefix
    is record id order, so the uploaded records whose ids fall between one page's and the next's
    can only have their objects on that page (`_Walk`).
    """
    walk = _Walk(cutoff)
    for page in lease.pages(storage.list_object_pages(conf.media_prefix())):
        records = _records_by_id(item.key for item in page)
        being_deleted = deletions.pending_among(item.key for item in page)
        for item in page:
            record = _record_for(records, item.key)
            serves = record is not None and record.key == item.key
            in_flight = record is not None and record.status == MediaFile.Status.PENDING
            orphan = not serves and not in_flight and item.key not in being_deleted
            if orphan and item.last_modified < cutoff:
                say(f"REPORT media object {item.key} belongs to no record (not deleted)")
                tally.add("reported")
        _report_missing(walk.without_objects(page), say, tally)
    _report_missing(walk.without_objects(None), say, tally)


def _report_missing(records: Iterator[tuple[uuid.UUID, str]], say: Say, tally: Tally) -> None:
    """Report uploaded records (id, key) whose object the listing lacks."""
    for pk, key in records:
        say(f"REPORT uploaded record {pk} has no object at {key}")
        tally.add("reported")


@dataclass
class _Walk:
    """Finds uploaded records whose media key the listing lacks, a listing page at a time.

    Records are read by id range: the page's ids bound the range, except the last id, whose
    objects may go on into the next page (its keys are carried over). Only ids and keys are kept.
    """

    cutoff: datetime  # records uploaded since are not judged: the listing may predate them
    since: uuid.UUID | None = None  # the range's start, inclusive (None: from the first id)
    carried: set[str] = field(default_factory=set)  # keys listed under `since` so far

    def without_objects(
        self, page: list[storage.StoredObject] | None
    ) -> Iterator[tuple[uuid.UUID, str]]:
        """Yield (id, key) of each uploaded record in this page's range whose key isn't listed;
        None for the end of the listing (the range then runs to the last record)."""
        records = MediaFile.objects.filter(
            Q(uploaded_at__isnull=True) | Q(uploaded_at__lt=self.cutoff),
            status=MediaFile.Status.UPLOADED,
            key__startswith=conf.media_prefix(),
        )
        if self.since is not None:
            records = records.filter(pk__gte=self.since)
        listed = set(self.carried)
        if page is not None:
            ids = [keys.media_id_of(item.key) for item in page]
            known = [media_id for media_id in ids if media_id is not None]
            if not known:
                return  # nothing of ours on this page: its keys can't be a record's
            until = known[-1]  # listing order: the page's largest id
            records = records.filter(pk__lt=until)
            listed |= {item.key for item in page}
            pairs = zip(page, ids, strict=True)
            last_keys = {item.key for item, media_id in pairs if media_id == until}
            # The last id's objects may go on into the next page: its records wait for it.
            self.carried = (self.carried if until == self.since else set()) | last_keys
            self.since = until
        for pk, key in records.values_list("pk", "key").iterator(chunk_size=2000):
            if key not in listed:
                yield pk, key


def _record_for(records: dict[uuid.UUID, MediaFile], key: str) -> MediaFile | None:
    """Return the record this key was built for, among these (None for a key of no record)."""
    media_id = keys.media_id_of(key)
    return records.get(media_id) if media_id else None


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


def _records_by_id(object_keys: Iterable[str]) -> dict[uuid.UUID, MediaFile]:
    """Return the records the keys were built for, by id (keys of no record are left out)."""
    ids = {media_id for key in object_keys if (media_id := keys.media_id_of(key))}
    if not ids:
        return {}
    return {record.pk: record for record in MediaFile.objects.filter(pk__in=ids)}


def expire(*, grace: timedelta = DEFAULT_GRACE, say: Say = logger.info) -> Tally:
    """Settle pending records past their deadline plus `grace`: complete them if the file arrived,
    else mark them expired, aborting their multipart upload and deleting partial objects."""
    tally = Tally()
    # A POST policy still writes until S3's clock passes the deadline: wait out the skew first.
    overdue_before = timezone.now() - grace - conf.clock_skew()
    overdue = MediaFile.objects.filter(
        status=MediaFile.Status.PENDING, expires_at__lt=overdue_before
    )
    with leases.held("expire") as lease:  # first, as in reconcile
        _expire_overdue(overdue, say, tally)
        if lease is None:
            _left_to_another("expire", say, tally)
            return tally
        _release_holds(say, tally)
        forgotten = idempotency.forget_old()
        if forgotten:
            say(f"forgot {forgotten} idempotency keys older than a day")
            tally.counts["forgotten keys"] = forgotten
        sns_deliveries.forget_old()  # MessageIds whose messages are refused as stale anyway
        analysis_sweep.requeue_lost(say, tally.add)
    return tally


def _expire_overdue(overdue: "QuerySet[MediaFile]", say: Say, tally: Tally) -> None:
    """Complete the overdue records whose files arrived; expire the rest."""
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
