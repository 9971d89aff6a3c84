"""Per-user rate limits on the calls that start or sign uploads, kept in Django's cache."""

from typing import Any

from rest_framework.throttling import UserRateThrottle

from uploads import conf


class UploadRateThrottle(UserRateThrottle):
    """A per-user rate for one kind of call; the rate comes from UPLOAD_THROTTLE_<SCOPE>."""

    def __init__(self, scope: str) -> None:
        """Throttle calls of this scope ("create", "authorize", "parts")."""
        self.upload_scope = scope
        self.scope = f"uploads-{scope}"  # names the cache keys
        super().__init__()

    def get_rate(self) -> str | None:
        """Read the rate now, so settings may change at run time (and in tests)."""
        return conf.throttle_rate(self.upload_scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        """Allow every call when the scope's rate is off."""
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
