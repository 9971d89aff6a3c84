"""The demo's seed data: real files attached with `uploads.attach`, once, and again when the local
S3 forgot them."""

import shutil
from typing import Any

import pytest
from django.core.management import call_command

from mediaupload.demo.models import Episode, Show
from tests.support.s3 import Bucket
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


def test_the_seed_attaches_a_poster_a_video_and_a_script_once(user: Any, bucket: Bucket) -> None:
    assert shutil.which("ffmpeg"), "make system-deps installs ffmpeg"
    call_command("seed_demo", owner=user.username)

    show = Show.objects.get(title="Sample show")
    episode = Episode.objects.get(show=show)
    files = [show.poster, episode.video, episode.script]
    assert all(file.status == MediaFile.Status.UPLOADED for file in files)
    assert [file.content_type for file in files] == ["image/png", "video/mp4", "text/plain"]
    assert sorted(bucket.keys()) == sorted(file.key for file in files)

    call_command("seed_demo", owner=user.username)  # all there: nothing to do
    assert MediaFile.objects.count() == 3

    stored = bucket.keys()
    for key in stored:  # the local S3 restarted, empty
        bucket.client.delete_object(Bucket=bucket.name, Key=key)
    call_command("seed_demo", owner=user.username)

    assert Show.objects.count() == Episode.objects.count() == 1
    assert len(bucket.keys()) == 3
