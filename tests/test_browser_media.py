"""The browser tier, for what people see of their media: previews while it uploads, and each
upload's own page playing or showing it."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.support.browser import row_for, screenshot, sign_in, throttle, unthrottle
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def upload_through_the_page(page: Page, live_server, paths: list[Path]) -> dict[str, MediaFile]:
    """Sign in, pick the files, wait for every row to end uploaded; return the records by name."""
    sign_in(page, live_server.url)
    page.set_input_files("#file-input", [str(path) for path in paths])
    for path in paths:
        expect(row_for(page, path.name)).to_have_attribute(
            "data-status", "uploaded", timeout=20_000
        )
    return {record.filename: record for record in MediaFile.objects.all()}


def test_an_upload_page_plays_its_video_and_shows_its_image(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, clips
):
    video = clips.video(tmp_path / "Test pattern.webm")
    picture = clips.image(tmp_path / "Pattern.png")
    records = upload_through_the_page(page, live_server, [video, picture])

    recent = page.locator("#recent-uploads")
    recent.get_by_role("link", name="Test pattern.webm").click()
    expect(page).to_have_url(f"{live_server.url}/uploads/{records['Test pattern.webm'].pk}/")
    expect(page.get_by_role("heading", name="Test pattern.webm")).to_be_visible()
    player = page.locator(".media-view video")
    player.evaluate("video => video.play().catch(() => null)")
    page.wait_for_function(
        "() => document.querySelector('.media-view video').readyState >= 2", timeout=15_000
    )
    assert player.evaluate("video => Math.round(video.duration)") == 2
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    screenshot(page, "upload-page-video")

    page.goto(f"{live_server.url}/uploads/{records['Pattern.png'].pk}/")
    image = page.locator(".media-view img")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('.media-view img').naturalWidth === 64")


def test_another_users_upload_page_is_not_found(page: Page, live_server, user):
    stranger = User.objects.create_user("carol", "carol@example.com", "carol-password")
    theirs = MediaFile.objects.create(
        owner=stranger, key="media/x.webm", filename="x.webm", content_type="video/webm", size=1
    )
    sign_in(page, live_server.url)
    response = page.goto(f"{live_server.url}/uploads/{theirs.pk}/")
    assert response is not None and response.status == 404


def test_delete_on_the_upload_page_removes_it(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, clips
):
    records = upload_through_the_page(page, live_server, [clips.image(tmp_path / "Doomed.png")])
    page.goto(f"{live_server.url}/uploads/{records['Doomed.png'].pk}/")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete Doomed.png?")).to_be_visible()
    screenshot(page, "delete-confirm")
    assert MediaFile.objects.exists()  # asking deletes nothing
    page.get_by_role("button", name="Delete the file").click()
    expect(page).to_have_url(f"{live_server.url}/upload/")
    expect(page.get_by_role("status").filter(has_text="Deleted Doomed.png.")).to_be_visible()
    assert not MediaFile.objects.exists()
    assert browser_bucket.keys() == []


def test_rows_show_previews_before_their_upload_ends(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, clips
):
    video = clips.video(tmp_path / "Clip.webm", seconds=2, size="320x240")
    sound = clips.audio(tmp_path / "Tone.wav", seconds=3)
    picture = clips.image(tmp_path / "Still.png")
    sign_in(page, live_server.url)
    session = throttle(page, 8 * 1024)  # slow enough that all three are still going up
    page.set_input_files("#file-input", [str(video), str(sound), str(picture)])

    clip_row, sound_row, still_row = (row_for(page, path.name) for path in (video, sound, picture))
    expect(clip_row.locator(".preview-meta")).to_have_text("0:02 · 320\N{MULTIPLICATION SIGN}240")
    expect(sound_row.locator(".preview-meta")).to_have_text("0:03")
    for row in (clip_row, still_row):
        thumbnail = row.locator("img.preview")
        expect(thumbnail).to_be_visible()
        assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert clip_row.get_attribute("data-status") != "uploaded"
    screenshot(page, "uploader-previews")

    unthrottle(session)
    for row in (clip_row, sound_row, still_row):
        expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)
