"""The HTML pages: the uploader, and one upload's own page (view it, download it, delete it)."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from uploads import services
from uploads.analysis.reasons import MESSAGES
from uploads.errors import UploadConflict
from uploads.models import MediaFile
from uploads.web.client_config import client_config


@login_required
def uploader(request: HttpRequest) -> HttpResponse:
    """Serve the uploader page with the settings its script needs."""
    config = {**client_config(), "csrfToken": get_token(request)}
    return render(request, "uploads/uploader.html", {"uploader_config": config})


@login_required
def media_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Show one of the user's uploads: the file itself, its details, download and delete."""
    media_file = get_object_or_404(MediaFile, pk=pk, owner=request.user)
    return _render_media_page(request, media_file)


def _render_media_page(
    request: HttpRequest, media_file: MediaFile, *, error: str = "", status: int = 200
) -> HttpResponse:
    """Render the upload's page, with a short-lived URL for the file once it is uploaded."""
    context = {
        "media_file": media_file,
        "media_url": services.preview_url(media_file),
        "poster_url": services.derived_preview_url(media_file, "poster"),
        "kind": media_file.kind,
        "facts": media_facts(media_file),
        "analysis_note": analysis_note(media_file),
        "error": error,
    }
    return render(request, "uploads/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def delete_media(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Ask to confirm (GET); then delete one of the user's uploads and say so (POST)."""
    media_file = get_object_or_404(MediaFile, pk=pk, owner=request.user)
    if request.method != "POST":
        return render(request, "uploads/delete.html", {"media_file": media_file})
    try:
        services.delete_media_file(media_file=media_file)
    except UploadConflict as conflict:  # in use, or another request is settling it
        return _render_media_page(request, media_file, error=conflict.detail, status=409)
    # A project without the messages app still deletes; it just can't say so on the next page.
    messages.success(request, f"Deleted {media_file.filename}.", fail_silently=True)
    return redirect("uploads:uploader")


# ---------------------------------------------------------------- what analysis found, in words

TIMES = "\N{MULTIPLICATION SIGN}"  # a picture's size, as the page's script says it too


def analysis_note(media_file: MediaFile) -> str:
    """Say where the analysis stands when it is not simply done (or never asked for): ''."""
    status = media_file.analysis_status
    if status in (MediaFile.Analysis.PENDING, MediaFile.Analysis.RUNNING):
        return "Being analysed…"
    if status == MediaFile.Analysis.FAILED:
        reason = MESSAGES.get(media_file.analysis_reason, "")
        return f"Not analysed. {reason}".strip()
    return ""


def media_facts(media_file: MediaFile) -> list[tuple[str, str]]:
    """Return what analysis found as (label, value) pairs a person reads; none until it is done."""
    found: dict[str, Any] = media_file.metadata or {}
    if media_file.analysis_status != MediaFile.Analysis.DONE or not found:
        return []
    kind = found.get("kind")
    facts: list[tuple[str, str | None]] = []
    if kind in ("video", "audio"):
        facts.append(("Duration", _clock(found.get("duration"))))
    if kind in ("video", "image"):
        facts.append(("Picture", _picture(found)))
    if kind == "video":
        rate = found.get("frame_rate")
        facts.append(("Frame rate", f"{rate:.3g} fps" if rate else None))
        audio = found.get("audio_codec") if found.get("has_audio") else None
        codecs = f"{found.get('video_codec')} video, " + (f"{audio} audio" if audio else "no audio")
        facts.append(("Codecs", codecs))
    if kind == "audio":
        facts.append(("Codec", found.get("codec")))
        facts.append(("Sound", _sound(found)))
    if kind in ("video", "audio"):
        facts.append(("Bit rate", _bit_rate(found.get("bit_rate"))))
        facts.append(("Container", found.get("container")))
    if kind == "image":
        facts.append(("Format", found.get("format")))
        if found.get("animated"):
            facts.append(("Animated", f"{found.get('frames')} frames"))
    return [(label, str(value)) for label, value in facts if value]


def _clock(seconds: Any) -> str | None:
    """Say a duration as a player shows it: "0:05", "12:34", "1:02:03"."""
    if not isinstance(seconds, int | float) or seconds < 0:
        return None
    hours, rest = divmod(round(seconds), 3600)
    minutes, whole = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{whole:02}" if hours else f"{minutes}:{whole:02}"


def _picture(found: dict[str, Any]) -> str | None:
    """Say a picture's displayed size, with its aspect ratio or orientation (640 by 360, 16:9)."""
    width, height = found.get("width"), found.get("height")
    if not width or not height:
        return None
    shape = found.get("display_aspect_ratio") or found.get("orientation")
    return f"{width}{TIMES}{height}" + (f" ({shape})" if shape else "")


def _sound(found: dict[str, Any]) -> str | None:
    """Say a sound's channels and sample rate: "stereo, 44.1 kHz"."""
    channels = found.get("channels")
    named = {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels") if channels else ""
    rate = found.get("sample_rate")
    parts = [named, f"{rate / 1000:g} kHz" if rate else ""]
    return ", ".join(part for part in parts if part) or None


def _bit_rate(bits: Any) -> str | None:
    """Say a bit rate: "412 kbit/s", "1.2 Mbit/s"."""
    if not isinstance(bits, int | float) or bits <= 0:
        return None
    if bits >= 1_000_000:
        return f"{bits / 1_000_000:.1f} Mbit/s"
    return f"{round(bits / 1000)} kbit/s"
