"""`manage.py check_bucket`: test the bucket as the app and its browsers will use it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uploads import conf
from uploads.storage.bucket_check import run_checks


class Command(BaseCommand):
    """Print a PASS or FAIL line per check; exit non-zero if any check fails."""

    help = (
        "Check credentials, that the bucket is reachable, CORS preflights from each origin, ETag "
        "exposed on a real cross-origin response, the lifecycle rules, and a tiny signed POST "
        "round trip (deleted afterwards)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the origins to check CORS from."""
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="An origin that must be able to upload "
            "(repeatable; default: UPLOAD_CORS_ORIGINS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the checks and report each."""
        failed = 0
        for result in run_checks(options["origin"] or conf.cors_origins()):
            mark = self.style.SUCCESS("PASS") if result.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {result.name}: {result.detail}")
            failed += not result.ok
        if failed:
            raise CommandError(f"{failed} check(s) failed.")
        self.stdout.write(self.style.SUCCESS("The bucket is ready for uploads."))
