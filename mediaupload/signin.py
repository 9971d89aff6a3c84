"""Sign-in that slows down guessing: after a few failures, each attempt must wait longer.

Failures are counted per username *and* client address, and per address, never per username
alone: someone guessing a victim's password from elsewhere slows only themselves, so nobody can
lock a victim out. The counts live in the app's throttle store (`uploads.api.rate_limits`),
shared by every worker and node. An attempt counts as a failure from the moment it is let through
until its password proves right, so guesses sent in parallel cannot all slip in before the first
wait.
"""

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from uploads.api import rate_limits

# Failures allowed in a row before waits start, per (username, address) and per address.
FREE_FAILURES = 5
FREE_FAILURES_PER_ADDRESS = 20
# The wait doubles with each further failure, from 1 s up to this.
MAX_WAIT_SECONDS = 300
# A failure is forgotten after this long without another.
MEMORY_SECONDS = 3600

PER_USER_ADDRESS = rate_limits.Backoff(FREE_FAILURES, MAX_WAIT_SECONDS, MEMORY_SECONDS)
PER_ADDRESS = rate_limits.Backoff(FREE_FAILURES_PER_ADDRESS, MAX_WAIT_SECONDS, MEMORY_SECONDS)


def client_address(request: HttpRequest) -> str:
    """Return the client's address; behind TRUSTED_PROXIES proxies, the one the nearest added."""
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0))
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        # Each trusted proxy appends the address it saw; anything further left can be forged.
        return str(forwarded[-proxies])
    return str(request.META.get("REMOTE_ADDR", ""))


def _user_address_key(username: str, address: str) -> str:
    """The counter of one username's failures from one address."""
    return f"signin:user-address:{username.casefold()}:{address}"


def _address_key(address: str) -> str:
    """The counter of every failure from one address."""
    return f"signin:address:{address}"


def start_attempt(username: str, address: str) -> int:
    """Count this attempt as a failure, or return how long it must wait first (0: go on)."""
    wait = rate_limits.store().attempt(
        [
            (_user_address_key(username, address), PER_USER_ADDRESS),
            (_address_key(address), PER_ADDRESS),
        ]
    )
    return math.ceil(wait)


def record_success(username: str, address: str) -> None:
    """Forget this username and address's failures; take this attempt back from the address's."""
    store = rate_limits.store()
    store.clear(_user_address_key(username, address))
    store.refund(_address_key(address))


class ThrottledSignInMixin:
    """Refuse attempts while a wait runs; count the others as failures until they succeed."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        """Check the wait, then the password."""
        username = str(self.cleaned_data.get("username") or "")
        if not (username and self.cleaned_data.get("password")):
            return super().clean()  # type: ignore[misc,no-any-return]  # no guess: nothing to count
        address = client_address(self.request) if self.request is not None else ""
        wait = start_attempt(username, address)
        if wait:
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {wait} s, then try again.", code="throttled"
            )
        # A wrong password raises here, and the attempt stays counted as a failure.
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        record_success(username, address)
        return cleaned


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """The site's sign-in form."""


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The admin's sign-in form, throttled the same way."""
