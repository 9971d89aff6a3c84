"""The browser tier for large files: parallel parts, renewal, pause, resume, reload, cancel."""

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.support.browser import (
    MiB,
    media_file,
    screenshot,
    sign_in,
    throttle,
    unthrottle,
    wait_until_ready,
)
from uploads.models import MediaFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_parts(settings) -> None:
    """Send files above 8 MiB in 5 MiB parts (S3's smallest), so tests need no huge files."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 8 * MiB
    settings.UPLOAD_PART_SIZE = 5 * MiB


class PartLog:
    """The page's part PUTs and sign requests, as the browser sent them."""

    def __init__(self, page: Page) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.signed: list[list[int]] = []
        self.completed: list[dict[str, Any]] = []  # the bodies of complete/ calls
        self.in_flight = 0
        self.max_in_flight = 0
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)

    @staticmethod
    def part_number(request: Request) -> int | None:
        if request.method != "PUT":
            return None
        numbers = parse_qs(urlparse(request.url).query).get("partNumber")
        return int(numbers[0]) if numbers else None

    def _request(self, request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/parts/"):
            self.signed.append(json.loads(request.post_data or "{}")["part_numbers"])
        if request.method == "POST" and request.url.endswith("/complete/"):
            self.completed.append(json.loads(request.post_data or "{}"))
        number = self.part_number(request)
        if number is not None:
            self.started.append(number)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _finished(self, request: Request) -> None:
        number = self.part_number(request)
        if number is None:
            return
        self.in_flight -= 1
        response = request.response()
        if response and response.ok:
            self.finished.append(number)

    def _failed(self, request: Request) -> None:
        if self.part_number(request) is not None:
            self.in_flight -= 1

    def reset(self) -> None:
        self.started, self.finished, self.signed = [], [], []
        self.max_in_flight = self.in_flight


def wait_for(page: Page, condition: Callable[[], bool], timeout: float = 20) -> None:
    """Let the page run until `condition` holds (Playwright delivers events while it waits)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the page"
        page.wait_for_timeout(25)


def test_large_file_goes_up_in_parallel_parts(
    page: Page, live_server, browser_bucket, user, small_parts, tmp_path: Path
):
    path, content = media_file(tmp_path, "Concert.mp4", 40 * MiB + 123)
    sign_in(page, live_server.url)
    log = PartLog(page)
    # S3 answers part 3's first PUT with an expired signature: the page must re-sign and go on.
    expired: list[str] = []

    def expire_part_3(route: Route, request: Request) -> None:
        if PartLog.part_number(request) == 3 and not expired:
            expired.append(request.url)
            route.fulfill(
                status=403,
                content_type="application/xml",
                headers={"Access-Control-Allow-Origin": live_server.url},
                body="<Error><Code>AccessDenied</Code>"
                "<Message>Request has expired</Message></Error>",
            )
            return
        route.continue_()

    page.route(lambda url: browser_bucket.name in url, expire_part_3)
    session = throttle(page, 20 * MiB)  # enough to keep several parts in flight together
    page.set_input_files("#file-input", str(path))

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "uploading")
    expect(row.get_by_role("button", name="Pause Concert.mp4")).to_be_visible()
    unthrottle(session)
    expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)

    assert sorted(log.finished) == list(range(1, 10))
    assert len(log.started) == 10  # nine parts, part 3 twice
    assert expired and log.started.count(3) == 2
    assert log.max_in_flight >= 2, "parts go up in parallel"
    assert log.max_in_flight <= 4, "but no more than parallelParts at once"
    # Parts 1-8 came signed with the record; only part 9 was asked for, and part 3 signed again.
    assert sorted(number for batch in log.signed for number in batch) == [3, 9]

    record = MediaFile.objects.get()
    assert record.status == MediaFile.Status.UPLOADED and record.is_multipart
    assert row.get_attribute("data-id") == str(record.id)
    assert browser_bucket.read(record.key) == content
    expect(page.locator("#recent-uploads tr[data-status='uploaded']")).to_have_count(1)
    # complete/ named every part with the ETag S3 answered its PUT with (exposed by CORS): the
    # object's ETag is the MD5 of those parts' MD5s.
    (completed,) = log.completed
    assert [part["part_number"] for part in completed["parts"]] == list(range(1, 10))
    digests = b"".join(bytes.fromhex(part["etag"].strip('"')) for part in completed["parts"])
    assert record.etag.strip('"') == f"{hashlib.md5(digests).hexdigest()}-9"


@pytest.mark.parametrize("local_storage", ["kept", "cleared"])
def test_reload_mid_upload_then_pick_again_resumes(
    page: Page, live_server, browser_bucket, user, small_parts, tmp_path: Path, local_storage
):
    path, content = media_file(tmp_path, "Lecture.mp4", 40 * MiB)
    sign_in(page, live_server.url)
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while uploading
    log = PartLog(page)
    session = throttle(page, 8 * MiB)
    page.set_input_files("#file-input", str(path))
    wait_for(page, lambda: len(log.finished) >= 2)
    first_run = set(log.finished)

    page.reload()
    wait_until_ready(page)
    if local_storage == "cleared":
        # Another browser, or cleared site data: the server's pending list is the only memory.
        page.evaluate("localStorage.clear()")
    record = MediaFile.objects.get()
    listing = browser_bucket.client.list_parts(
        Bucket=browser_bucket.name, Key=record.key, UploadId=record.upload_id
    )
    held = {part["PartNumber"] for part in listing.get("Parts", [])}
    assert held >= first_run
    log.reset()
    page.set_input_files("#file-input", str(path))

    row = page.locator(".transfer")
    expect(row.locator(".message")).to_contain_text(
        f"Resumed: {len(held) * 5}.0 MB was already in storage."
    )
    unthrottle(session)
    expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)
    assert set(log.finished) == set(range(1, 9)) - held, "only the missing parts are sent"
    assert len(log.started) < 8
    assert MediaFile.objects.count() == 1
    record.refresh_from_db()
    assert row.get_attribute("data-id") == str(record.id)
    assert record.status == MediaFile.Status.UPLOADED
    assert browser_bucket.read(record.key) == content


def test_pause_and_resume(
    page: Page, live_server, browser_bucket, user, small_parts, tmp_path: Path, settings
):
    settings.UPLOAD_PARALLEL_PARTS = 2  # parts finish in pairs, so a pause leaves some to send
    path, content = media_file(tmp_path, "Rehearsal.mov", 30 * MiB)
    sign_in(page, live_server.url)
    log = PartLog(page)
    session = throttle(page, 6 * MiB)
    page.set_input_files("#file-input", str(path))
    row = page.locator(".transfer")
    wait_for(page, lambda: len(log.finished) >= 1)

    row.get_by_role("button", name="Pause Rehearsal.mov").focus()
    page.keyboard.press("Enter")  # from the keyboard, so the focus ring shows in the screenshot
    expect(row).to_have_attribute("data-status", "paused")
    expect(row.locator(".state")).to_have_text("Paused")
    expect(page.locator("#announcer")).to_have_text("Rehearsal.mov paused.")
    # The pressed button went away; focus moved to the one that replaced it.
    resume = row.get_by_role("button", name="Resume Rehearsal.mov")
    expect(resume).to_be_focused()
    screenshot(page, "multipart-paused")
    wait_for(page, lambda: log.in_flight == 0)  # the part requests in flight were aborted
    done_before_pause = set(log.finished)
    assert len(done_before_pause) < 6
    log.reset()

    unthrottle(session)
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-status", "uploaded", timeout=30_000)
    assert not done_before_pause & set(log.finished)
    assert done_before_pause | set(log.finished) == set(range(1, 7))
    record = MediaFile.objects.get()
    assert browser_bucket.read(record.key) == content


def test_cancel_a_multipart_upload_frees_its_parts(
    page: Page, live_server, browser_bucket, user, small_parts, tmp_path: Path, settings
):
    # Two at a time, so at the cancel some parts are in the bucket and others in flight.
    settings.UPLOAD_PARALLEL_PARTS = 2
    path, _ = media_file(tmp_path, "Raw footage.mp4", 20 * MiB)
    sign_in(page, live_server.url)
    log = PartLog(page)
    throttle(page, 4 * MiB)
    page.set_input_files("#file-input", str(path))
    wait_for(page, lambda: len(log.finished) >= 1)
    record = MediaFile.objects.get()
    listing = browser_bucket.client.list_parts(
        Bucket=browser_bucket.name, Key=record.key, UploadId=record.upload_id
    )
    assert listing.get("Parts"), "some parts are in the bucket before the cancel"

    row = page.locator(".transfer")
    expect(row).to_have_attribute("data-status", "uploading")
    row.get_by_role("button", name="Cancel Raw footage.mp4").click()
    expect(row).to_have_attribute("data-status", "aborted")
    record.refresh_from_db()
    assert record.status == MediaFile.Status.ABORTED
    assert browser_bucket.keys() == []
    uploads = browser_bucket.client.list_multipart_uploads(Bucket=browser_bucket.name)
    assert uploads.get("Uploads", []) == []
