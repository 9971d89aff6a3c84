"""Running the app's clock off S3's: the whole process's wall clock, or a hand-moved fake."""

import time

import pytest

from uploads.storage import clock


def forget_s3s_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what was measured (restored after the test), so the next S3 answer measures."""
    monkeypatch.setattr(clock, "_last", None)
    monkeypatch.setattr(clock, "_base", None)


def shift_app_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Run this process's wall clock `seconds` ahead of S3's (a moto or RGW process keeps the
    true time; botocore dates its own calls with `datetime`, which stays true too)."""
    forget_s3s_clock(monkeypatch)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)
