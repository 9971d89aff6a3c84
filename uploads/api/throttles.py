"""Per-user rate limits on the calls that start or sign uploads, shared by every worker and node."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from uploads import conf
from uploads.api import rate_limits


class UploadRateThrottle(BaseThrottle):
    """A per-user rate for one kind of call; the rate comes from UPLOAD_THROTTLE_<SCOPE>."""

    def __init__(self, scope: str) -> None:
        """Throttle calls of this scope ("create", "authorize", "parts")."""
        self.scope = scope
        self.seconds_to_wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        """Count the call against the user's rate (read now: settings may change at run time)."""
        rate = conf.throttle_rate(self.scope)
        if rate is None:
            return True
        limit, window = rate_limits.parse_rate(rate)
        # The app's API lets only signed-in users this far (permissions are checked first).
        key = f"uploads:{self.scope}:{request.user.pk}"
        self.seconds_to_wait = rate_limits.store().take(key, limit, window)
        return not self.seconds_to_wait

    def wait(self) -> float | None:
        """Return how long to wait before the next call is let in (Retry-After, rounded up)."""
        return self.seconds_to_wait
