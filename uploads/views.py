"""HTTP views: the MediaFile API (validate → one service call → serialize) and the uploader page."""

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from uploads import conf, multipart, services, storage
from uploads.models import MediaFile
from uploads.serializers import (
    CreatedUploadSerializer,
    CreateUploadSerializer,
    MediaFileSerializer,
    PartNumbersSerializer,
    describe_parts,
    describe_signed_parts,
    describe_upload,
)


class StorageUnavailableError(APIException):
    """S3 could not be reached; the client may try again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The storage service is unavailable. Nothing was changed; try again shortly."
    default_code = "storage_unavailable"


class StorageRefusedError(APIException):
    """S3 refused a request the server made (usually a configuration problem)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The storage service refused the request. Nothing was changed."
    default_code = "storage_error"


class Conflict(APIException):
    """The record's state does not allow the request; the body says which state it is in."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: str, record_status: str) -> None:
        super().__init__({"detail": detail, "status": record_status})


_NOT_COMPLETABLE = {
    MediaFile.Status.FAILED: "This upload failed verification.",
    MediaFile.Status.EXPIRED: "This upload expired before it was completed.",
    MediaFile.Status.ABORTED: "This upload was cancelled.",
}


class MediaFileViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[MediaFile],
):
    """Create, list, inspect, complete and delete the signed-in user's uploads."""

    serializer_class = MediaFileSerializer
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[MediaFile]:
        """Only the requesting user's records exist, as far as this API is concerned."""
        records = MediaFile.objects.filter(owner=self._owner()).order_by("-created_at")
        if self.action == "list" and "status" in self.request.query_params:
            wanted = self.request.query_params["status"]
            if wanted not in MediaFile.Status.values:
                raise ValidationError({"status": [f"Choose one of {', '.join(MediaFile.Status)}."]})
            records = records.filter(status=wanted)
        return records

    def _owner(self) -> User:
        """Return the signed-in user (IsAuthenticated has already turned anonymous callers away)."""
        return cast(User, self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        """Validate creation requests with their own serializer."""
        if self.action == "create":
            return CreateUploadSerializer
        return MediaFileSerializer

    def create(self, request: Request) -> Response:
        """Make a pending record and answer with a signed POST policy for its file."""
        request_serializer = CreateUploadSerializer(data=request.data)
        request_serializer.is_valid(raise_exception=True)
        created = services.create_upload(owner=self._owner(), **request_serializer.validated_data)
        body = CreatedUploadSerializer(created.media_file, context={"upload": created.upload}).data
        location = reverse("uploads:media-detail", kwargs={"pk": created.media_file.pk})
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_destroy(self, instance: MediaFile) -> None:
        """Delete the object in the bucket, then the record."""
        services.delete_media_file(media_file=instance)

    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Verify the object (assembling multipart parts first) and settle the record."""
        try:
            record = services.complete_upload(media_file=self.get_object())
        except services.UploadNotReceived as waiting:
            raise Conflict(waiting.detail, MediaFile.Status.PENDING) from waiting
        if record.status != MediaFile.Status.UPLOADED:
            detail = record.failure_reason or _NOT_COMPLETABLE.get(
                MediaFile.Status(record.status), "This upload cannot be completed."
            )
            raise Conflict(detail, record.status)
        return Response(MediaFileSerializer(record).data)

    @action(detail=True, methods=["post"])
    def abort(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a pending upload: its parts are freed and any object deleted."""
        record = services.abort_upload(media_file=self.get_object())
        return Response(MediaFileSerializer(record).data)

    @action(detail=True, methods=["post"])
    def authorize(self, request: Request, pk: str | None = None) -> Response:
        """Give a pending upload a fresh authorisation for the same key, to retry its transfer."""
        upload = services.authorise_upload(media_file=self.get_object())
        return Response({"upload": describe_upload(upload)})

    @action(detail=True, methods=["get", "post"])
    def parts(self, request: Request, pk: str | None = None) -> Response:
        """GET: the parts S3 holds (to resume). POST: sign URLs for the parts asked for."""
        record = self.get_object()
        if record.is_terminal:
            raise services.NotPending(record)
        if not record.is_multipart:
            raise Conflict("This upload is a single POST; it has no parts.", record.status)
        plan = multipart.plan_of(record)
        if request.method == "GET":
            try:
                parts = multipart.confirmed_parts(record)
            except storage.ObjectNotFound as gone:
                # Aborted outside the app (e.g. by a lifecycle rule): nothing left to resume.
                raise Conflict(
                    "Storage no longer holds this upload's parts; start it again.", record.status
                ) from gone
            return Response(describe_parts(parts, record))
        asked = PartNumbersSerializer(data=request.data, context={"part_count": plan.part_count})
        asked.is_valid(raise_exception=True)
        signed, expires_at = multipart.sign_parts(
            media_file=record, part_numbers=asked.validated_data["part_numbers"]
        )
        return Response(describe_signed_parts(signed, expires_at))

    def handle_exception(self, exc: Exception) -> Response:
        """Answer state conflicts with 409 and storage trouble with 503/502, never a traceback."""
        if isinstance(exc, services.NotPending):
            record = exc.media_file
            exc = Conflict(
                f"This upload is {record.status}; it can no longer change.", record.status
            )
        elif isinstance(exc, storage.StorageUnavailable):
            exc = StorageUnavailableError()
        elif isinstance(exc, storage.StorageError):
            exc = StorageRefusedError()
        return super().handle_exception(exc)


@login_required
def uploader(request: HttpRequest) -> HttpResponse:
    """Serve the uploader page with the settings its script needs."""
    config = {
        "api": reverse("uploads:media-list"),
        "csrfToken": get_token(request),
        "maxBytes": conf.max_bytes(),
        "allowedTypes": conf.allowed_types(),
        "multipartThreshold": conf.multipart_threshold(),
        "partSize": conf.part_size(),
        "parallelParts": conf.parallel_parts(),
        "parallelFiles": conf.parallel_files(),
        "policyExpires": conf.policy_expires(),
    }
    return render(request, "uploads/uploader.html", {"uploader_config": config})
