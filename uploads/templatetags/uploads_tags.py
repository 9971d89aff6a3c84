"""Show an attached file in a template: `{% load uploads_tags %}`.

`{% media_url episode.video %}` is a signed link ("" for no file, or one not `uploaded` yet);
`{% media_tag episode.video class="hero" %}` is the element that shows it: `<img>`, `<video>` (with
the poster analysis made), `<audio>`, or a download link; nothing at all when there is no file.
"""

import re
from datetime import timedelta
from typing import Any

from django import template
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString

from uploads import services, storage
from uploads.models import MediaFile

register = template.Library()

# An attribute name flatatt may write as it is (it escapes values, not names).
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def _link(
    media_file: MediaFile | None,
    *,
    inline: bool = False,
    expires: int | timedelta | None = None,
    filename: str | None = None,
) -> str:
    """The signed link, or "" when there is none to give (no file, not uploaded, clock skewed)."""
    if not isinstance(media_file, MediaFile):
        return ""
    try:
        return media_file.url(inline=inline, expires=expires, filename=filename) or ""
    except storage.ClockSkewed:  # the page still renders; /healthz says why
        return ""


@register.simple_tag
def media_url(
    media_file: MediaFile | None,
    inline: bool = False,
    expires: int | timedelta | None = None,
    filename: str | None = None,
) -> str:
    """`{% media_url file inline=True expires=600 filename="notes.pdf" %}`: the file's signed
    link (see MediaFile.url), or "" for no file or one not `uploaded`. `as name` stores it."""
    return _link(media_file, inline=inline, expires=expires, filename=filename)


def _attributes(given: dict[str, Any]) -> dict[str, Any]:
    """The tag's keyword arguments as HTML attributes: `data_id` is `data-id` (template keywords
    can't hold a hyphen); True is a bare attribute, False or None leaves it out."""
    attributes = {name.replace("_", "-"): value for name, value in given.items()}
    for name in attributes:
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise template.TemplateSyntaxError(f"media_tag: {name!r} is no attribute name.")
    return attributes


@register.simple_tag
def media_tag(media_file: MediaFile | None, **attributes: Any) -> SafeString | str:
    """`{% media_tag file class="hero" alt="Poster" width=640 %}`: the element that shows the
    file, its attributes passed through (escaped): `<img>` (alt="" unless given), `<video controls
    preload="metadata">` with the poster analysis made, `<audio controls>`, or for any other type
    a download link named after the file. Nothing for no file or one not `uploaded`."""
    if not isinstance(media_file, MediaFile):
        return ""
    attrs = _attributes(attributes)
    if media_file.is_image or media_file.is_video or media_file.is_audio:
        src = _link(media_file, inline=True)
        if not src:
            return ""
        if media_file.is_image:
            return format_html("<img{}>", flatatt({"alt": "", **attrs, "src": src}))
        if media_file.is_video:
            poster = services.derived_preview_url(media_file, "poster")
            defaults = {"controls": True, "preload": "metadata", "poster": poster}
            return format_html("<video{}></video>", flatatt({**defaults, **attrs, "src": src}))
        defaults = {"controls": True, "preload": "metadata"}
        return format_html("<audio{}></audio>", flatatt({**defaults, **attrs, "src": src}))
    href = _link(media_file)
    if not href:
        return ""
    return format_html(
        "<a{}>{}</a>", flatatt({"download": True, **attrs, "href": href}), media_file.filename
    )
