"""Settings of a `db_worker` process a test starts: the test's own settings, pointed at the test's
database, bucket and S3 endpoint (the environment names them; see tests/support/worker.py)."""

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"] = json.loads(os.environ["TEST_WORKER_DATABASE"])
for _name, _value in json.loads(os.environ.get("TEST_WORKER_SETTINGS", "{}")).items():
    globals()[_name] = _value
