"""What the transfers of one file share: the API, the S3 session, limits and a stop flag."""

import threading
from dataclasses import dataclass

import requests

from uploads.cli.api import ApiClient
from uploads.cli.retry import RetryPolicy
from uploads.cli.throttle import RateLimiter


@dataclass(frozen=True)
class Transfer:
    """Shared by every request made for one file; `stop` ends its transfers at their next block."""

    api: ApiClient
    storage: requests.Session
    policy: RetryPolicy
    parallel: int
    stop: threading.Event
    limiter: RateLimiter | None = None
