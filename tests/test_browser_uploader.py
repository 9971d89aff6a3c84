"""The browser tier for the uploader people use: many files, limits, cancel, retry, layout."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.support.browser import (
    MiB,
    drop_files,
    media_file,
    row_for,
    screenshot,
    sign_in,
    throttle,
    unthrottle,
)
from tests.support.media import media_bytes
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Counts how many rows are busy at once, every time a row's status changes.
WATCH_CONCURRENCY = """() => {
  window.maxBusy = 0;
  const busy = ["preparing", "uploading", "verifying"];
  new MutationObserver(() => {
    const now = [...document.querySelectorAll(".transfer")]
      .filter((row) => busy.includes(row.dataset.status)).length;
    window.maxBusy = Math.max(window.maxBusy, now);
  }).observe(document.getElementById("transfers"), {
    subtree: true, attributes: true, attributeFilter: ["data-status"],
  });
}"""


def test_three_dropped_files_all_upload(page: Page, live_server, browser_bucket, user):
    files = {
        "first clip.mp4": ("video/mp4", media_bytes("video/mp4", 300 * 1024 + 1)),
        "song.mp3": ("audio/mpeg", media_bytes("audio/mpeg", 200 * 1024 + 2)),
        "photo.png": ("image/png", media_bytes("image/png", 100 * 1024 + 3)),
    }
    sign_in(page, live_server.url)
    page.evaluate(WATCH_CONCURRENCY)
    drop_files(page, [(name, kind, body) for name, (kind, body) in files.items()])

    rows = page.locator(".transfer")
    expect(rows).to_have_count(3)
    for name in files:
        expect(row_for(page, name)).to_have_attribute("data-status", "uploaded", timeout=20_000)
    expect(page.locator("#overall .overall-text")).to_contain_text("3 of 3 uploaded · 100%")
    expect(page.locator("#announcer")).to_contain_text("All 3 files are uploaded.")
    expect(page.locator("#recent-uploads tr[data-status='uploaded']")).to_have_count(3)

    # The page's config allows two files at a time (UPLOAD_PARALLEL_FILES defaults to 2).
    assert 1 <= page.evaluate("window.maxBusy") <= 2
    records = {record.filename: record for record in MediaFile.objects.all()}
    assert set(records) == set(files)
    for name, (kind, body) in files.items():
        record = records[name]
        assert record.status == MediaFile.Status.UPLOADED and record.content_type == kind
        assert row_for(page, name).get_attribute("data-id") == str(record.id)
        assert browser_bucket.read(record.key) == body


def test_files_breaking_the_limits_are_rejected_without_a_request(
    page: Page, live_server, browser_bucket, user, tmp_path: Path, settings
):
    settings.UPLOAD_MAX_BYTES = 1024
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"not a video")
    huge = tmp_path / "huge.mp4"
    huge.write_bytes(b"x" * 1025)
    sign_in(page, live_server.url)
    expect(page.locator("#recent-uploads")).to_contain_text("Nothing uploaded yet.")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))

    page.set_input_files("#file-input", [str(notes), str(huge)])

    notes_row, huge_row = row_for(page, "notes.txt"), row_for(page, "huge.mp4")
    expect(notes_row).to_have_attribute("data-status", "rejected")
    expect(notes_row.locator(".message")).to_contain_text(
        "Files of type text/plain are not accepted. Accepted: video (MP4, "
    )
    expect(huge_row).to_have_attribute("data-status", "rejected")
    expect(huge_row.locator(".message")).to_have_text("Too large: 1.0 KB. The limit is 1.0 KB.")
    expect(notes_row.get_by_role("button")).to_have_count(0)
    expect(page.locator("#announcer")).to_contain_text("huge.mp4: Too large")
    assert requests == []
    assert MediaFile.objects.count() == 0
    assert browser_bucket.keys() == []


def test_cancel_mid_upload_leaves_nothing_behind(
    page: Page, live_server, browser_bucket, user, tmp_path: Path
):
    video = tmp_path / "long take.mp4"
    video.write_bytes(media_bytes("video/mp4", 4 * MiB))
    sign_in(page, live_server.url)
    throttle(page, 512 * 1024)
    page.set_input_files("#file-input", str(video))

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "uploading")
    expect(row.locator("progress")).not_to_have_attribute("value", "0")
    screenshot(page, "cancel-mid-upload")
    row.get_by_role("button", name="Cancel long take.mp4").click()

    expect(row).to_have_attribute("data-status", "aborted")
    expect(row.locator(".message")).to_have_text("Cancelled. Nothing was kept in storage.")
    expect(page.locator("#announcer")).to_have_text("long take.mp4 cancelled.")
    expect(row.get_by_role("button")).to_have_count(0)
    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.ABORTED
    assert row.get_attribute("data-id") == str(record.id)
    assert browser_bucket.keys() == []


def refuse_first_post(page: Page, origin: str, bucket: str, *, status: int, body: str) -> list[str]:
    """Answer the first upload POST to the bucket with S3's error; let everything else through."""
    seen: list[str] = []

    def handle(route: Route, request: Request) -> None:
        if request.method == "POST" and not seen:
            seen.append(request.url)
            route.fulfill(
                status=status,
                content_type="application/xml",
                headers={"Access-Control-Allow-Origin": origin},
                body=body,
            )
            return
        route.continue_()

    page.route(lambda url: f"/{bucket}" in url, handle)
    return seen


def test_failed_upload_retries_on_the_same_record(
    page: Page, live_server, browser_bucket, user, tmp_path: Path
):
    clip, content = media_file(tmp_path, "interview.mov", 256 * 1024)
    sign_in(page, live_server.url)
    refused = refuse_first_post(
        page,
        live_server.url,
        browser_bucket.name,
        status=403,
        body="<Error><Code>AccessDenied</Code>"
        "<Message>Invalid according to Policy: Policy Condition failed</Message></Error>",
    )
    page.set_input_files("#file-input", str(clip))

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator(".message")).to_contain_text(
        "Storage refused the file (AccessDenied: Invalid according to Policy"
    )
    expect(row.locator(".message")).to_contain_text("upload policy or CORS rules")
    assert len(refused) == 1
    first_id = row.get_attribute("data-id")

    retry = row.get_by_role("button", name="Retry interview.mov")
    retry.focus()
    page.keyboard.press("Enter")  # the buttons work from the keyboard
    expect(row).to_have_attribute("data-status", "uploaded")
    assert row.get_attribute("data-id") == first_id
    record = MediaFile.objects.get()
    assert str(record.id) == first_id and record.status == MediaFile.Status.UPLOADED
    assert browser_bucket.read(record.key) == content


def test_lost_connection_is_retried_by_itself(
    page: Page, live_server, browser_bucket, user, tmp_path: Path
):
    clip, content = media_file(tmp_path, "b-roll.mp4", 128 * 1024)
    sign_in(page, live_server.url)
    dropped: list[str] = []

    def drop_once(route: Route, request: Request) -> None:
        if request.method == "POST" and not dropped:
            dropped.append(request.url)
            route.abort("connectionreset")
            return
        route.continue_()

    page.route(lambda url: f"/{browser_bucket.name}" in url, drop_once)
    messages: list[str] = []
    page.expose_function("noteMessage", lambda text: messages.append(text))
    page.evaluate(
        """() => new MutationObserver(() => {
             const message = document.querySelector(".transfer .message");
             if (message && message.textContent) window.noteMessage(message.textContent);
           }).observe(document.getElementById("transfers"),
                      { subtree: true, childList: true, characterData: true })"""
    )
    page.set_input_files("#file-input", str(clip))

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "uploaded")
    assert dropped
    assert any(message.startswith("Connection lost. Retrying") for message in messages), messages
    record = MediaFile.objects.get()
    assert browser_bucket.read(record.key) == content


def test_offline_upload_waits_for_the_network(
    page: Page, live_server, browser_bucket, user, tmp_path: Path
):
    clip, content = media_file(tmp_path, "train window.mp4", 512 * 1024)
    sign_in(page, live_server.url)
    page.context.set_offline(True)
    page.set_input_files("#file-input", str(clip))

    row = page.locator(".transfer")
    expect(row.locator(".message")).to_have_text(
        "You are offline. The upload goes on when the connection is back…"
    )
    expect(row).to_have_attribute("data-status", "preparing")
    assert not MediaFile.objects.exists()
    page.context.set_offline(False)
    expect(row).to_have_attribute("data-status", "uploaded")
    expect(row.locator(".message")).to_be_hidden()
    record = MediaFile.objects.get()
    assert browser_bucket.read(record.key) == content


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_screenshots_mid_upload_and_finished(
    page: Page, live_server, browser_bucket, user, settings, width: int, height: int
):
    settings.UPLOAD_MULTIPART_THRESHOLD = 8 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server.url)
    session = throttle(page, 4 * MiB)
    drop_files(
        page,
        [
            ("Summer trip \N{EN DASH} drone footage, final cut.mp4", "video/mp4", 12 * MiB),
            ("voice memo.m4a", "audio/mp4", 3 * MiB),
            ("cover.jpg", "image/jpeg", 1 * MiB),
            ("readme.txt", "text/plain", b"not media"),
        ],
    )
    big = row_for(page, "drone footage")
    expect(big).to_have_attribute("data-status", "uploading")
    expect(big.locator(".rate")).to_contain_text("left")
    expect(row_for(page, "readme.txt")).to_have_attribute("data-status", "rejected")
    screenshot(page, f"uploader-{width}-mid-upload")

    unthrottle(session)
    for name in ("drone footage", "voice memo.m4a", "cover.jpg"):
        expect(row_for(page, name)).to_have_attribute("data-status", "uploaded", timeout=20_000)
    expect(page.locator("#recent-uploads tr[data-status='uploaded']")).to_have_count(3)
    screenshot(page, f"uploader-{width}-finished")
    # Nothing may stick out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
