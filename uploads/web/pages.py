"""The HTML pages: the uploader, and one upload's own page (view it, download it, delete it)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from uploads import services
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
        "kind": media_file.content_type.partition("/")[0],
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
