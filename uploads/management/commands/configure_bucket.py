"""`manage.py configure_bucket`: create the bucket if needed; set its CORS and lifecycle rules."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uploads import conf, storage


class Command(BaseCommand):
    """Create CONTENT_UPLOAD_BUCKET if missing, allow browser uploads, add our lifecycle rules."""

    help = (
        "Create the bucket if it is missing; let the origins (--origin, else UPLOAD_CORS_ORIGINS) "
        "upload from a browser; add lifecycle rules that abort abandoned multipart uploads and "
        "expire scratch objects, keeping any other rules the bucket has."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the origins allowed to upload."""
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="An origin allowed to upload, e.g. https://media.example.com (repeatable; "
            "default: UPLOAD_CORS_ORIGINS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Apply the bucket configuration and say what was set."""
        origins = options["origin"] or conf.cors_origins()
        if not origins:
            raise CommandError("Name at least one origin: --origin or UPLOAD_CORS_ORIGINS.")
        try:
            storage.configure_bucket(cors_origins=origins)
        except storage.StorageError as error:
            raise CommandError(f"Could not configure bucket {conf.bucket()!r}: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Bucket {conf.bucket()} accepts uploads from {', '.join(origins)}; "
                "lifecycle rules "
                f"{', '.join(rule['ID'] for rule in storage.our_rules())} are set."
            )
        )
