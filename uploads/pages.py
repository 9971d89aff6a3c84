"""The HTML pages: the uploader, and one upload's own page (view it, download it, delete it)."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from uploads import services, storage
from uploads.client_config import client_config
from uploads.errors import UploadConflict
from uploads.models import MediaFile


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
        "media_url": services.download_url(media_file),
        "kind": media_file.content_type.partition("/")[0],
        "error": error,
    }
    return render(request, "uploads/detail.html", context, status=status)


@login_required
@require_POST
def delete_media(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Delete one of the user's uploads (object first, then record) and go back to the list."""
    media_file = get_object_or_404(MediaFile, pk=pk, owner=request.user)
    try:
        services.delete_media_file(media_file=media_file)
    except storage.StorageError:
        problem = "Storage could not be reached, so nothing was deleted. Try again shortly."
        return _render_media_page(request, media_file, error=problem, status=503)
    except UploadConflict as conflict:
        return _render_media_page(request, media_file, error=conflict.detail, status=409)
    return redirect("uploads:uploader")
