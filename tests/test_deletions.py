"""Deleting an upload keeps data: refused (409 `in_use`) while a model's field holds it, whatever
its on_delete; otherwise the row goes and its objects right after, through pending deletions that
survive an S3 outage. The page and the admin ask first and say what happened."""

from datetime import timedelta

import pytest
from django.core.checks import Error, Warning
from django.db import models
from django.utils import timezone

from mediaupload.demo.models import Episode, Show
from tests.support.media import media_bytes
from tests.support.uploads import sent_record
from uploads import deletions, services, sweeps
from uploads.checks import check_upload_settings
from uploads.models import MediaFile, PendingDeletion

pytestmark = [pytest.mark.functional, pytest.mark.django_db]


@pytest.fixture
def uploaded(user, bucket) -> MediaFile:
    """alice's verified video, in the bucket under its media key."""
    return services.complete_upload(media_file=sent_record(user), via="api")


@pytest.fixture
def poster(user, bucket) -> MediaFile:
    """alice's verified image, held by a show's nullable (formerly SET_NULL) field."""
    record = sent_record(user, media_bytes("image/png", 1024), content_type="image/png")
    record = services.complete_upload(media_file=record, via="api")
    Show.objects.create(title="Nightly", poster=record)
    return record


@pytest.mark.parametrize("on_delete", [models.PROTECT, models.SET_NULL])
def test_the_api_refuses_to_delete_a_file_a_model_holds(
    api, poster, bucket, monkeypatch, on_delete
):
    monkeypatch.setattr(Show._meta.get_field("poster").remote_field, "on_delete", on_delete)
    refused = api.delete(f"/api/media/{poster.pk}/")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This file is attached to something, so it can't be deleted; detach it first.",
        "code": "in_use",
        "status": "uploaded",
    }
    assert MediaFile.objects.filter(pk=poster.pk).exists()
    assert Show.objects.get().poster_id == poster.pk  # not emptied
    assert bucket.keys() == [poster.key]
    assert not PendingDeletion.objects.exists()


def test_a_protected_field_is_in_use_too(api, user, uploaded, bucket):
    show = Show.objects.create(title="Nightly")
    Episode.objects.create(show=show, title="One", video=uploaded)
    assert api.delete(f"/api/media/{uploaded.pk}/").status_code == 409
    assert MediaFile.objects.filter(pk=uploaded.pk).exists() and bucket.keys() == [uploaded.key]


def test_deleting_removes_the_row_then_its_objects(
    api, uploaded, bucket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{uploaded.pk}/").status_code == 204
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []
    assert not PendingDeletion.objects.exists()


def test_an_s3_outage_leaves_pending_deletions_that_reconcile_carries_out(
    api, uploaded, bucket, settings, django_capture_on_commit_callbacks
):
    media_endpoint = settings.AWS_S3_ENDPOINT_URL
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # S3 unreachable after the commit
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{uploaded.pk}/").status_code == 204
    assert not MediaFile.objects.exists()  # no record pointing at nothing...
    left = set(PendingDeletion.objects.values_list("key", flat=True))
    assert uploaded.key in left  # ...and nothing that nothing will delete
    assert bucket.keys() == [uploaded.key]
    settings.AWS_S3_ENDPOINT_URL = media_endpoint
    assert deletions.retry_stale() == (0, 0)  # too young: a request may still be at it
    PendingDeletion.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    assert deletions.retry_stale() == (len(left), 0)
    assert bucket.keys() == [] and not PendingDeletion.objects.exists()


def test_deleting_a_pending_multipart_upload_aborts_it(
    api, bucket, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_MULTIPART_THRESHOLD = 1024**2
    declared = {"filename": "big.mp4", "content_type": "video/mp4", "size": 6 * 1024**2}
    created = api.post("/api/media/", declared).json()
    assert bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{created['id']}/").status_code == 204
    assert not bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")


def test_the_page_asks_first_then_deletes_and_says_so(
    client, user, uploaded, bucket, django_capture_on_commit_callbacks
):
    client.force_login(user)
    detail = client.get(f"/uploads/{uploaded.pk}/").content.decode()
    assert f'href="/uploads/{uploaded.pk}/delete/"' in detail  # a link to the confirm step
    assert 'action="/uploads/' not in detail  # no one-click delete form
    confirm = client.get(f"/uploads/{uploaded.pk}/delete/")
    assert confirm.status_code == 200 and "Delete clip.mp4?" in confirm.content.decode()
    assert MediaFile.objects.filter(pk=uploaded.pk).exists()  # asking deletes nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/uploads/{uploaded.pk}/delete/", follow=True)
    assert done.redirect_chain[-1][0] == "/upload/"
    assert "Deleted clip.mp4." in done.content.decode()
    assert not MediaFile.objects.exists() and bucket.keys() == []


def test_the_page_says_why_a_file_in_use_stays(client, user, poster, bucket):
    client.force_login(user)
    refused = client.post(f"/uploads/{poster.pk}/delete/")
    assert refused.status_code == 409
    assert "attached to something" in refused.content.decode()
    assert MediaFile.objects.filter(pk=poster.pk).exists() and bucket.keys() == [poster.key]


@pytest.fixture
def staff_client(client, db):
    """A superuser's browser session."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("staff", "s@example.com", "staff-password"))
    return client


@pytest.mark.parametrize(
    ("on_delete", "said"),
    [
        (models.PROTECT, "Cannot delete media file"),  # Django's own page lists the holder
        (models.SET_NULL, "attached to something"),  # Django would empty the field: we refuse
    ],
)
def test_the_admin_keeps_a_file_in_use_and_says_why(
    staff_client, poster, bucket, monkeypatch, on_delete, said
):
    monkeypatch.setattr(Show._meta.get_field("poster").remote_field, "on_delete", on_delete)
    page = staff_client.post(
        f"/admin/uploads/mediafile/{poster.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert page.status_code == 200 and said in page.content.decode()
    assert MediaFile.objects.filter(pk=poster.pk).exists() and bucket.keys() == [poster.key]
    assert Show.objects.get().poster_id == poster.pk


def test_the_admins_bulk_delete_deletes_the_free_ones_and_names_the_rest(
    staff_client, user, poster, bucket, django_capture_on_commit_callbacks, monkeypatch
):
    """(With PROTECT, Django's own confirmation page refuses the whole action first.)"""
    monkeypatch.setattr(Show._meta.get_field("poster").remote_field, "on_delete", models.SET_NULL)
    free = services.complete_upload(media_file=sent_record(user, filename="free.mp4"), via="api")
    with django_capture_on_commit_callbacks(execute=True):
        page = staff_client.post(
            "/admin/uploads/mediafile/",
            {
                "action": "delete_selected",
                "_selected_action": [str(free.pk), str(poster.pk)],
                "post": "yes",
            },
            follow=True,
        )
    assert "Not deleted: " in page.content.decode()
    assert list(MediaFile.objects.values_list("pk", flat=True)) == [poster.pk]
    assert bucket.keys() == [poster.key]
    assert Show.objects.get().poster_id == poster.pk


def test_an_upload_field_that_cascades_is_refused_and_one_that_nulls_is_named(monkeypatch):
    field = Show._meta.get_field("poster")
    monkeypatch.setattr(field.remote_field, "on_delete", models.CASCADE)
    [error] = [m for m in check_upload_settings() if m.id == "uploads.E016"]
    assert isinstance(error, Error) and "demo.show.poster" in error.msg
    monkeypatch.setattr(field.remote_field, "on_delete", models.SET_NULL)
    [warning] = [m for m in check_upload_settings() if m.id == "uploads.W004"]
    assert isinstance(warning, Warning) and "demo.show.poster" in warning.msg


def test_reconcile_carries_out_old_pending_deletions_and_never_reports_them(
    api, uploaded, bucket, settings, django_capture_on_commit_callbacks
):
    reachable = settings.AWS_S3_ENDPOINT_URL
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/media/{uploaded.pk}/").status_code == 204
    settings.AWS_S3_ENDPOINT_URL = reachable
    said: list[str] = []
    sweeps.reconcile(grace=timedelta(0), say=said.append)  # entries younger than 5 minutes wait
    assert bucket.keys() == [uploaded.key]
    assert not [line for line in said if "REPORT" in line]  # no orphan: it is being deleted
    PendingDeletion.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    tally = sweeps.reconcile(grace=timedelta(0), say=said.append)
    assert bucket.keys() == [] and not PendingDeletion.objects.exists()
    assert tally.counts["deleted"] == 2  # the media key and the scratch key
