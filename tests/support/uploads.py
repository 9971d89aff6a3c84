"""The one way tests declare uploads: through the API, as a client would, then POST the bytes."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from uploads.models import MediaFile


def token_client(user: User) -> APIClient:
    """Return an API client that authenticates with the user's DRF token."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def declare(
    api: APIClient,
    body: bytes,
    *,
    filename: str = "clip.mp4",
    content_type: str = "video/mp4",
    field: str = "",
) -> dict[str, Any]:
    """Declare an upload of `body` (for a model field, if named) and return the 201 body."""
    declared = {"filename": filename, "content_type": content_type, "size": len(body)}
    response = api.post("/api/media/", {**declared, **({"field": field} if field else {})})
    assert response.status_code == 201, response.content
    created: dict[str, Any] = response.json()
    return created


def send(api: APIClient, body: bytes, **declared: str) -> dict[str, Any]:
    """Declare a single-POST upload and POST its bytes with the signed policy (no complete)."""
    created = declare(api, body, **declared)
    response = post_to_s3(created["upload"], body)
    assert response.status_code == 204, response.text
    return created


def sent_record(user: User, body: bytes | None = None, **declared: str) -> MediaFile:
    """The user's pending record whose file (an MP4 unless told otherwise) is in the bucket."""
    body = media_bytes(declared.get("content_type", "video/mp4"), 2048) if body is None else body
    return MediaFile.objects.get(pk=send(token_client(user), body, **declared)["id"])
