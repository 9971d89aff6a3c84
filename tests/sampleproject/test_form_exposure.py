"""A form shows a record (name, size, download link) only when it is the value the object holds
now, or the user's own upload named by a value signed for them and that field; anything else a
request names shows nothing of its record and is not echoed back.

Run with DJANGO_SETTINGS_MODULE=tests.sampleproject.settings (`make test` does)."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.template.defaultfilters import filesizeformat
from django.test import Client
from rest_framework.test import APIClient

from tests.sampleproject.library.models import Lesson
from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from tests.support.uploads import declare, token_client
from uploads.integration import field_values
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db]

VIDEO = "library.lesson.video"
THUMBNAIL = "library.lesson.thumbnail"
ADMIN_ADD = "/admin/library/lesson/add/"
PLAIN_ADD = "/lessons/new/"


def upload(
    api: APIClient, filename: str, content_type: str = "video/mp4", field: str = VIDEO
) -> MediaFile:
    """Upload a file of an odd size (easy to spot on a page) for a field; return its record."""
    body = media_bytes(content_type, 12345)
    created = declare(api, body, filename=filename, content_type=content_type, field=field)
    assert post_to_s3(created["upload"], body).status_code == 204
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    return MediaFile.objects.get(pk=created["id"])


def signed(api: APIClient, record: MediaFile, field: str = VIDEO) -> str:
    """Ask for the value a form submits to attach the record to a field."""
    response = api.post(f"/api/media/{record.pk}/field-value/", {"field": field})
    assert response.status_code == 200, response.content
    return str(response.json()["value"])


def leaks(body: str, record: MediaFile) -> list[str]:
    """Return what a page shows of a record: its key, name, size, or any signed S3 link."""
    traces = [record.key, record.filename, filesizeformat(record.size), "X-Amz-Signature"]
    return [trace for trace in traces if trace in body]


def shows(body: str, record: MediaFile) -> bool:
    """Tell whether a page shows the record's name, size and a signed link to it."""
    return not {record.filename, filesizeformat(record.size), "X-Amz-Signature"} - {
        trace for trace in leaks(body, record)
    }


def echoed(body: str, name: str = "video") -> str:
    """Return the value a page's hidden input submits for a field."""
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', body)
    assert match, f"no hidden input named {name}"
    return match.group(1)


def post_lesson(client: Client, url: str, video: str, title: str = "Lesson") -> Any:
    """Submit a lesson form (the admin's or the plain one) with this video value."""
    return client.post(url, {"title": title, "video": video, "thumbnail": "", "course": ""})


@pytest.fixture
def editor(db: None) -> User:
    """Staff who may edit lessons, and nothing of the uploads app."""
    person = User.objects.create_user("editor", "editor@example.com", "editor-password")
    person.is_staff = True
    person.save()
    codenames = ["add_lesson", "change_lesson", "view_lesson"]
    person.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return person


@pytest.fixture
def editor_client(editor: User) -> Client:
    """The editor's browser session."""
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def alices_video(api: APIClient, bucket: Any) -> MediaFile:
    """A video another user uploaded, which the editor must never see."""
    return upload(api, "alice-private-lecture.mp4")


def attack_value(
    case: str, record: MediaFile, api: APIClient, editor: User
) -> tuple[MediaFile, str]:
    """Return the record a forged form value aims at, and the value."""
    if case == "their-id":
        return record, str(record.pk)
    if case == "signed-for-them":
        return record, signed(api, record)
    own_image = upload(token_client(editor), "editor-thumb.png", "image/png", field=THUMBNAIL)
    return own_image, signed(token_client(editor), own_image, field=THUMBNAIL)


CASES = ["their-id", "signed-for-them", "signed-for-another-field"]


@pytest.mark.parametrize("url", [ADMIN_ADD, PLAIN_ADD], ids=["admin", "plain-form"])
@pytest.mark.parametrize("case", CASES)
def test_a_value_not_meant_for_the_user_and_field_shows_nothing(
    editor, editor_client, api, alices_video, url, case
):
    record, value = attack_value(case, alices_video, api, editor)
    response = post_lesson(editor_client, url, value)
    body = response.content.decode()
    assert response.status_code == 200
    assert "could not be verified" in body
    assert leaks(body, record) == []
    assert str(record.pk) not in body and value not in body  # not echoed back either
    assert echoed(body) == ""
    assert not Lesson.objects.exists()


@pytest.mark.parametrize("url", [ADMIN_ADD, PLAIN_ADD], ids=["admin", "plain-form"])
def test_a_record_named_in_the_pages_address_is_not_shown(editor_client, alices_video, url):
    body = editor_client.get(f"{url}?video={alices_video.pk}").content.decode()
    assert leaks(body, alices_video) == []  # the form's initial data is not its object's value
    assert echoed(body) == ""


def test_a_record_in_a_forms_initial_data_is_not_taken_unchecked(editor_client, alices_video):
    prefilled = f"{PLAIN_ADD}?video={alices_video.pk}"  # this view's POST keeps the address's
    body = post_lesson(editor_client, prefilled, str(alices_video.pk)).content.decode()
    assert "could not be verified" in body
    assert leaks(body, alices_video) == []
    assert not Lesson.objects.exists()


def test_a_value_signed_for_the_user_naming_someone_elses_record_shows_nothing(
    editor, editor_client, alices_video
):
    # Only a leaked secret key makes such a value; the record's owner is still checked.
    alices_video.owner_id = editor.pk  # in memory only: the value claims the editor owns it
    value = field_values.sign(media_file=alices_video, field_id=VIDEO)
    alices_video.refresh_from_db()
    body = post_lesson(editor_client, ADMIN_ADD, value).content.decode()
    assert "could not be verified" in body
    assert leaks(body, alices_video) == []
    assert not Lesson.objects.exists()


@pytest.mark.parametrize("url", [ADMIN_ADD, PLAIN_ADD], ids=["admin", "plain-form"])
def test_the_users_own_fresh_upload_is_shown_again_and_saves_when_resubmitted(
    editor, editor_client, bucket, url
):
    editor_api = token_client(editor)
    mine = upload(editor_api, "editor-lecture.mp4")
    value = signed(editor_api, mine)
    body = post_lesson(editor_client, url, value, title="").content.decode()  # title missing
    assert "This field is required" in body
    assert shows(body, mine)
    assert echoed(body) == value
    response = post_lesson(editor_client, url, echoed(body))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Lesson.objects.get().video_id == mine.pk


@pytest.mark.parametrize("admin", [True, False], ids=["admin", "plain-form"])
def test_the_objects_current_file_is_shown_whoever_uploaded_it(editor_client, alices_video, admin):
    lesson = Lesson.objects.create(title="Theirs", video=alices_video)
    url = f"/admin/library/lesson/{lesson.pk}/change/" if admin else f"/lessons/{lesson.pk}/"
    assert shows(editor_client.get(url).content.decode(), alices_video)
    body = post_lesson(editor_client, url, str(alices_video.pk), title="").content.decode()
    assert "This field is required" in body
    assert shows(body, alices_video)  # kept, and still shown after another field's error
    assert echoed(body) == str(alices_video.pk)


@pytest.mark.parametrize("admin", [True, False], ids=["admin", "plain-form"])
def test_another_objects_file_is_not_shown_on_this_objects_page(
    editor, editor_client, alices_video, admin
):
    Lesson.objects.create(title="Theirs", video=alices_video)
    mine = Lesson.objects.create(title="Mine", video=upload(token_client(editor), "mine.mp4"))
    url = f"/admin/library/lesson/{mine.pk}/change/" if admin else f"/lessons/{mine.pk}/"
    body = post_lesson(editor_client, url, str(alices_video.pk)).content.decode()
    assert "could not be verified" in body
    assert leaks(body, alices_video) == []
