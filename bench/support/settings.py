"""Bench-only settings: the project's settings, plus the bench app; throttles raised, quotas off.

Used by the app servers the benchmarks start (`DJANGO_SETTINGS_MODULE=bench.support.settings`);
the product's settings are untouched. django-s3-file-field (and django-storages, which it needs)
are installed at bench time only, and wired in when present. `BENCH_LIMITS=product` in the
environment keeps the product's quotas and throttles instead (the load bench: many users at
once, as `make serve` would limit them).
"""

import os
from importlib.util import find_spec

from mediaupload.settings import *  # noqa: F403
from mediaupload.settings import INSTALLED_APPS

HAS_S3FF = find_spec("s3_file_field") is not None and find_spec("storages") is not None

INSTALLED_APPS = [
    *INSTALLED_APPS,
    *(["storages", "s3_file_field"] if HAS_S3FF else []),
    "bench.support",
]
ROOT_URLCONF = "bench.support.urls"

# "product": the quotas and throttles mediaupload.settings read (120 creates a minute per user,
# 20 pending uploads…), for a bench whose clients behave like users; anything else: the bench's.
BENCH_LIMITS = os.environ.get("BENCH_LIMITS", "bench")
if BENCH_LIMITS != "product":
    # Throttling stays on (its counting, in the app's table unless CACHE_URL names Redis, is part
    # of every create), at rates no benchmark reaches; per second, so each key's window stays
    # short.
    UPLOAD_THROTTLE_CREATE = "1000000/second"
    UPLOAD_THROTTLE_AUTHORIZE = "1000000/second"
    UPLOAD_THROTTLE_PARTS = "1000000/second"
    # Quotas off: thousands of pending records must not run into the per-user limits.
    UPLOAD_USER_QUOTA_BYTES = 0
    UPLOAD_USER_MAX_PENDING = 0

# The proxied view streams the request body itself; Django must not buffer it.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
