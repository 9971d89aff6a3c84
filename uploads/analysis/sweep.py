"""The analysis part of the sweeps: hand on work a worker lost, and report stray derived files."""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.utils import timezone

from uploads import conf, deletions, keys, storage, tasks
from uploads.analysis import state
from uploads.models import MediaFile

Say = Callable[[str], None]
Count = Callable[[str], None]
# Paces a listing's pages: yields them as given, doing the caller's work between them.
Walk = Callable[[Iterable[list[storage.StoredObject]]], Iterator[list[storage.StoredObject]]]


def requeue_lost(say: Say, count: Count) -> None:
    """Enqueue again the analyses no worker started in time or whose worker died (its lease
    passed); mark failed those that used up their attempts."""
    max_attempts = conf.analysis().max_attempts
    now = timezone.now()
    lost = state.lost(now).values_list("pk", "analysis_attempts")
    for pk, attempts in lost.iterator():
        if attempts >= max_attempts:
            if state.give_up(pk):
                say(f"analysis of {pk} failed: {attempts} attempts")
                count("analysis failed")
            continue
        # Due from now on: another sweep leaves it to this enqueue for a while.
        MediaFile.objects.filter(pk=pk, analysis_status=MediaFile.Analysis.PENDING).update(
            analysis_due_at=now
        )
        if tasks.enqueue_analysis(pk):
            say(f"analysis of {pk} enqueued again")
            count("analysis requeued")
        else:
            count("analysis waiting for a worker backend")


def report_derived(walk: Walk, cutoff: datetime, say: Say, count: Count) -> None:
    """Report (never delete) derived files no record names: a record deleted while its analysis
    ran, or a file a reanalysis replaced but could not delete. `walk` paces the listing's pages
    (the sweep's lease renews between them); each page is checked with two queries."""
    for page in walk(storage.list_object_pages(conf.derived_prefix())):
        owners = {owner for item in page if (owner := keys.derived_owner(item.key))}
        named = {
            key
            for found in MediaFile.objects.filter(pk__in=owners).values_list("derived", flat=True)
            for key in (found or {}).values()
        }
        named |= deletions.pending_among(item.key for item in page)
        for item in page:
            if item.key not in named and item.last_modified < cutoff:
                say(f"REPORT derived file {item.key} belongs to no record (not deleted)")
                count("reported")
