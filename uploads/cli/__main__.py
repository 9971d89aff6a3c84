"""Entry point of `python -m uploads.cli`."""

from uploads.cli import main

raise SystemExit(main())
