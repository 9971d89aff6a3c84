"""The API: MediaFile records (validate → one service call → serialize) and storage events."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle

from uploads import idempotency, services
from uploads.api.base import AppAPIView
from uploads.api.openapi import OpenApiParameter, OpenApiTypes, extend_schema, extend_schema_view
from uploads.api.pagination import MediaFilePagination
from uploads.api.schema import COMMON, errors
from uploads.api.serializers import (
    AuthorizationSerializer,
    CompletedSerializer,
    CompleteRequestSerializer,
    CreatedUploadSerializer,
    CreateUploadSerializer,
    EventsReceivedSerializer,
    FieldValueRequestSerializer,
    FieldValueSerializer,
    MediaFileSerializer,
    PartNumbersSerializer,
    PartsListingSerializer,
    SignedPartsSerializer,
)
from uploads.api.throttles import UploadRateThrottle
from uploads.events import notifications as events
from uploads.models import MediaFile

_RECORD = {200: MediaFileSerializer}
_STORAGE = (502, 503)


@extend_schema_view(
    list=extend_schema(
        summary="The user's uploads, newest first",
        parameters=[
            OpenApiParameter("status", enum=MediaFile.Status.values, description="Only these."),
        ],
        responses={200: MediaFileSerializer(many=True), **errors(400, *COMMON)},
    ),
    retrieve=extend_schema(
        summary="One upload (an uploaded one has a short-lived download_url)",
        responses={**_RECORD, **errors(*COMMON, *_STORAGE)},
    ),
    create=extend_schema(
        summary="Declare a file: a pending record and the authorization to upload it",
        description=(
            "With an `Idempotency-Key` header (one per file, e.g. a UUID), repeating the same "
            "declaration within a day returns the same record (header `Idempotent-Replayed: "
            "true`), re-authorized while it is pending; a final or expired record comes back "
            "with `upload: null`. The same key with another declaration answers 422. A repeat "
            "counts against the create rate (429 with `Retry-After` beyond it). Over the user's "
            "quota: 403 `quota_exceeded`."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", location=OpenApiParameter.HEADER, required=False, type=str
            )
        ],
        request=CreateUploadSerializer,
        responses={201: CreatedUploadSerializer, **errors(400, 422, *COMMON, *_STORAGE)},
    ),
    destroy=extend_schema(
        summary="Delete the upload: its object, then the record",
        responses={204: None, **errors(409, *COMMON, *_STORAGE)},
    ),
)
class MediaFileViewSet(
    AppAPIView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[MediaFile],
):
    """Create, list, inspect, complete and delete the signed-in user's uploads."""

    serializer_class = MediaFileSerializer
    pagination_class = MediaFilePagination
    filter_backends = []  # the project's (search, ordering…) are not ours to apply
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"
    # What check_throttles found of a create's Idempotency-Key (None: no key, or not looked up).
    _idempotency_lookup: idempotency.Lookup | None = None

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

    def get_throttles(self) -> list[BaseThrottle]:
        """Rate-limit the calls that start or sign uploads, per user."""
        scope = {"create": "create", "authorize": "authorize", "parts": "parts"}.get(
            self.action or ""
        )
        if scope is None or (scope == "parts" and self.request.method != "POST"):
            return []
        return [UploadRateThrottle(scope)]

    def check_throttles(self, request: Request) -> None:
        """Every create counts against the rate, a repeat with the same Idempotency-Key too: it
        signs a fresh authorization. Beyond the rate a repeat gets 429 with Retry-After, as any
        create; repeated after that wait, it returns the same record."""
        key = _idempotency_key(request)
        super().check_throttles(request)
        if self.action == "create" and key:
            # Looked up once, for create(), and only for a call the throttle let through.
            self._idempotency_lookup = idempotency.look_up(owner=self._owner(), key=key)

    def create(self, request: Request) -> Response:
        """Make a pending record and answer with the authorization to upload its file."""
        request_serializer = CreateUploadSerializer(data=request.data)
        request_serializer.is_valid(raise_exception=True)
        created = services.create_upload(
            owner=self._owner(),
            idempotency_key=_idempotency_key(request),
            looked_up=self._idempotency_lookup,
            **request_serializer.validated_data,
        )
        body = CreatedUploadSerializer(created.media_file, context={"upload": created.upload}).data
        headers = {
            "Location": reverse("uploads:media-detail", kwargs={"pk": created.media_file.pk})
        }
        if created.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def perform_destroy(self, instance: MediaFile) -> None:
        """Delete the object in the bucket, then the record."""
        services.delete_media_file(media_file=instance)

    @extend_schema(
        summary="Verify the file in the bucket and settle the record",
        request=CompleteRequestSerializer,
        responses={200: CompletedSerializer, **errors(400, 409, *COMMON, *_STORAGE)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Verify the object (assembling multipart parts first) and settle the record."""
        record = self.get_object()
        asked = CompleteRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        finished = services.finish_upload(
            media_file=record, part_etags=asked.validated_data.get("parts")
        )
        record_body = MediaFileSerializer(finished.media_file).data
        return Response({**record_body, "field_value": finished.field_value})

    @extend_schema(
        summary="Cancel a pending upload: its parts are freed and any object deleted",
        request=None,
        responses={**_RECORD, **errors(409, *COMMON, *_STORAGE)},
    )
    @action(detail=True, methods=["post"])
    def abort(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a pending upload: its parts are freed and any object deleted."""
        record = services.abort_upload(media_file=self.get_object())
        return Response(MediaFileSerializer(record).data)

    @extend_schema(
        summary="A fresh authorization for a pending upload (never past its deadline)",
        request=None,
        responses={200: AuthorizationSerializer, **errors(409, *COMMON, *_STORAGE)},
    )
    @action(detail=True, methods=["post"])
    def authorize(self, request: Request, pk: str | None = None) -> Response:
        """Give a pending upload a fresh authorization for the same key, to retry its transfer."""
        upload = services.authorize_upload(media_file=self.get_object())
        return Response(AuthorizationSerializer({"upload": upload}).data)

    @extend_schema(
        summary="The signed value a form's upload field submits for this uploaded record",
        description="Deprecated: `complete/` returns this value as `field_value`.",
        deprecated=True,
        request=FieldValueRequestSerializer,
        responses={200: FieldValueSerializer, **errors(400, 409, *COMMON)},
    )
    @action(detail=True, methods=["post"], url_path="field-value")
    def field_value(self, request: Request, pk: str | None = None) -> Response:
        """Sign a value naming this record for a model field (bound to the user and the field)."""
        asked = FieldValueRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        value = services.field_value(
            media_file=self.get_object(), field=asked.validated_data["field"]
        )
        return Response(FieldValueSerializer({"value": value}).data)

    @extend_schema(
        methods=["GET"],
        summary="The parts storage holds and the ones it misses, to resume",
        responses={200: PartsListingSerializer, **errors(409, *COMMON, *_STORAGE)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Sign PUT URLs for up to 100 parts, each pinned to its exact size",
        request=PartNumbersSerializer,
        responses={200: SignedPartsSerializer, **errors(400, 409, *COMMON, *_STORAGE)},
    )
    @action(detail=True, methods=["get", "post"])
    def parts(self, request: Request, pk: str | None = None) -> Response:
        """GET: the parts S3 holds (to resume). POST: sign URLs for the parts asked for."""
        record = self.get_object()
        if request.method == "GET":
            return Response(PartsListingSerializer(services.held_parts(media_file=record)).data)
        asked = PartNumbersSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        signed = services.sign_parts(
            media_file=record, part_numbers=asked.validated_data["part_numbers"]
        )
        return Response(SignedPartsSerializer(signed).data)


def _idempotency_key(request: Request) -> str:
    """Return the request's Idempotency-Key header ('' without one); 400 if it is unusable."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255 or not key.isprintable() or not key.isascii():
        raise ValidationError(
            {"idempotency_key": ["Send at most 255 printable ASCII characters, e.g. a UUID."]}
        )
    return key


class StorageEventsView(AppAPIView):
    """Take S3 event notifications from the bucket (RGW/MinIO pushes, AWS SNS deliveries)."""

    # The sender is the storage service, not a user: it proves itself with the events secret or an
    # SNS signature (see events.py), so no session, token or CSRF applies here.
    permission_classes = [AllowAny]
    # SNS posts JSON as text/plain; the body is read raw and parsed by events.receive.
    parser_classes: list[type] = []

    def get_authenticators(self) -> list[Any]:
        """No user authentication: the sender proves itself (see the comment above)."""
        return []

    @extend_schema(
        summary="S3 event notifications from the bucket (not for users)",
        request={"application/json": OpenApiTypes.OBJECT, "text/plain": OpenApiTypes.OBJECT},
        responses={200: EventsReceivedSerializer, **errors(400, 403, 413, 503)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Act on every record of the delivery; 400 if unreadable, 403 if untrusted."""
        count = events.receive(
            request.body,
            authorization=request.headers.get("Authorization", ""),
            sns_message_type=request.headers.get("x-amz-sns-message-type"),
        )
        return Response({"received": count})
