"""Running the app's clock off S3's: the whole process's wall clock, or a hand-moved fake."""

import time

import pytest

from uploads.storage import clock


def forget_s3s_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what was measured (restored after the test), so the next S3 answer measures.

    Links are dated by S3's clock only by the fast signer (botocore dates them by this process's
    clock), so a test of the app against S3's clock runs with UPLOAD_SPEED_SHORTCUTS on, whatever
    the run's (`nox` runs the suite once more with it off)."""
    from django.conf import settings

    monkeypatch.setattr(clock, "_last", None)
    monkeypatch.setattr(clock, "_base", None)
    monkeypatch.setattr(settings, "UPLOAD_SPEED_SHORTCUTS", True, raising=False)


def shift_app_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Run this process's wall clock `seconds` ahead of S3's (a moto or RGW process keeps the
    true time; botocore dates its own calls with `datetime`, which stays true too)."""
    forget_s3s_clock(monkeypatch)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)
