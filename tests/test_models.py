"""The db tier's constraints: unique keys and positive sizes are enforced by the database itself."""

import pytest
from django.db import IntegrityError

from uploads.models import MediaFile

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def make(user, **overrides) -> MediaFile:
    """Create a record with sensible defaults."""
    values = {
        "key": "incoming/a.mp4",
        "owner": user,
        "filename": "a.mp4",
        "content_type": "video/mp4",
        "size": 1,
    }
    return MediaFile.objects.create(**{**values, **overrides})


def test_keys_are_unique(user):
    make(user)
    with pytest.raises(IntegrityError):
        make(user)


def test_size_must_be_positive(user):
    with pytest.raises(IntegrityError):
        make(user, size=0)


def test_sizes_up_to_five_tebibytes_fit(user):
    record = make(user, size=5 * 1024**4)
    assert MediaFile.objects.get(pk=record.pk).size == 5 * 1024**4


def test_new_records_are_pending_with_uuid_ids(user):
    record = make(user)
    assert record.status == MediaFile.Status.PENDING
    assert record.id.version == 4
    assert not record.is_terminal


def test_unicode_filenames_round_trip(user):
    record = make(user, filename="Été à Zürich 🎬.mkv")
    assert MediaFile.objects.get(pk=record.pk).filename == "Été à Zürich 🎬.mkv"
