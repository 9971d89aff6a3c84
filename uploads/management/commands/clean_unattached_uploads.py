"""`manage.py clean_unattached_uploads`: remove field uploads no object kept (safe from cron)."""

from typing import Any

from django.core.management.base import CommandParser

from uploads import conf, sweeps
from uploads.integration import attachments
from uploads.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    """Delete uploads made through a model field's widget and never saved, replaced or cleared."""

    help = (
        "Delete (record and object) uploads made for a MediaFileField that no object holds: never "
        "saved, replaced or cleared, and untouched for longer than --grace (default: "
        "UPLOAD_FIELD_VALUE_MAX_AGE, after which such an upload can no longer be attached)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Default the grace period to the field values' maximum age."""
        super().add_arguments(parser)
        parser.set_defaults(grace=conf.field_value_max_age())

    def run(self, options: dict[str, Any]) -> sweeps.Tally:
        """Find and remove the unattached uploads."""
        tally = sweeps.Tally()
        records = attachments.unattached(grace=options["grace_delta"])
        removed = attachments.remove(records, say=self.stdout.write)
        if removed:
            tally.counts["removed"] = removed
        return tally
