"""`manage.py attach_file`: store a local file or an https URL as a user's verified upload."""

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat

from uploads.attaching import AttachError, attach


class Command(BaseCommand):
    """Attach one file (a path, `-` for standard input, an https URL) as `uploads.attach` does."""

    help = (
        "Store a file (a path, - for standard input, or an https URL) as a verified upload owned "
        "by --owner, checked as a browser upload is; prints the record's id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the source, its owner and what to declare."""
        parser.add_argument("source", help="A path, - for standard input, or an https:// URL.")
        parser.add_argument("--owner", required=True, help="The owner's username.")
        parser.add_argument("--field", help="A model field's id (app_label.model.field).")
        parser.add_argument("--filename", help="The name to keep (default: the source's).")
        parser.add_argument("--content-type", help="The type to declare (default: by name).")
        parser.add_argument(
            "--ignore-quota", action="store_true", help="Store it whatever the owner's quota."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Attach the file and print `<id> uploaded <name> (<size>)`."""
        users = get_user_model()
        try:
            owner = users._default_manager.get_by_natural_key(options["owner"])
        except users.DoesNotExist as error:
            raise CommandError(f"No user is named {options['owner']!r}.") from error
        source = sys.stdin.buffer if options["source"] == "-" else options["source"]
        try:
            record = attach(
                source,
                owner=owner,
                field=options["field"],
                filename=options["filename"],
                content_type=options["content_type"],
                ignore_quota=options["ignore_quota"],
            )
        except AttachError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{record.pk} uploaded {record.filename} ({filesizeformat(record.size)})")
