"""The browser tier: a person signs in and uploads a real file through /upload/ in chromium."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import MiB, media_file, screenshot, sign_in
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_person_uploads_a_file_through_the_page(
    page: Page, live_server, browser_bucket, user, tmp_path: Path
):
    video, content = media_file(tmp_path, "Family holiday.mp4", 3 * MiB + 17)

    sign_in(page, live_server.url)
    expect(page.locator("#recent-uploads")).to_contain_text("Nothing uploaded yet.")
    page.set_input_files("#file-input", str(video))

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "uploaded", timeout=20_000)
    expect(row).to_contain_text("Family holiday.mp4")
    expect(row.locator(".percent")).to_have_text("100%")
    expect(row.locator(".state")).to_have_text("Uploaded")
    expect(page.locator("#announcer")).to_have_text("Family holiday.mp4 uploaded.")
    recent = page.locator("#recent-uploads tr[data-status='uploaded']")
    expect(recent).to_have_count(1)
    expect(recent.get_by_role("link", name="Family holiday.mp4")).to_be_visible()

    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.UPLOADED
    assert record.owner == user and record.size == len(content)
    assert row.get_attribute("data-id") == str(record.id)
    assert browser_bucket.read(record.key) == content

    screenshot(page, "uploader-desktop")


def test_server_refusal_is_shown_in_words(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, settings
):
    # The page checks the limit it was given; lowering it afterwards leaves the refusal to the API.
    sign_in(page, live_server.url)
    settings.UPLOAD_MAX_BYTES = 10
    big = tmp_path / "too-big.mp4"
    big.write_bytes(b"x" * 11)
    page.set_input_files("#file-input", str(big))
    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator(".message")).to_contain_text(
        "The server refused the file: Files larger than 10 bytes"
    )
    expect(row.get_by_role("button", name="Retry")).to_be_visible()
    assert not MediaFile.objects.exists()
