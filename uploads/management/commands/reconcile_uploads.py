"""`manage.py reconcile_uploads`: make records and the bucket agree (safe to run from cron)."""

from typing import Any

from uploads import sweeps
from uploads.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    """Complete pending uploads whose files arrived, clean stray objects, report missing ones."""

    help = (
        "Complete (or fail) pending uploads whose files are in the bucket; delete scratch objects "
        "and abort multipart uploads that belong to no pending upload (older than --grace); "
        "report, "
        "never delete, media objects without a record and uploaded records without an object."
    )

    def run(self, options: dict[str, Any]) -> sweeps.Tally:
        """Reconcile."""
        return sweeps.reconcile(grace=options["grace_delta"], say=self.stdout.write)
