"""Sign-in that slows down guessing: after a few failures, each attempt must wait longer.

Failures are counted per username *and* client address, and per address, never per username
alone: someone guessing a victim's password from elsewhere slows only themselves, so nobody can
lock a victim out.
"""

import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest

# Failures allowed in a row before waits start, per (username, address) and per address.
FREE_FAILURES = 5
FREE_FAILURES_PER_ADDRESS = 20
# The wait doubles with each further failure, from 1 s up to this.
MAX_WAIT_SECONDS = 300
# A failure is forgotten after this long without another.
MEMORY_SECONDS = 3600


def client_address(request: HttpRequest) -> str:
    """Return the client's address; behind TRUSTED_PROXIES proxies, the one the nearest added."""
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0))
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        # Each trusted proxy appends the address it saw; anything further left can be forged.
        return str(forwarded[-proxies])
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    """The counters an attempt is judged by, with the failures each allows for free."""
    return [
        (f"signin:user-address:{username.casefold()}:{address}", FREE_FAILURES),
        (f"signin:address:{address}", FREE_FAILURES_PER_ADDRESS),
    ]


def seconds_to_wait(username: str, address: str) -> int:
    """Return how long this username and address must wait before trying again (0: now)."""
    wait = 0.0
    for key, free in _keys(username, address):
        failures, last = cache.get(key, (0, 0.0))
        if failures >= free:
            backoff = min(MAX_WAIT_SECONDS, 2 ** (failures - free))
            wait = max(wait, last + backoff - time.time())
    return math.ceil(wait) if wait > 0 else 0


def record_failure(username: str, address: str) -> None:
    """Count a failed attempt."""
    for key, _ in _keys(username, address):
        failures, _last = cache.get(key, (0, 0.0))
        cache.set(key, (failures + 1, time.time()), MEMORY_SECONDS)


def record_success(username: str, address: str) -> None:
    """Forget this username and address's failures."""
    cache.delete(_keys(username, address)[0][0])


class ThrottledSignInMixin:
    """Refuse attempts while a wait runs; count failures; clear them on success."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        """Check the wait, then the password."""
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request) if self.request is not None else ""
        wait = seconds_to_wait(username, address)
        if wait:
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {wait} s, then try again.", code="throttled"
            )
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            record_failure(username, address)
            raise
        record_success(username, address)
        return cleaned


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """The site's sign-in form."""


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The admin's sign-in form, throttled the same way."""
