"""`uploads.attach()` of a file over 5 GiB on Ceph RGW: above the multipart threshold the parts
go straight to the media key and are assembled in place, so nothing needs CopyObject (which no
S3 does over 5 GB). Run on RGW, not moto: moto assembles an upload in memory several times over
(above 20 GB for this one)."""

from pathlib import Path
from typing import Any

import pytest

import uploads
from tests.support.media import media_bytes
from tests.support.s3 import Bucket
from uploads import storage
from uploads.models import MediaFile

pytestmark = [pytest.mark.s3strict, pytest.mark.django_db]

SIZE = 5 * 1024**3 + 1


def test_a_file_over_5_gib_attaches_without_a_copy(
    user: Any,
    strict_bucket: Bucket,
    tmp_path: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.UPLOAD_MAX_BYTES = 6 * 1024**3
    copies: list[dict[str, Any]] = []

    def copy_object(**kwargs: Any) -> str:
        copies.append(kwargs)
        return ""

    monkeypatch.setattr(storage, "copy_object", copy_object)
    path = tmp_path / "master.mp4"
    with path.open("wb") as file:  # a real MP4 header, then a hole: a sparse file costs no disk
        file.write(media_bytes("video/mp4", 64 * 1024)[:32])
        file.truncate(SIZE)

    try:
        record = uploads.attach(path, owner=user)

        assert (record.status, record.size) == (MediaFile.Status.UPLOADED, SIZE)
        assert record.is_multipart and copies == []
        head = strict_bucket.client.head_object(Bucket=strict_bucket.name, Key=record.key)
        assert (head["ContentLength"], head["ContentType"]) == (SIZE, "video/mp4")
        assert strict_bucket.keys() == [record.key]
    finally:  # the gateway keeps objects in memory: give the room back to the other tests
        stored = strict_bucket.keys()
        for key in stored:
            strict_bucket.client.delete_object(Bucket=strict_bucket.name, Key=key)
