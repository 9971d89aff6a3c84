"""The strict tier, quotas: on Ceph RGW, cancelling or deleting a POST upload and POSTing anyway
with its still-valid policy stores no more than the quota allows. The bytes stay held until the
policy is dead (its deadline plus the clock skew), then the sweep deletes the late object; a
multipart abort frees its bytes at once, and RGW refuses the parts of the aborted upload."""

import time
from typing import Any

import pytest
import requests
from django.utils import timezone

from tests.support.media import media_bytes
from tests.support.s3 import Bucket, post_to_s3
from uploads import sweeps
from uploads.models import QuotaHold

pytestmark = [pytest.mark.s3strict, pytest.mark.django_db]

MiB = 1024**2
QUOTA = 3 * MiB
FILE = 2 * MiB  # one file fits; two don't


@pytest.fixture
def short_policies(settings):
    """Policies that die within seconds, so a test can outlive one: 2 s plus the transfer time at
    a throughput no test reaches the limit of, then 1 s of clock skew."""
    settings.UPLOAD_USER_QUOTA_BYTES = QUOTA
    settings.UPLOAD_POLICY_EXPIRES = 2
    settings.UPLOAD_MIN_THROUGHPUT = 1024**3
    settings.UPLOAD_CLOCK_SKEW = 1


def declare(api, size: int = FILE) -> Any:
    """Declare an MP4 of `size` bytes."""
    return api.post(
        "/api/media/", {"filename": "clip.mp4", "content_type": "video/mp4", "size": size}
    )


def wait_until_holds_lapse() -> None:
    """Sleep past every hold's end (the policy's deadline plus the clock skew)."""
    last = max(hold.until for hold in QuotaHold.objects.all())
    time.sleep(max(0.0, (last - timezone.now()).total_seconds()) + 0.5)


@pytest.mark.parametrize("cancel", ["abort", "delete"])
def test_a_cancelled_post_upload_stores_no_more_than_the_quota(
    api, strict_bucket: Bucket, short_policies, cancel, django_capture_on_commit_callbacks
):
    body = media_bytes("video/mp4", FILE)
    created = declare(api).json()
    with django_capture_on_commit_callbacks(execute=True):
        if cancel == "abort":
            assert api.post(f"/api/media/{created['id']}/abort/").status_code == 200
        else:
            assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    late = post_to_s3(created["upload"], body)  # RGW still accepts the policy...
    assert late.status_code == 204
    scratch = f"incoming/{created['id']}.mp4"
    assert scratch in set(strict_bucket.keys())
    refused = declare(api)  # ...so the app still counts its bytes
    assert refused.status_code == 403 and refused.json()["code"] == "quota_exceeded"
    assert "comes free by" in refused.json()["detail"]

    wait_until_holds_lapse()
    again = post_to_s3(created["upload"], body)
    assert again.status_code == 403  # the policy is dead: RGW refuses it now
    sweeps.expire(say=lambda line: None)
    assert scratch not in set(strict_bucket.keys())  # the late object went with the hold
    assert not QuotaHold.objects.exists()
    assert declare(api).status_code == 201


def test_a_multipart_abort_frees_its_bytes_at_once_and_rgw_refuses_its_parts(
    api, strict_bucket: Bucket, short_policies, settings
):
    settings.UPLOAD_MULTIPART_THRESHOLD = 5 * MiB
    settings.UPLOAD_USER_QUOTA_BYTES = 12 * MiB
    created = declare(api, 6 * MiB).json()
    assert created["upload"]["method"] == "multipart"
    first = created["upload"]["first_parts"]["parts"][0]
    assert declare(api, 7 * MiB).status_code == 403
    assert api.post(f"/api/media/{created['id']}/abort/").status_code == 200
    assert not QuotaHold.objects.exists()
    part = requests.put(first["url"], data=b"\0" * first["size"], timeout=30)
    assert part.status_code == 404 and b"NoSuchUpload" in part.content
    assert not strict_bucket.client.list_multipart_uploads(Bucket=strict_bucket.name).get("Uploads")
    assert declare(api, 7 * MiB).status_code == 201
