"""Entry point of `python -m uploads.cli`."""

from uploads.cli.command import main

raise SystemExit(main())
