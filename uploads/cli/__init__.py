"""A command-line uploader: files to the app's S3 bucket over its HTTP API (no Django imported).

Run `mediaupload upload FILE... --server URL --token TOKEN` (or `python -m uploads.cli …`); it
needs the `cli` extra. See `command.py`.
"""

import sys
from collections.abc import Sequence

from uploads.extras import MissingExtra, require


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line, or say in one line which extra it needs."""
    try:
        require("requests", "tqdm", extra="cli", feature="The command-line uploader")
    except MissingExtra as missing:
        sys.stderr.write(f"mediaupload: {missing}\n")
        return 2
    from uploads.cli.command import main as run

    return run(argv)
