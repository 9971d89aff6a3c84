"""`manage.py expire_uploads`: settle uploads past their deadline (safe to run from cron)."""

from typing import Any

from uploads import sweeps
from uploads.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    """Complete overdue uploads whose files arrived; expire the rest and free their storage."""

    help = (
        "For pending uploads past their deadline plus --grace: complete those whose files arrived, "
        "mark the rest expired, aborting multipart uploads and deleting partial objects."
    )

    def run(self, options: dict[str, Any]) -> sweeps.Tally:
        """Expire."""
        return sweeps.expire(grace=options["grace_delta"], say=self.stdout.write)
