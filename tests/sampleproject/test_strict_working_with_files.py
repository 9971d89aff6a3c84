"""The strict tier in a team's project: on Ceph RGW, a handout's links are served as they ask
(a PDF inline only where its field says, text as UTF-8), as the local S3 serves them.

Run with DJANGO_SETTINGS_MODULE=tests.sampleproject.settings (`make test` does)."""

import pytest
from django.contrib.auth.models import User

from tests.sampleproject.test_working_with_files import served_as_asked
from tests.support.s3 import Bucket

pytestmark = [pytest.mark.s3strict, pytest.mark.django_db]


def test_a_handout_is_served_as_its_links_ask_by_rgw(user: User, strict_bucket: Bucket) -> None:
    served_as_asked(user, strict_bucket)
