"""A team's project using MediaFileField: the create call applies the field's limits, forms take
only a fresh signed upload of the user's own, the DRF field, and the cleanup of unattached files.

Run with DJANGO_SETTINGS_MODULE=tests.sampleproject.settings (`make test` does)."""

import io
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.sampleproject.library.models import Course, Lesson
from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.uploads import declare, token_client
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

VIDEO = "library.lesson.video"
THUMBNAIL = "library.lesson.thumbnail"


def uploaded(
    api: Any, content_type: str = "video/mp4", size: int = 4096, field: str = VIDEO
) -> str:
    """Upload a file for a field through the API and return the record's id."""
    body = media_bytes(content_type, size)
    created = declare(api, body, content_type=content_type, field=field)
    assert post_to_s3(created["upload"], body).status_code == 204
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    return str(created["id"])


def field_value(api: Any, media_id: str, field: str = VIDEO) -> str:
    """Ask for the signed value a form submits to attach the record to the field."""
    response = api.post(f"/api/media/{media_id}/field-value/", {"field": field})
    assert response.status_code == 200, response.content
    return str(response.json()["value"])


@pytest.fixture
def staff(db: None) -> User:
    """A staff member who edits lessons in the admin."""
    return User.objects.create_superuser("staff", "staff@example.com", "staff-password")


@pytest.fixture
def staff_client(staff: User) -> Client:
    """The staff member's browser session."""
    client = Client()
    client.force_login(staff)
    return client


def save_lesson(
    client: Client, video: str, thumbnail: str = "", lesson: Lesson | None = None
) -> Any:
    """Submit the admin's lesson form, adding or changing."""
    url = f"/admin/library/lesson/{lesson.pk}/change/" if lesson else "/admin/library/lesson/add/"
    data = {"title": "Lesson one", "video": video, "thumbnail": thumbnail, "course": ""}
    return client.post(url, data)


# ---------------------------------------------------------------- limits before any signing


def test_the_create_call_applies_the_fields_limits_before_signing(api, bucket):
    too_big = {
        "filename": "a.mp4",
        "content_type": "video/mp4",
        "size": 1024**2 + 1,
        "field": VIDEO,
    }
    refused = api.post("/api/media/", too_big)
    assert refused.status_code == 400
    assert "1.0\xa0MB" in refused.json()["fields"]["size"][0]
    image = {"filename": "a.png", "content_type": "image/png", "size": 10, "field": VIDEO}
    refused = api.post("/api/media/", image)
    assert refused.status_code == 400
    assert "not accepted here (allowed: video/*)" in refused.json()["fields"]["content_type"][0]
    unknown = {"filename": "a.mp4", "content_type": "video/mp4", "size": 10, "field": "x.y.z"}
    assert api.post("/api/media/", unknown).status_code == 400
    assert not MediaFile.objects.exists()  # nothing made, nothing signed
    assert bucket.keys() == []
    made = api.post("/api/media/", {**too_big, "size": 1024**2})
    assert made.status_code == 201
    assert MediaFile.objects.get().field == VIDEO


# ---------------------------------------------------------------- the form field


def test_the_admin_saves_a_lesson_with_a_freshly_uploaded_video(staff, staff_client, bucket):
    api = token_client(staff)
    media_id = uploaded(api)
    response = save_lesson(staff_client, field_value(api, media_id))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert str(Lesson.objects.get().video_id) == media_id


def test_the_add_page_and_its_inline_carry_the_widget(staff_client, bucket):
    lesson_page = staff_client.get("/admin/library/lesson/add/").content.decode()
    assert lesson_page.count("data-media-widget") == 2
    assert "library.lesson.video" in lesson_page and "uploads/widget.js" in lesson_page
    assert 'for="id_video_file"' in lesson_page  # the label names the file picker
    assert 'id="add_id_video"' not in lesson_page  # no admin "add another record" link
    assert 'id="add_id_course"' in lesson_page  # (ordinary foreign keys keep theirs)
    course_page = staff_client.get("/admin/library/course/add/").content.decode()
    assert 'data-name="lesson_set-__prefix__-video"' in course_page  # the inline's template row


@pytest.mark.parametrize(
    "value",
    ["forged", "Zm9yZ2Vk:1tOPYe:abcdefghijklmnopqrstuvwxyz0123456789"],
    ids=["garbage", "bad-signature"],
)
def test_a_forged_value_is_refused(staff_client, bucket, value):
    response = save_lesson(staff_client, value)
    assert response.status_code == 200
    assert "could not be verified" in response.content.decode()
    assert not Lesson.objects.exists()


def test_a_value_signed_for_another_user_is_refused(staff_client, user, bucket):
    theirs = token_client(user)
    value = field_value(theirs, uploaded(theirs))
    response = save_lesson(staff_client, value)
    assert "could not be verified" in response.content.decode()
    assert not Lesson.objects.exists()


def test_a_plain_id_of_someone_elses_upload_is_refused(staff_client, user, bucket):
    media_id = uploaded(token_client(user))
    response = save_lesson(staff_client, media_id)
    assert "could not be verified" in response.content.decode()
    assert not Lesson.objects.exists()


def test_a_value_signed_for_another_field_is_refused(staff, staff_client, bucket):
    api = token_client(staff)
    image = uploaded(api, "image/png", field=THUMBNAIL)
    value = field_value(api, image, field=THUMBNAIL)
    response = save_lesson(staff_client, value)  # put in the video field
    assert "could not be verified" in response.content.decode()


def test_a_value_past_its_maximum_age_is_refused(staff, staff_client, bucket, settings):
    api = token_client(staff)
    media_id = uploaded(api)
    with mock.patch("time.time", return_value=time.time() - 2 * 24 * 3600):
        value = field_value(api, media_id)  # signed two days ago
    response = save_lesson(staff_client, value)
    assert "could not be verified" in response.content.decode()


def test_a_pending_upload_is_refused(staff, staff_client, bucket):
    api = token_client(staff)
    created = declare(api, media_bytes("video/mp4", 4096), field=VIDEO)
    record = MediaFile.objects.get(pk=created["id"])
    from uploads.integration import field_values

    response = save_lesson(staff_client, field_values.sign(media_file=record, field_id=VIDEO))
    assert "has not finished uploading" in response.content.decode()
    refused = api.post(f"/api/media/{created['id']}/field-value/", {"field": VIDEO})
    assert refused.status_code == 409 and refused.json()["code"] == "not_uploaded"


def test_an_upload_outside_the_fields_limits_gets_no_value(staff, bucket):
    api = token_client(staff)
    big = uploaded(api, size=2 * 1024**2, field="")  # fine for the site, too big for the field
    refused = api.post(f"/api/media/{big}/field-value/", {"field": VIDEO})
    assert refused.status_code == 400
    assert "Files larger than 1.0\xa0MB" in refused.json()["fields"]["field"][0]


def test_an_upload_over_the_fields_size_is_refused(staff, staff_client, bucket):
    api = token_client(staff)
    big = MediaFile.objects.get(pk=uploaded(api, size=1024**2 + 1, field=""))
    from uploads.integration import field_values

    value = field_values.sign(media_file=big, field_id=VIDEO)  # the API would not sign it
    response = save_lesson(staff_client, value)
    assert "Files larger than 1.0\xa0MB" in response.content.decode()
    assert not Lesson.objects.exists()


def test_editing_a_lesson_whose_file_someone_else_uploaded_still_saves(staff_client, user, bucket):
    media_id = uploaded(token_client(user))
    lesson = Lesson.objects.create(title="Theirs", video_id=media_id)
    response = save_lesson(staff_client, media_id, lesson=lesson)  # the value it already had
    assert response.status_code == 302, response.content.decode()[:2000]
    lesson.refresh_from_db()
    assert (lesson.title, str(lesson.video_id)) == ("Lesson one", media_id)


def test_replacing_and_clearing(staff, staff_client, bucket):
    api = token_client(staff)
    first, second = uploaded(api), uploaded(api)
    image = uploaded(api, "image/png", field=THUMBNAIL)
    save_lesson(staff_client, field_value(api, first), field_value(api, image, THUMBNAIL))
    lesson = Lesson.objects.get()
    assert str(lesson.thumbnail_id) == image
    before = MediaFile.objects.get(pk=first).updated_at
    response = save_lesson(staff_client, field_value(api, second), "", lesson=lesson)
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert (str(lesson.video_id), lesson.thumbnail_id) == (second, None)  # replaced, cleared
    assert MediaFile.objects.get(pk=first).updated_at > before  # let go of: its grace starts


def test_an_inline_lesson_saves_with_its_upload(staff, staff_client, bucket):
    api = token_client(staff)
    value = field_value(api, uploaded(api))
    data = {
        "title": "Course",
        "lesson_set-TOTAL_FORMS": "1",
        "lesson_set-INITIAL_FORMS": "0",
        "lesson_set-0-title": "Inline lesson",
        "lesson_set-0-video": value,
        "lesson_set-0-thumbnail": "",
    }
    response = staff_client.post("/admin/library/course/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Course.objects.get().lesson_set.get().title == "Inline lesson"


# ---------------------------------------------------------------- the DRF field


def test_the_drf_field_takes_an_owned_uploaded_id_and_refuses_the_rest(api, other_api, bucket):
    mine = uploaded(api)
    created = api.post("/api/lessons/", {"title": "API lesson", "video": mine})
    assert created.status_code == 201, created.content
    assert created.json()["video"] == mine
    pending = declare(api, media_bytes("video/mp4", 4096), field=VIDEO)["id"]
    theirs = uploaded(other_api)
    for value, message in [
        (pending, "is pending, not uploaded"),
        (theirs, "No uploaded file of yours"),
        ("not-an-id", "Send the id"),
    ]:
        refused = api.post("/api/lessons/", {"title": "x", "video": value})
        assert refused.status_code == 400
        assert message in str(refused.json()), (value, refused.json())
    image = uploaded(api, "image/png", field=THUMBNAIL)
    refused = api.post("/api/lessons/", {"title": "x", "video": image})
    assert "not accepted here" in str(refused.json())
    assert Lesson.objects.count() == 1


def test_the_drf_field_refuses_a_value_signed_for_the_user_naming_someone_elses(
    api, user, other_api, bucket
):
    from uploads.integration import field_values

    theirs = MediaFile.objects.get(pk=uploaded(other_api))
    theirs.owner_id = user.pk  # in memory only: a value only a leaked secret key could make
    value = field_values.sign(media_file=theirs, field_id=VIDEO)
    refused = api.post("/api/lessons/", {"title": "x", "video": value})
    assert refused.status_code == 400
    assert "No uploaded file of yours" in str(refused.json())
    assert not Lesson.objects.exists()


def test_the_drf_field_applies_the_fields_size_limit(api, bucket):
    big = uploaded(api, size=1024**2 + 1, field="")
    refused = api.post("/api/lessons/", {"title": "x", "video": big})
    assert refused.status_code == 400
    assert "Files larger than 1.0\xa0MB" in refused.json()["video"][0]
    assert api.post("/api/lessons/", {"title": "x", "video": uploaded(api)}).status_code == 201


def test_the_drf_fields_own_size_limit_applies(user, bucket):
    from rest_framework import serializers

    from uploads.rest import MediaFileRelatedField

    class ClipSerializer(serializers.Serializer):  # type: ignore[type-arg]
        clip = MediaFileRelatedField(allowed_types=["video/*"], max_bytes=4096)

    api = token_client(user)
    context = {"request": mock.Mock(user=user)}
    small, big = uploaded(api, size=4096, field=""), uploaded(api, size=4097, field="")
    assert ClipSerializer(data={"clip": small}, context=context).is_valid()
    refused = ClipSerializer(data={"clip": big}, context=context)
    assert not refused.is_valid()
    assert "(4096 bytes) are not accepted" in str(refused.errors["clip"])


def test_the_drf_field_keeps_the_file_a_lesson_already_has(api, other_api, bucket):
    theirs = uploaded(other_api)
    lesson = Lesson.objects.create(title="Theirs", video_id=theirs)
    kept = api.put(f"/api/lessons/{lesson.pk}/", {"title": "Renamed", "video": theirs})
    assert kept.status_code == 200, kept.content
    lesson.refresh_from_db()
    assert (lesson.title, str(lesson.video_id)) == ("Renamed", theirs)
    other = Lesson.objects.create(title="Mine", video_id=uploaded(api))
    refused = api.put(f"/api/lessons/{other.pk}/", {"title": "x", "video": theirs})
    assert refused.status_code == 400  # another lesson's file is still not the user's
    assert "No uploaded file of yours" in str(refused.json())


# ---------------------------------------------------------------- unattached uploads


def test_unattached_uploads_are_removed_after_their_grace(staff, staff_client, bucket):
    api = token_client(staff)
    kept, orphan, let_go, fresh = (uploaded(api) for _ in range(4))
    library = uploaded(api, field="")  # from the uploader page: the user's own, never cleaned
    save_lesson(staff_client, field_value(api, let_go))
    lesson = Lesson.objects.get()
    save_lesson(staff_client, field_value(api, kept), lesson=lesson)  # let_go is replaced
    long_ago = timezone.now() - timedelta(days=2)
    MediaFile.objects.exclude(pk=fresh).update(updated_at=long_ago)
    MediaFile.objects.filter(pk=let_go).update(updated_at=long_ago)

    out = io.StringIO()
    call_command("clean_unattached_uploads", stdout=out)

    remaining = {str(pk) for pk in MediaFile.objects.values_list("pk", flat=True)}
    assert remaining == {kept, fresh, library}
    assert f"removed unattached upload {orphan}" in out.getvalue()
    assert f"removed unattached upload {let_go}" in out.getvalue()
    served = {record.key for record in MediaFile.objects.all()}
    assert set(bucket.keys()) == served  # the removed ones' objects went too


def test_the_apps_migrations_are_complete_in_this_project(settings):
    settings.MIGRATION_MODULES = {}  # the app's own, which --no-migrations hides from the tests
    call_command("makemigrations", "uploads", "--check", "--dry-run", verbosity=0)
