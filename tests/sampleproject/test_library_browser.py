"""The browser tier of the team's project: its admin uploads files through the widget."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.sampleproject.library.models import Course, Lesson
from tests.support.browser import screenshot, sign_in_to_admin, throttle, unthrottle
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(db: None) -> User:
    """A staff member who edits lessons."""
    return User.objects.create_superuser("staff", "staff@example.com", "staff-password")


def test_the_admin_add_page_uploads_through_the_widget_and_saves(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips
):
    video = clips.video(tmp_path / "Lesson one.webm", seconds=2)
    still = clips.image(tmp_path / "Thumb.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/library/lesson/add/")
    page.locator("#id_title").fill("Lesson one")
    widget = page.locator(".media-widget[data-name=video]")
    expect(widget).to_have_attribute("data-ready", "true")

    session = throttle(page, 16 * 1024)
    page.set_input_files("#id_video_file", str(video))
    expect(widget).to_have_attribute("data-status", "uploading")
    expect(page.locator("input[name=_save]")).to_be_disabled()  # no saving mid-upload
    screenshot(page, "admin-widget-mid-upload")
    unthrottle(session)
    expect(widget).to_have_attribute("data-status", "uploaded", timeout=30_000)
    page.set_input_files("#id_thumbnail_file", str(still))
    expect(page.locator(".media-widget[data-name=thumbnail]")).to_have_attribute(
        "data-status", "uploaded", timeout=30_000
    )
    screenshot(page, "admin-widget-finished")
    page.locator("input[name=_save]").click()

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    lesson = Lesson.objects.get()
    assert lesson.video.status == MediaFile.Status.UPLOADED
    assert lesson.video.filename == "Lesson one.webm" and lesson.video.owner == staff
    assert lesson.thumbnail is not None and lesson.thumbnail.content_type == "image/png"
    assert browser_bucket.read(lesson.video.key) == video.read_bytes()

    # The change page shows what is attached, and keeps it when saved again untouched.
    page.goto(f"{live_server.url}/admin/library/lesson/{lesson.pk}/change/")
    expect(page.locator(".media-widget[data-name=video] .media-widget-current")).to_contain_text(
        "Lesson one.webm"
    )
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")


def test_a_too_large_file_is_refused_in_the_widget_without_a_request(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path
):
    big = tmp_path / "too big.webm"
    big.write_bytes(b"\x1aE\xdf\xa3" + bytes(2 * 1024**2))  # over the field's 1 MiB
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/library/lesson/add/")
    widget = page.locator(".media-widget[data-name=video]")
    expect(widget).to_have_attribute("data-ready", "true")
    page.set_input_files("#id_video_file", str(big))
    expect(widget).to_have_attribute("data-status", "rejected")
    expect(widget.locator(".media-widget-status")).to_contain_text("Too large")
    assert not MediaFile.objects.exists()


def test_an_inline_row_added_on_the_page_uploads_and_saves(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips
):
    video = clips.video(tmp_path / "Inline.webm", seconds=1)
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/library/course/add/")
    page.locator("#id_title").fill("A course")
    page.get_by_role("button", name="Add another Lesson").click()
    page.locator("#id_lesson_set-0-title").fill("Inline lesson")
    row_widget = page.locator(".media-widget[data-name='lesson_set-0-video']")
    expect(row_widget).to_have_attribute("data-ready", "true")
    page.set_input_files("#id_lesson_set-0-video_file", str(video))
    expect(row_widget).to_have_attribute("data-status", "uploaded", timeout=30_000)
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    lesson = Course.objects.get().lesson_set.get()
    assert lesson.video.filename == "Inline.webm"
    assert lesson.video.status == MediaFile.Status.UPLOADED
