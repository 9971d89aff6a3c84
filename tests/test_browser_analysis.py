"""The browser tier for the background analysis: a form field whose limits bound what analysis
finds says "Checking…" until a real `db_worker` has analysed the file, then shows the server's
refusal, and saving says the same; "My uploads" shows the thumbnail the worker made."""

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from mediaupload.demo.models import Show
from tests.support import worker
from tests.support.browser import row_for, screenshot, sign_in, sign_in_to_admin
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The widget asks again for 2 minutes at most; the worker's batch takes a few seconds.
VERDICT_MS = 30_000
BY = "\N{MULTIPLICATION SIGN}"  # between a picture's width and height, as the page says them


def attach_and_analyse(page: Page, widget: Locator, picker: str, path: Path) -> None:
    """Pick a file in a widget, wait until it is uploaded and checking, then run the worker."""
    expect(widget).to_have_attribute("data-ready", "true")
    page.set_input_files(picker, str(path))
    expect(widget).to_have_attribute("data-check", "waiting", timeout=30_000)
    expect(widget.locator(".media-widget-status")).to_have_text("Uploaded. Checking…")
    output = worker.run_batch()
    record = MediaFile.objects.get(filename=path.name)
    assert record.analysis_status == MediaFile.Analysis.DONE, output.stdout + output.stderr


def test_a_teaser_longer_than_its_field_allows_is_refused_once_analysed(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips, csp_violations
):
    show = Show.objects.create(title="A show")
    clip = clips.mp4(tmp_path / "Long teaser.mp4", seconds=10, size="320x180", black_seconds=0)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/demo/episode/add/")
    page.locator("#id_show").select_option(str(show.pk))
    page.locator("#id_title").fill("Episode one")
    widget = page.locator(".media-widget[data-name=teaser]")
    attach_and_analyse(page, widget, "#id_teaser_file", clip)
    screenshot(page, "analysis-widget-checking-done")

    expect(widget).to_have_attribute("data-check", "blocked", timeout=VERDICT_MS)
    status = widget.locator(".media-widget-status")
    expect(status).to_contain_text("at most 5 seconds")
    refusal = status.inner_text()
    assert refusal == "This file is 10 seconds long; files here may be at most 5 seconds."
    expect(widget.locator(".media-widget-current .media-widget-preview-meta")).to_have_text(
        f"0:10 · 320{BY}180"
    )
    screenshot(page, "analysis-widget-teaser-refused")

    page.locator("input[name=_save]").click()
    errors = page.locator(".field-teaser .errorlist")
    expect(errors).to_contain_text(refusal)
    screenshot(page, "analysis-widget-teaser-refused-on-save")

    # The MediaFile admin: the worker's thumbnail in the list, poster and findings on the record.
    record = MediaFile.objects.get()
    page.goto(f"{live_server.url}/admin/uploads/mediafile/?analysis_status__exact=done")
    expect(page.locator("img.media-thumb")).to_have_count(1)
    screenshot(page, "analysis-admin-list")
    page.goto(f"{live_server.url}/admin/uploads/mediafile/{record.pk}/change/")
    expect(page.locator("video.media-full")).to_have_attribute("poster", re.compile("."))
    expect(page.locator(".media-facts")).to_contain_text("0:10")
    screenshot(page, "analysis-admin-change")
    assert csp_violations == []


def test_a_banner_narrower_than_its_field_allows_is_refused_once_analysed(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, csp_violations
):
    picture = tmp_path / "Narrow banner.png"
    Image.new("RGB", (640, 480), (30, 90, 200)).save(picture, "PNG")
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/demo/show/add/")
    page.locator("#id_title").fill("A show")
    widget = page.locator(".media-widget[data-name=banner]")
    attach_and_analyse(page, widget, "#id_banner_file", picture)

    expect(widget).to_have_attribute("data-check", "blocked", timeout=VERDICT_MS)
    status = widget.locator(".media-widget-status")
    expect(status).to_contain_text("at least 1000 pixels wide")
    screenshot(page, "analysis-widget-banner-refused")

    page.locator("input[name=_save]").click()
    expect(page.locator(".field-banner .errorlist")).to_contain_text("at least 1000 pixels wide")
    assert not Show.objects.exists()
    assert csp_violations == []


def test_my_uploads_shows_the_thumbnail_the_worker_made(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, clips, csp_violations
):
    clip = clips.video(tmp_path / "Test pattern.webm", seconds=2, size="640x360")
    page.set_viewport_size({"width": 1000, "height": 900})
    sign_in(page, live_server.url)
    page.set_input_files("#file-input", str(clip))
    row = row_for(page, "Test pattern.webm")
    expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)
    recent = page.locator("#recent-uploads tr[data-status='uploaded']")
    expect(recent).to_have_count(1)
    expect(recent.locator(".meta")).to_have_text("Analysing…")

    output = worker.run_batch()
    record = MediaFile.objects.get()
    assert record.analysis_status == MediaFile.Analysis.DONE, output.stdout + output.stderr
    assert record.derived.get("thumbnail"), record.derived

    # The row follows its record and swaps in the server's thumbnail; "My uploads" reloads too.
    expect(row.locator("img.preview")).to_have_attribute("data-source", "server", timeout=15_000)
    thumb = recent.locator("img.thumb")
    expect(thumb).to_have_attribute("src", re.compile(re.escape(record.derived["thumbnail"])))
    expect(recent.locator(".meta")).to_have_text(f"0:02 · 640{BY}360")
    expect(recent.locator("video")).to_have_count(0)
    page.wait_for_function(
        "() => { const img = document.querySelector('#recent-uploads img.thumb');"
        " return img && img.complete && img.naturalWidth > 0; }",
        timeout=10_000,
    )
    expect(row.locator(".preview-meta")).to_have_text(f"0:02 · 640{BY}360")
    screenshot(page, "analysis-my-uploads-thumbnail")

    recent.get_by_role("link", name="Test pattern.webm").click()
    expect(page.locator(".media-view video")).to_have_attribute("poster", re.compile("."))
    expect(page.locator(".media-page .details")).to_contain_text(f"640{BY}360 (16:9)")
    screenshot(page, "analysis-upload-page")
    assert csp_violations == []
