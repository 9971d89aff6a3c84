"""`manage.py reanalyze_uploads`: analyse uploaded files again (after the analyzers improved)."""

import uuid
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from uploads import extras, tasks
from uploads.analysis import state
from uploads.models import MediaFile


class Command(BaseCommand):
    """Analyse the chosen uploaded records again, here or in the workers."""

    help = (
        "Analyse uploaded files again: the ids given, or --all, --failed, --missing (never "
        "analysed), narrowed by --type. Runs here, one line per record, unless --enqueue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the records to analyse and where to do it."""
        parser.add_argument("ids", nargs="*", type=uuid.UUID, metavar="ID")
        parser.add_argument("--all", action="store_true", help="Every uploaded record.")
        parser.add_argument("--failed", action="store_true", help="Those whose analysis failed.")
        parser.add_argument("--missing", action="store_true", help="Those never analysed.")
        parser.add_argument(
            "--type", metavar="PATTERN", help="Only these content types, such as 'video/*'."
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the work to the task workers instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Select, ask for analysis, and run or enqueue it."""
        analyze = self._analyzer(enqueue=options["enqueue"])
        records = self._selected(options)
        pks = list(records.values_list("pk", flat=True))
        state.request(MediaFile.objects.filter(pk__in=pks))
        counts: dict[str, int] = {}
        for pk in pks:
            outcome = analyze(pk)
            counts[outcome] = counts.get(outcome, 0) + 1
            self.stdout.write(self._line(pk, outcome))
        summary = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        self.stdout.write(f"reanalyze_uploads: {summary or 'nothing to do'}")
        if counts.get("waiting"):
            raise CommandError("No worker backend: the records wait as pending (see TASKS).")

    def _analyzer(self, *, enqueue: bool) -> Callable[[uuid.UUID], str]:
        """Return what analyses one record: a worker (enqueued) or this process."""
        if enqueue:
            return lambda pk: (
                "enqueued" if tasks.enqueue_analysis(pk, reanalysis=True) else "waiting"
            )
        try:
            extras.require("PIL", extra="analysis", feature="Analysis")
        except extras.MissingExtra as missing:
            raise CommandError(str(missing)) from None
        from uploads.analysis import run  # Pillow's and ffmpeg's callers: the `analysis` extra

        return lambda pk: run.analyze(pk, reanalysis=True)

    def _selected(self, options: dict[str, Any]) -> "QuerySet[MediaFile]":
        """The uploaded records the options choose."""
        records = MediaFile.objects.filter(status=MediaFile.Status.UPLOADED).order_by("uploaded_at")
        if options["ids"]:
            records = records.filter(pk__in=options["ids"])
        elif options["failed"]:
            records = records.filter(analysis_status=MediaFile.Analysis.FAILED)
        elif options["missing"]:
            records = records.filter(analysis_status=MediaFile.Analysis.NONE)
        elif not options["all"]:
            raise CommandError("Name records by id, or pass --all, --failed or --missing.")
        if options["type"]:
            pattern = options["type"].lower()
            types = records.values_list("content_type", flat=True).distinct()
            records = records.filter(content_type__in=[t for t in types if fnmatchcase(t, pattern)])
        return records

    def _line(self, pk: uuid.UUID, outcome: str) -> str:
        """One record's line: its id, name, outcome and what analysis found or why it failed."""
        record = MediaFile.objects.get(pk=pk)
        found = record.metadata if outcome == "done" else {}
        facts = " ".join(
            f"{name}={found[name]}"
            for name in ("kind", "width", "height", "duration")
            if found.get(name) is not None
        )
        reason = record.analysis_reason if outcome in ("failed", "retry") else ""
        return " ".join(part for part in (str(pk), record.filename, outcome, facts, reason) if part)
