"""MediaFilesField: several uploads per field, in order. Its generated through model (PROTECT toward
the upload, CASCADE toward the object, unique positions and files), the order kept by the ORM, the
admin's form, the DRF list field, and the rules every upload field follows: the cleanup of
unattached uploads, the delete path's users, and purge with the owner."""

import io
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from mediaupload.demo.models import Show
from tests.support import worker
from tests.support.s3 import Bucket
from uploads import deletions
from uploads.fields import MediaFilesField
from uploads.integration import attachments, registry
from uploads.integration.lists import too_many
from uploads.models import MediaFile
from uploads.rest import MediaFilesRelatedField
from uploads.testing import field_value, uploaded_media_file

GALLERY = "demo.show.gallery"
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def picture(owner: Any, name: str = "p.png", field: str = GALLERY, **kwargs: Any) -> MediaFile:
    """An uploaded PNG of `owner`'s, made for the gallery."""
    return uploaded_media_file(owner=owner, filename=name, field=field, **kwargs)


def gallery(show: Show) -> list[str]:
    """The gallery's file names, as the field reads them."""
    return [record.filename for record in show.gallery.all()]


# ---------------------------------------------------------------- the generated through model


def test_the_through_model_is_generated_in_the_host_app_with_protect_cascade_and_constraints():
    field = Show._meta.get_field("gallery")
    through: Any = field.remote_field.through
    assert through.__name__ == "Show_gallery" and through._meta.app_label == "demo"
    assert through._meta.db_table == "demo_show_gallery"
    assert not through._meta.auto_created  # so the host's makemigrations writes it
    assert through._meta.get_field("show").remote_field.on_delete is models.CASCADE
    assert through._meta.get_field("media_file").remote_field.on_delete is models.PROTECT
    assert through._meta.get_field("media_file").related_model is MediaFile
    assert isinstance(through._meta.get_field("position"), models.PositiveIntegerField)
    unique = {tuple(c.fields) for c in through._meta.constraints}
    assert unique == {("show", "position"), ("show", "media_file")}


def test_deconstruct_round_trips_with_its_limits_and_through():
    field = Show._meta.get_field("gallery")
    _, path, args, kwargs = field.deconstruct()
    assert path == "uploads.fields.MediaFilesField"
    assert kwargs == {
        "allowed_types": ["image/*"],
        "blank": True,
        "max_files": 5,
        "through": "demo.Show_gallery",
    }
    again = MediaFilesField(*args, **kwargs)
    assert again.max_files == 5 and again.limits == field.limits


def test_the_demo_models_and_migrations_agree_and_the_app_gets_no_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if not


SAMPLE_APP_MODELS = """
from django.db import models
from uploads.fields import MediaFilesField


class Album(models.Model):
    title = models.CharField(max_length=50)
    photos = MediaFilesField(allowed_types=["image/*"], max_files=3, max_bytes=10_000, blank=True)
    clips = MediaFilesField(allowed_types=["video/*"], max_duration=10)
"""

SAMPLE_SETTINGS = """
from tests.sampleproject.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "albums"]  # noqa: F405
MIGRATION_MODULES = {"albums": "albums.migrations"}
"""


@pytest.mark.django_db(databases=[])
def test_a_host_apps_makemigrations_writes_the_through_models_and_checks_clean(tmp_path: Path):
    app = tmp_path / "albums"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(textwrap.dedent(SAMPLE_APP_MODELS))
    (tmp_path / "album_settings.py").write_text(textwrap.dedent(SAMPLE_SETTINGS))
    env = {"DJANGO_SETTINGS_MODULE": "album_settings", "PYTHONPATH": f"{tmp_path}:{ROOT}"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "django", *args],
            env={**__import__("os").environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = manage("makemigrations", "albums")
    assert made.returncode == 0, made.stderr
    written = "".join(path.read_text() for path in (app / "migrations").glob("0*.py"))
    assert "name='Album_photos'" in written and "name='Album_clips'" in written
    assert "through='albums.Album_photos'" in written and "max_files=3" in written
    checked = manage("makemigrations", "--check", "--dry-run")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No changes detected" in checked.stdout


# ---------------------------------------------------------------- order


def test_set_writes_positions_and_reading_gives_files_by_position(user: User):
    a, b, c = (picture(user, name) for name in ("a.png", "b.png", "c.png"))
    show = Show.objects.create(title="S")
    show.gallery.set([c, a, b])
    assert gallery(show) == ["c.png", "a.png", "b.png"]
    rows = Show.gallery.through.objects.filter(show=show).order_by("position")
    assert [(row.position, row.media_file_id) for row in rows] == [(0, c.pk), (1, a.pk), (2, b.pk)]

    show.gallery.set([b, c])
    assert gallery(show) == ["b.png", "c.png"]
    show.gallery.add(a)
    assert gallery(show) == ["b.png", "c.png", "a.png"]
    show.gallery.remove(c)
    assert gallery(show) == ["b.png", "a.png"]
    prefetched = Show.objects.prefetch_related("gallery").get(pk=show.pk)
    assert gallery(prefetched) == ["b.png", "a.png"]
    other = Show.objects.create(title="T")  # the same files elsewhere: no duplicates, own order
    other.gallery.set([a, b])
    assert gallery(other) == ["a.png", "b.png"] and gallery(show) == ["b.png", "a.png"]


def test_a_file_twice_or_a_position_twice_is_refused(user: User):
    a = picture(user)
    show = Show.objects.create(title="S")
    with pytest.raises(ValueError, match="only once"):
        show.gallery.set([a, a])
    through = Show.gallery.through
    through.objects.create(show=show, media_file=a, position=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        through.objects.create(show=show, media_file=picture(user), position=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        through.objects.create(show=show, media_file=a, position=1)


def test_an_upload_in_a_list_cannot_be_deleted_and_the_list_goes_with_its_object(user: User):
    a = picture(user)
    show = Show.objects.create(title="S")
    show.gallery.set([a])
    with pytest.raises(ProtectedError):
        MediaFile.objects.filter(pk=a.pk).delete()
    assert deletions.users_of(a) == [GALLERY]
    show.delete()
    assert not Show.gallery.through.objects.exists()
    assert deletions.users_of(a) == []


def test_the_registry_answers_for_a_list_as_for_a_column(user: User):
    a, b = picture(user), picture(user)
    show = Show.objects.create(title="S")
    show.gallery.set([a])
    declared = registry.declared(GALLERY)
    assert declared.max_files == 5 and declared.through is Show.gallery.through
    assert declared.holding([a.pk, b.pk]) == {a.pk}
    assert declared.records_of([show.pk]) == [a.pk]


# ---------------------------------------------------------------- the admin's form


@pytest.fixture
def staff_client(client: Any, db: None) -> Any:
    """A client signed in as a superuser, who uploads too."""
    staff = User.objects.create_superuser("staff", "staff@example.com", "staff-password")
    client.force_login(staff)
    client.staff = staff
    return client


def show_form(title: str, values: list[str]) -> dict[str, Any]:
    """The admin's Show form: a title, the gallery's values in order, no episodes."""
    return {
        "title": title,
        "gallery": values,
        "episodes-TOTAL_FORMS": "0",
        "episodes-INITIAL_FORMS": "0",
        "episodes-MIN_NUM_FORMS": "0",
        "episodes-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }


def test_the_admin_saves_the_list_in_order_and_renders_it_back(staff_client: Any):
    staff = staff_client.staff
    a, b, c = (picture(staff, name) for name in ("a.png", "b.png", "c.png"))
    page = staff_client.get("/admin/demo/show/add/").content.decode()
    assert "data-media-widget data-list" in page and 'data-max-files="5"' in page
    assert f'data-too-many="{too_many(5)}"' in page and "multiple" in page

    values = [field_value(record, GALLERY) for record in (b, c, a)]
    answer = staff_client.post("/admin/demo/show/add/", show_form("Trip", values))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    show = Show.objects.get()
    assert gallery(show) == ["b.png", "c.png", "a.png"]

    page = staff_client.get(f"/admin/demo/show/{show.pk}/change/").content.decode()
    held = [f'value="{record.pk}"' for record in (b, c, a)]
    assert all(value in page for value in held)
    assert page.index(held[0]) < page.index(held[1]) < page.index(held[2])

    # Kept ones come back as ids (whoever uploaded them), reordered; one left out is let go.
    answer = staff_client.post(
        f"/admin/demo/show/{show.pk}/change/", show_form("Trip", [str(a.pk), str(b.pk)])
    )
    assert answer.status_code == 302
    assert gallery(show) == ["a.png", "b.png"]


def test_more_than_max_files_or_a_value_not_signed_for_you_is_refused(staff_client: Any):
    staff = staff_client.staff
    values = [field_value(picture(staff), GALLERY) for _ in range(6)]
    answer = staff_client.post("/admin/demo/show/add/", show_form("Trip", values))
    assert answer.status_code == 200
    assert too_many(5) in answer.content.decode()
    assert not Show.objects.exists()

    someone = User.objects.create_user("eve", "eve@example.com", "eve-password")
    theirs = field_value(picture(someone), GALLERY)
    answer = staff_client.post("/admin/demo/show/add/", show_form("Trip", [theirs]))
    assert "This file could not be verified" in answer.content.decode()
    other_field = field_value(picture(staff, field="demo.show.poster"), "demo.show.poster")
    answer = staff_client.post("/admin/demo/show/add/", show_form("Trip", [other_field]))
    assert "This file could not be verified" in answer.content.decode()
    video = uploaded_media_file(owner=staff, content_type="video/mp4", field=GALLERY)
    answer = staff_client.post(
        "/admin/demo/show/add/", show_form("Trip", [field_value(video, GALLERY)])
    )
    assert "are not accepted here" in answer.content.decode()
    assert not Show.objects.exists()


# ---------------------------------------------------------------- DRF


class ShowSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """What a team's API would write."""

    gallery = MediaFilesRelatedField(field=GALLERY)

    class Meta:
        model = Show
        fields = ["id", "title", "gallery"]


def serializer(user: User, data: Any, instance: Show | None = None) -> ShowSerializer:
    """The serializer bound to a request of `user`'s."""
    request = APIRequestFactory().post("/")
    request.user = user
    return ShowSerializer(instance, data=data, context={"request": request})


def test_the_api_takes_and_answers_the_list_in_order(user: User, other_user: User):
    a, b, c = (picture(user, name) for name in ("a.png", "b.png", "c.png"))
    created = serializer(user, {"title": "S", "gallery": [str(c.pk), field_value(a, GALLERY)]})
    assert created.is_valid(), created.errors
    show = created.save()
    assert gallery(show) == ["c.png", "a.png"]
    assert ShowSerializer(show).data["gallery"] == [str(c.pk), str(a.pk)]

    # Someone else may keep (and reorder) the files the object holds, not add their own.
    updated = serializer(other_user, {"title": "S", "gallery": [str(a.pk), str(c.pk)]}, show)
    assert updated.is_valid(), updated.errors
    updated.save()
    assert gallery(show) == ["a.png", "c.png"]
    refused = serializer(other_user, {"title": "S", "gallery": [str(b.pk)]}, show)
    assert not refused.is_valid()
    assert refused.errors["gallery"] == {0: ["No uploaded file of yours has this id."]}


@pytest.mark.parametrize(
    ("gallery_value", "message"),
    [
        ("not a list", "Send a list of ids of uploaded files."),
        ("six", too_many(5)),
        ("twice", "The same file is in the list twice."),
    ],
)
def test_the_api_refuses_a_bad_list_with_a_field_message(user: User, gallery_value, message):
    records = [picture(user) for _ in range(6)]
    data = {
        "not a list": str(records[0].pk),
        "six": [str(record.pk) for record in records],
        "twice": [str(records[0].pk)] * 2,
    }[gallery_value]
    refused = serializer(user, {"title": "S", "gallery": data})
    assert not refused.is_valid()
    assert [str(error) for error in refused.errors["gallery"]] == [message]


# ---------------------------------------------------------------- cleanup, delete path, purge


def test_the_cleanup_keeps_listed_files_and_removes_one_let_go_after_its_grace(
    user: User, monkeypatch: Any
):
    kept, let_go = picture(user, "kept.png"), picture(user, "gone.png")
    long_ago = timezone.now() - timedelta(days=2)
    MediaFile.objects.update(updated_at=long_ago)
    show = Show.objects.create(title="S")
    show.gallery.set([kept, let_go])
    assert attachments.unattached(grace=timedelta(hours=1)) == []

    show.gallery.set([kept])
    let_go.refresh_from_db()
    assert let_go.updated_at > long_ago  # dated: its grace starts now
    assert attachments.unattached(grace=timedelta(hours=1)) == []

    MediaFile.objects.filter(pk=let_go.pk).update(updated_at=long_ago)
    assert attachments.unattached(grace=timedelta(hours=1)) == [let_go]
    monkeypatch.setattr("uploads.storage.delete_object", lambda key: None)
    call_command("clean_unattached_uploads", stdout=io.StringIO())
    assert set(MediaFile.objects.values_list("filename", flat=True)) == {"kept.png"}


def test_remove_and_clear_date_what_they_let_go(user: User):
    a, b = picture(user), picture(user)
    long_ago = timezone.now() - timedelta(days=2)
    show = Show.objects.create(title="S")
    show.gallery.set([a, b])
    MediaFile.objects.update(updated_at=long_ago)
    show.gallery.remove(a)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.updated_at > long_ago and b.updated_at == long_ago
    show.gallery.clear()
    b.refresh_from_db()
    assert b.updated_at > long_ago


@pytest.mark.functional
@pytest.mark.django_db(transaction=True)
def test_deleting_the_host_purges_its_list_files_and_keeps_one_used_elsewhere(
    user: User, bucket: Bucket
):
    def stored(name: str) -> MediaFile:
        return picture(user, name, store=True)

    only_here, shared, other_list = stored("a.png"), stored("shared.png"), stored("b.png")
    doomed = Show.objects.create(title="Doomed")
    doomed.gallery.set([only_here, shared])
    Show.objects.create(title="Keeper", poster=shared)
    doomed_too = Show.objects.create(title="Also doomed")
    doomed_too.gallery.set([other_list])

    doomed.delete()
    Show.objects.filter(title="Also doomed").delete()  # a queryset delete purges too
    assert MediaFile.objects.count() == 3  # the worker does it, not the request
    worker.run_batch()

    assert list(MediaFile.objects.values_list("filename", flat=True)) == ["shared.png"]
    assert bucket.keys() == [shared.key]
