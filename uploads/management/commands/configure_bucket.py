"""`manage.py configure_bucket`: create the upload bucket if needed and set its CORS rules."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uploads import conf, storage


class Command(BaseCommand):
    """Create CONTENT_UPLOAD_BUCKET if it is missing and allow browser uploads from origins."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the origins allowed to upload."""
        parser.add_argument(
            "--origin",
            action="append",
            required=True,
            help="An origin allowed to upload, e.g. https://media.example.com (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Apply the bucket configuration."""
        try:
            storage.configure_bucket(cors_origins=options["origin"])
        except storage.StorageError as error:
            raise CommandError(f"Could not configure bucket {conf.bucket()!r}: {error}") from error
        origins = ", ".join(options["origin"])
        self.stdout.write(
            self.style.SUCCESS(f"Bucket {conf.bucket()} accepts uploads from {origins}.")
        )
