"""Bench-only views: the baseline of issuance, and the proxied upload the app replaces.

Neither is part of the product: `bench.support.urls` routes them, next to the app's own URLs.
"""

import uuid
from datetime import timedelta
from typing import Any, cast

from boto3.s3.transfer import TransferConfig
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from uploads import conf, quotas, storage
from uploads.api.base import AppAPIView
from uploads.api.parsers import BoundedJSONParser
from uploads.api.serializers import CreateUploadSerializer
from uploads.api.throttles import UploadRateThrottle
from uploads.models import MediaFile


class BaselineCreate(AppAPIView):
    """Everything `POST /api/media/` does but the upload logic: one INSERT and a small answer.

    The same middleware, the app's API policy (token authentication, permission, JSON parser),
    per-user create throttle, validation of the declaration, and quota check (under the owner's
    lock when a quota is on, as create does), then one INSERT of a pending record. No key naming
    beyond a UUID, no deadline rules, no signing, no S3, no serializer of the record.
    """

    parser_classes = [BoundedJSONParser]

    def get_throttles(self) -> list[BaseThrottle]:
        """The same throttle as create, under the same scope (the same cache keys)."""
        return [UploadRateThrottle("create")]

    def post(self, request: Request) -> Response:
        """Validate, check the quota under the owner's lock, insert, answer 201 with the id."""
        declared = CreateUploadSerializer(data=request.data)
        declared.is_valid(raise_exception=True)
        owner = cast(User, request.user)
        media_id = uuid.uuid4()
        record = MediaFile(
            id=media_id,
            owner=owner,
            key=f"bench/{media_id}",
            expires_at=timezone.now() + timedelta(hours=1),
            **declared.validated_data,
        )
        if quotas.enabled():  # as create does: the quota check under the owner's lock
            with transaction.atomic():
                User.objects.select_for_update().filter(pk=owner.pk).exists()
                quotas.check_room(owner=owner, size=record.size)
                record.save(force_insert=True)
        else:
            record.save(force_insert=True)
        return Response({"id": str(media_id)}, status=status.HTTP_201_CREATED)


class ProxiedUpload(AppAPIView):
    """The typical approach the app replaces: the browser sends the file to Django, which streams
    it on to S3 (boto3's managed multipart upload: 8 MiB parts, 10 threads) and answers once the
    object is there. The body is read from the request as a stream, never buffered whole.
    """

    parser_classes: list[Any] = []  # the body is not parsed: it is streamed on

    def put(self, request: Request, filename: str) -> Response:
        """Stream the request body to a new object; answer 201 with its key and stored size."""
        body = request._request  # Django's HttpRequest reads the body as a file-like stream
        content_type = body.META.get("CONTENT_TYPE") or "application/octet-stream"
        key = f"proxied/{uuid.uuid4().hex}/{filename}"
        with storage.client.translate_errors("proxied upload"):
            storage.get_client(slow=True).upload_fileobj(
                cast(Any, body),
                conf.bucket(),
                key,
                ExtraArgs={"ContentType": content_type},
                Config=TransferConfig(),
            )
        info = storage.head_object(key)
        return Response({"key": key, "size": info.size}, status=status.HTTP_201_CREATED)
