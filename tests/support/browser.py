"""Helpers for the browser tier: sign in, drop files, throttle the network, take screenshots."""

import base64
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession, Page, expect

from tests.support.media import media_bytes
from uploads.media_types import SNIFF_BYTES, is_known

MiB = 1024**2

# Screenshots for a person to look at, outside the checkout: $TEST_ARTIFACTS_DIR, or
# mediaupload-test-artifacts/ in the system's temporary directory.
ARTIFACTS = Path(
    os.environ.get("TEST_ARTIFACTS_DIR")
    or Path(tempfile.gettempdir()) / "mediaupload-test-artifacts"
)


def sign_in(page: Page, base_url: str) -> None:
    """Sign in through the real login form, as alice, and wait until the uploader is wired up."""
    page.goto(f"{base_url}/upload/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=/upload/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/upload/")
    wait_until_ready(page)


def sign_in_to_admin(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the admin's own login form."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    expect(page.locator("#user-tools")).to_be_visible()


def wait_until_ready(page: Page) -> None:
    """Wait for the uploader module to run: a file picked earlier would have no listener yet."""
    expect(page.locator("#uploader")).to_have_attribute("data-ready", "true")


def drop_files(page: Page, files: list[tuple[str, str, bytes | int]]) -> None:
    """Drop files on the drop zone: (name, type, bytes), or (name, type, size) for a file of that
    type whose real header is followed by zeros, filled in the page so no big payload crosses."""

    def encode(kind: str, body: bytes | int) -> dict[str, Any]:
        if isinstance(body, bytes):
            return {"data": base64.b64encode(body).decode(), "size": len(body)}
        head = media_bytes(kind, body)[:SNIFF_BYTES] if is_known(kind) else b""
        return {"data": base64.b64encode(head).decode(), "size": body}

    payload = [{"name": name, "type": kind} | encode(kind, body) for name, kind, body in files]
    page.evaluate(
        """(files) => {
          const transfer = new DataTransfer();
          for (const file of files) {
            const bytes = new Uint8Array(file.size);
            bytes.set(Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0)));
            transfer.items.add(new File([bytes], file.name, { type: file.type }));
          }
          const zone = document.getElementById("dropzone");
          for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(
              new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
            );
          }
        }""",
        payload,
    )


def throttle(page: Page, bytes_per_second: int) -> CDPSession:
    """Slow the page's uploads down with Chromium's network emulation, so a test can act mid-way."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return session


def unthrottle(session: CDPSession) -> None:
    """Give the page its full speed back."""
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under ARTIFACTS (outside the checkout) for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def row_for(page: Page, filename: str) -> Any:
    """The upload list's row of one file."""
    return page.locator(".transfer").filter(has=page.locator(".name", has_text=filename))


def media_file(tmp_path: Path, name: str, size: int) -> tuple[Path, bytes]:
    """Write a media file (a real header for the type its name implies, then random bytes)."""
    content_type, _ = mimetypes.guess_type(name)
    content = media_bytes(content_type or "application/octet-stream", size)
    path = tmp_path / name
    path.write_bytes(content)
    return path, content
