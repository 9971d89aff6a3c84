"""Purge with the owner: deleting an object deletes the files its upload fields held (record and
object) soon after, through a worker; a file held elsewhere, or not uploaded for that field, is
kept; without a worker, clean_unattached_uploads does it."""

import io
from typing import Any

import pytest
from django.core.management import call_command

from mediaupload.demo.models import Episode, Show
from tests.support import worker
from tests.support.s3 import Bucket
from uploads.models import MediaFile
from uploads.testing import uploaded_media_file

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

VIDEO = "demo.episode.video"


def video_for(user: Any, field: str = VIDEO) -> MediaFile:
    """An uploaded video whose object is in the bucket, uploaded for `field`."""
    return uploaded_media_file(
        owner=user, content_type="video/mp4", body=b"\x00" * 64, field=field, store=True
    )


def episode(video: MediaFile, title: str = "Pilot") -> Episode:
    """An episode holding this video."""
    show, _ = Show.objects.get_or_create(title="Show")
    return Episode.objects.create(show=show, title=title, video=video)


def test_deleting_the_object_deletes_its_file_with_a_worker(user: Any, bucket: Bucket) -> None:
    video = video_for(user)
    episode(video).delete()
    assert MediaFile.objects.filter(pk=video.pk).exists()  # the worker does it, not the request

    worker.run_batch()

    assert not MediaFile.objects.filter(pk=video.pk).exists()
    assert bucket.keys() == []


def test_a_queryset_delete_purges_too(user: Any, bucket: Bucket) -> None:
    videos = [video_for(user) for _ in range(2)]
    for number, video in enumerate(videos):
        episode(video, title=f"Part {number}")
    Episode.objects.all().delete()

    worker.run_batch()

    assert not MediaFile.objects.filter(pk__in=[video.pk for video in videos]).exists()


def test_a_file_held_elsewhere_or_uploaded_for_no_field_is_kept(user: Any, bucket: Bucket) -> None:
    shared = video_for(user)
    episode(shared, "One")
    second = episode(shared, "Two")  # the same file in two episodes
    from_the_page = video_for(user, field="")  # uploaded on the uploader page, then attached
    third = episode(from_the_page, "Three")
    second.delete()
    third.delete()

    worker.run_batch()

    assert MediaFile.objects.filter(pk__in=[shared.pk, from_the_page.pk]).count() == 2
    assert len(bucket.keys()) == 2


def test_without_a_worker_the_cleanup_command_is_the_safety_net(
    user: Any, bucket: Bucket, settings: Any
) -> None:
    settings.UPLOAD_TASKS_BACKEND = "no-such-backend"  # as with the Immediate or Dummy backend
    video = video_for(user)
    episode(video).delete()
    assert MediaFile.objects.filter(pk=video.pk).exists()

    call_command("clean_unattached_uploads", "--grace", "0", stdout=io.StringIO())

    assert not MediaFile.objects.filter(pk=video.pk).exists()
    assert bucket.keys() == []
