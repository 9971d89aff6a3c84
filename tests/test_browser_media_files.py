"""The browser tier for MediaFilesField in the admin (the demo's Show.gallery, max_files=5): staff
add three pictures at once, reorder them by keyboard, remove one and save; the order survives a
reload; a sixth picture is refused on the spot, with the server's words and no request."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mediaupload.demo.models import Show
from tests.support.browser import screenshot, sign_in_to_admin
from uploads.integration.lists import too_many

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def names(page: Page) -> list[str]:
    """The gallery's file names, in the list's order."""
    return page.locator(".media-list-widget .media-list-item .media-widget-name").all_inner_texts()


def test_add_three_reorder_by_keyboard_remove_one_save_and_the_sixth_is_refused(
    page: Page, live_server, browser_bucket, staff, tmp_path: Path, clips, csp_violations
):
    pictures = [clips.image(tmp_path / f"{name}.png") for name in ("one", "two", "three", "four")]
    creates: list[str] = []
    page.on(
        "request",
        lambda request: (
            creates.append(request.url)
            if request.method == "POST" and request.url.endswith("/api/media/")
            else None
        ),
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in_to_admin(page, live_server.url, "staff", "staff-password")
    page.goto(f"{live_server.url}/admin/demo/show/add/")
    page.locator("#id_title").fill("Holiday")
    widget = page.locator(".media-list-widget[data-name=gallery]")
    expect(widget).to_have_attribute("data-ready", "true")
    expect(widget.locator(".media-widget-limits")).to_contain_text(too_many(5))

    page.set_input_files("#id_gallery_file", [str(path) for path in pictures[:3]])
    items = widget.locator(".media-list-item")
    expect(items).to_have_count(3)
    for index in range(3):
        expect(items.nth(index)).to_have_attribute("data-status", "uploaded", timeout=30_000)
    expect(widget.locator("input[type=hidden][name=gallery]:not([disabled])")).to_have_count(3)
    assert names(page) == ["one.png", "two.png", "three.png"]

    # Keyboard only: "Move three.png up" twice (Enter), then Alt+ArrowDown on one.png's button.
    up = page.get_by_role("button", name="Move three.png up")
    up.focus()
    page.keyboard.press("Enter")
    expect(up).to_be_focused()  # focus stays on the moved item
    page.keyboard.press("Enter")
    expect(up).to_be_focused()
    assert names(page) == ["three.png", "one.png", "two.png"]
    expect(widget.locator(".media-widget-status")).to_have_text(
        "three.png moved to position 1 of 3."
    )
    remove_one = page.get_by_role("button", name="Remove one.png")
    remove_one.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(remove_one).to_be_focused()
    assert names(page) == ["three.png", "two.png", "one.png"]
    screenshot(page, "admin-media-files-reordered")

    page.get_by_role("button", name="Remove two.png").click()
    expect(items).to_have_count(2)
    assert names(page) == ["three.png", "one.png"]

    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    show = Show.objects.get()
    assert [record.filename for record in show.gallery.all()] == ["three.png", "one.png"]

    page.goto(f"{live_server.url}/admin/demo/show/{show.pk}/change/")
    expect(widget).to_have_attribute("data-ready", "true")
    assert names(page) == ["three.png", "one.png"]
    expect(widget.locator("img.media-widget-preview")).to_have_count(2)

    # Three more make five; a sixth is refused on the spot: the server's words, no create.
    page.set_input_files("#id_gallery_file", [str(path) for path in pictures[1:]])
    expect(items).to_have_count(5)
    for index in range(2, 5):
        expect(items.nth(index)).to_have_attribute("data-status", "uploaded", timeout=30_000)
    before = len(creates)
    page.set_input_files("#id_gallery_file", str(pictures[0]))
    expect(widget.locator(".media-widget-status")).to_have_text(too_many(5))
    expect(widget).to_have_attribute("data-refused", "true")
    expect(items).to_have_count(5)
    assert len(creates) == before
    screenshot(page, "admin-media-files-sixth-refused")

    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert [record.filename for record in show.gallery.all()] == [
        "three.png",
        "one.png",
        "two.png",
        "three.png",
        "four.png",
    ]
    assert csp_violations == []
