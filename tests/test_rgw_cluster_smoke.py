"""Smoke test of tests/rgw_cluster.py: the throwaway Ceph RGW starts, enforces auth and stops."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.rgw_cluster import RgwCluster, RgwUser, start_rgw_cluster

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.s3strict


def _s3(cluster: RgwCluster, user: RgwUser | None) -> S3Client:
    """A path-style SigV4 client for user, or an unsigned (anonymous) one for None."""
    return boto3.client(
        "s3",
        endpoint_url=cluster.endpoint,
        region_name=cluster.region,
        aws_access_key_id=user.access_key if user else "unused",
        aws_secret_access_key=user.secret_key if user else "unused",
        config=Config(
            signature_version="s3v4" if user else UNSIGNED,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},  # a refusal must show at once, not after retries
            proxies={},  # loopback: never through an http_proxy from the environment
        ),
    )


def _status(error: ClientError) -> int:
    """The HTTP status of a refused request."""
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


def _alive(pid: int) -> bool:
    """True if a process with this PID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_signed_requests_work_and_others_are_refused(rgw: RgwCluster) -> None:
    """The admin user writes and reads; an anonymous client and the other user may not read."""
    smoke_cluster = rgw
    admin = _s3(smoke_cluster, smoke_cluster.admin)
    admin.create_bucket(Bucket="smoke")
    admin.put_object(Bucket="smoke", Key="hello.txt", Body=b"hello rgw")
    assert admin.get_object(Bucket="smoke", Key="hello.txt")["Body"].read() == b"hello rgw"

    with pytest.raises(ClientError) as anonymous:
        _s3(smoke_cluster, None).get_object(Bucket="smoke", Key="hello.txt")
    assert _status(anonymous.value) == 403

    other = _s3(smoke_cluster, smoke_cluster.other)
    assert "smoke" not in [b["Name"] for b in other.list_buckets()["Buckets"]]  # a distinct user
    with pytest.raises(ClientError) as foreign:
        other.get_object(Bucket="smoke", Key="hello.txt")
    assert _status(foreign.value) == 403


def test_stop_ends_every_daemon(rgw: RgwCluster, tmp_path: Path) -> None:  # rgw: skip if no Ceph
    """A cluster of its own: after stop(), called twice since it is idempotent, no PID is alive."""
    smoke_cluster = start_rgw_cluster(tmp_path / "rgw", log=lambda *args: None)
    pids = smoke_cluster.pids
    assert set(pids) == {"mon", "osd", "rgw"}
    smoke_cluster.stop()
    smoke_cluster.stop()
    assert [name for name, pid in pids.items() if _alive(pid)] == []
