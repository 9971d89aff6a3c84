"""The app's test helpers, used as a project's own tests would use them: the pytest fixtures its
package registers (no import of ours), a form saved with a value they make, no S3 unless asked."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.sampleproject.library.models import Lesson

FIELD = "library.lesson.video"


@pytest.fixture
def teacher(db: None) -> User:
    """A user who may add lessons through the plain form."""
    return User.objects.create_user("teacher", "teacher@example.com", "teacher-password")


@pytest.mark.django_db
def test_a_form_saves_a_file_the_factory_made_with_the_value_it_signed(
    teacher: User, media_file_factory: Any, media_field_value: Any
) -> None:
    video = media_file_factory(owner=teacher, content_type="video/mp4", field=FIELD)
    assert (video.status, video.is_video, video.filename) == ("uploaded", True, "file.mp4")
    client = Client()
    client.force_login(teacher)
    form = {"title": "Pilot", "video": media_field_value(video, FIELD), "thumbnail": ""}
    response = client.post("/lessons/new/", {**form, "course": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Lesson.objects.get().video == video


@pytest.mark.django_db
def test_a_value_for_another_user_is_refused_as_a_browsers_would_be(
    teacher: User, media_file_factory: Any, media_field_value: Any
) -> None:
    other = User.objects.create_user("other")
    video = media_file_factory(owner=other, content_type="video/mp4", field=FIELD)
    client = Client()
    client.force_login(teacher)
    form = {
        "title": "Pilot",
        "video": media_field_value(video, FIELD),
        "thumbnail": "",
        "course": "",
    }
    response = client.post("/lessons/new/", form)
    assert response.status_code == 200
    assert not Lesson.objects.exists()


@pytest.mark.functional
@pytest.mark.django_db
def test_stored_bytes_can_be_read_back_from_the_local_s3(
    teacher: User, media_file_factory: Any, bucket: Any
) -> None:
    body = b"id,name\n1,Ada\n"
    sheet = media_file_factory(owner=teacher, content_type="text/csv", body=body, store=True)
    with sheet.open() as stream:
        assert stream.read() == body
    assert bucket.read(sheet.key) == body
