"""What the sweep commands share: the --grace option and how a run is reported."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uploads import storage, sweeps


class SweepCommand(BaseCommand):
    """A cron-safe sweep: print one line per action and a summary; exit 1 if anything failed."""

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the grace period."""
        parser.add_argument(
            "--grace",
            type=int,
            default=int(sweeps.DEFAULT_GRACE.total_seconds()),
            metavar="SECONDS",
            help="Leave alone anything younger than this past its time (default: 3600).",
        )

    def run(self, options: dict[str, Any]) -> sweeps.Tally:
        """Do the sweep's work."""
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the sweep and report what it did."""
        if options["grace"] < 0:
            raise CommandError("--grace must be zero or more seconds.")
        options["grace_delta"] = timedelta(seconds=options["grace"])
        try:
            tally = self.run(options)
        except storage.StorageError as error:
            raise CommandError(f"Storage error, nothing more was done: {error}") from error
        self.stdout.write(f"{self.__module__.rsplit('.', 1)[-1]}: {tally.summary()}")
        if tally.counts.get("errors"):
            raise CommandError(f"{tally.counts['errors']} record(s) could not be checked.")
