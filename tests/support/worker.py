"""A real `manage.py db_worker` process on the test's database, bucket and S3 endpoint."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# What a worker needs from the test's settings, besides its database.
_PASSED = (
    "AWS_S3_ENDPOINT_URL",
    "CONTENT_UPLOAD_BUCKET",
    "UPLOAD_ANALYSIS_TIMEOUT",
    "UPLOAD_ANALYSIS_MAX_PIXELS",
    "UPLOAD_DERIVED_FORMAT",
)


def _environment(**overrides: Any) -> dict[str, str]:
    """The worker's environment: the test's database as it is now, and the passed settings."""
    database = {
        key: value
        for key, value in connection.settings_dict.items()
        if key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }
    passed = {name: getattr(settings, name) for name in _PASSED if hasattr(settings, name)}
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "TEST_WORKER_DATABASE": json.dumps(database),
        "TEST_WORKER_SETTINGS": json.dumps({**passed, **overrides}),
    }


def _command(*extra: str) -> list[str]:
    """The worker's command line."""
    return [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", *extra]


def run_batch(*, timeout: float = 120, **overrides: Any) -> subprocess.CompletedProcess[str]:
    """Run a worker until the queue is empty; return what it printed."""
    return subprocess.run(
        _command("--batch", "--interval", "0.1"),
        cwd=ROOT,
        env=_environment(**overrides),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def start(**overrides: Any) -> subprocess.Popen[str]:
    """Start a worker that keeps polling (stop it with .kill() or .terminate())."""
    return subprocess.Popen(
        _command("--interval", "0.1"),
        cwd=ROOT,
        env=_environment(**overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
