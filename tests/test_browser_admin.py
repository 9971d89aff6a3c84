"""The browser tier for staff and API readers, under the site's Content-Security-Policy: the
MediaFile admin's Add page uploads, its change page plays the file, a model form's upload widget
attaches a file with the one complete/ call, the API docs render."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mediaupload.demo.models import Episode, Show
from tests.support.browser import row_for, screenshot, sign_in_to_admin, throttle, unthrottle
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_upload_on_the_add_page_and_play_it_on_the_change_page(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips, csp_violations
):
    clip = clips.video(tmp_path / "Staff clip.webm", seconds=2)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/uploads/mediafile/add/")
    expect(page.locator("#uploader")).to_have_attribute("data-ready", "true")
    session = throttle(page, 16 * 1024)
    page.set_input_files("#file-input", str(clip))
    row = row_for(page, "Staff clip.webm")
    expect(row).to_have_attribute("data-status", "uploading")
    screenshot(page, "admin-mediafile-add-mid-upload")
    unthrottle(session)
    expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)
    screenshot(page, "admin-mediafile-add-finished")
    record = MediaFile.objects.get()
    assert record.owner == staff and record.status == MediaFile.Status.UPLOADED

    page.goto(f"{live_server.url}/admin/uploads/mediafile/")
    expect(page.locator("video.media-thumb")).to_have_count(1)
    page.goto(f"{live_server.url}/admin/uploads/mediafile/{record.pk}/change/")
    player = page.locator("video.media-full")
    expect(player).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('video.media-full').readyState >= 2", timeout=15_000
    )
    expect(page.get_by_role("link", name="Download Staff clip.webm")).to_be_visible()
    screenshot(page, "admin-mediafile-change")
    assert csp_violations == []


def test_the_admin_widget_attaches_a_file_with_one_complete_and_no_field_value_request(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips, csp_violations
):
    show = Show.objects.create(title="A show")
    clip = clips.video(tmp_path / "Episode one.webm", seconds=1)
    api_calls: list[str] = []
    page.on(
        "request",
        lambda request: (
            api_calls.append(f"{request.method} {request.url}")
            if "/api/media/" in request.url
            else None
        ),
    )
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/demo/episode/add/")
    page.locator("#id_show").select_option(str(show.pk))
    page.locator("#id_title").fill("Episode one")
    widget = page.locator(".media-widget[data-name=video]")
    expect(widget).to_have_attribute("data-ready", "true")
    session = throttle(page, 16 * 1024)
    page.set_input_files("#id_video_file", str(clip))
    expect(widget.locator(".media-widget-transfer")).to_have_attribute("data-status", "uploading")
    screenshot(page, "admin-widget-demo-mid-upload")
    unthrottle(session)
    expect(widget).to_have_attribute("data-status", "uploaded", timeout=30_000)
    expect(widget.locator(".media-widget-status")).to_have_text(
        "Uploaded. Save the form to keep it."
    )
    screenshot(page, "admin-widget-demo-attached")
    expect(widget.locator(".media-widget-current")).to_contain_text("Episode one.webm")
    record = MediaFile.objects.get()
    assert widget.locator("input[type=hidden]").input_value(), "the form carries the field's value"
    completes = [call for call in api_calls if call.endswith(f"/{record.pk}/complete/")]
    assert completes == [f"POST {live_server.url}/api/media/{record.pk}/complete/"], api_calls
    assert not [call for call in api_calls if "/field-value/" in call], api_calls

    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    episode = Episode.objects.get()
    assert episode.video == record and record.status == MediaFile.Status.UPLOADED
    assert csp_violations == []


def test_the_api_docs_render_under_the_policy(page: Page, live_server, user, csp_violations):
    page.goto(f"{live_server.url}/accounts/login/?next=/api/docs/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("mediaupload API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert csp_violations == []
