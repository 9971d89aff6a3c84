"""Request serializers (validation) and response serializers (representation), kept apart."""

import re
from typing import Any

from django.template.defaultfilters import filesizeformat
from rest_framework import serializers

from uploads import conf, multipart, services, storage
from uploads.models import MediaFile

# RFC 6838 type/subtype names; parameters such as "; charset=" are not accepted for media.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class CreateUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """Validates what a client declares about the file it is about to upload."""

    filename = serializers.CharField(min_length=1, max_length=255, trim_whitespace=False)
    content_type = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)

    def validate_filename(self, value: str) -> str:
        """Reject names that are only white space; the name is display text only."""
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_content_type(self, value: str) -> str:
        """Accept a plain `type/subtype` that matches UPLOAD_ALLOWED_TYPES."""
        content_type = value.strip().lower()
        if not _MEDIA_TYPE.fullmatch(content_type):
            raise serializers.ValidationError("Enter a media type such as video/mp4.")
        if not conf.is_type_allowed(content_type):
            allowed = ", ".join(conf.allowed_types())
            raise serializers.ValidationError(
                f"Files of type {content_type} are not accepted (allowed: {allowed})."
            )
        if not conf.is_type_accepted(content_type):
            # Refused now rather than failed after the upload: its bytes could not be checked.
            raise serializers.ValidationError(
                f"Files of type {content_type} are not accepted: their contents cannot be checked."
            )
        return content_type

    def validate_size(self, value: int) -> int:
        """Keep the declared size within UPLOAD_MAX_BYTES (read now, so settings may change)."""
        limit = conf.max_bytes()
        if value > limit:
            raise serializers.ValidationError(
                f"Files larger than {filesizeformat(limit)} ({limit} bytes) are not accepted."
            )
        return value


class BoundedListField(serializers.ListField):
    """A ListField that checks its length before it validates any element (a huge list is cheap)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        """Refuse an over-long list at once, then validate the elements."""
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class PartNumbersSerializer(serializers.Serializer[dict[str, Any]]):
    """Which parts of a multipart upload the client wants URLs for (the plan is checked later)."""

    part_numbers = BoundedListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=multipart.MAX_PARTS_PER_REQUEST,
    )

    def validate_part_numbers(self, value: list[int]) -> list[int]:
        """Ask for each part once."""
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each part number may be asked for once.")
        return value


class MediaFileSerializer(serializers.ModelSerializer[MediaFile]):
    """A record as the API shows it to its owner."""

    download_url = serializers.SerializerMethodField()
    upload_method = serializers.SerializerMethodField()

    class Meta:
        model = MediaFile
        fields = [
            "id",
            "key",
            "filename",
            "content_type",
            "size",
            "status",
            "upload_method",
            "bytes_confirmed",
            "etag",
            "failure_reason",
            "created_at",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, media_file: MediaFile) -> str | None:
        """Return a short-lived signed GET for uploaded records."""
        return services.download_url(media_file)

    def get_upload_method(self, media_file: MediaFile) -> str:
        """Say whether the file goes up as one POST or in multipart parts."""
        return "multipart" if media_file.is_multipart else "post"


class CreatedUploadSerializer(MediaFileSerializer):
    """A new record together with the authorization to upload its file."""

    upload = serializers.SerializerMethodField()

    class Meta(MediaFileSerializer.Meta):
        fields = [*MediaFileSerializer.Meta.fields, "upload"]
        read_only_fields = fields

    def get_upload(self, media_file: MediaFile) -> dict[str, Any]:
        """Describe the authorization passed in the context."""
        return describe_upload(self.context["upload"])


def describe_upload(upload: services.UploadAuthorization) -> dict[str, Any]:
    """Describe how the client uploads: a signed POST form, or a multipart plan."""
    expires_at = serializers.DateTimeField().to_representation(upload.expires_at)
    if isinstance(upload, services.MultipartUpload):
        return {
            "method": "multipart",
            "part_size": upload.part_size,
            "part_count": upload.part_count,
            "expires_at": expires_at,
        }
    return {"method": "post", "url": upload.url, "fields": upload.fields, "expires_at": expires_at}


def describe_parts(parts: list[storage.PartInfo], media_file: MediaFile) -> dict[str, Any]:
    """Describe the parts S3 holds and the ones it still misses, for a client that resumes."""
    plan = multipart.plan_of(media_file)
    return {
        "part_size": plan.part_size,
        "part_count": plan.part_count,
        "bytes_confirmed": sum(part.size for part in parts),
        "parts": [
            {"part_number": part.part_number, "size": part.size, "etag": part.etag}
            for part in parts
        ],
        "missing": multipart.missing_part_numbers(media_file, parts),
    }


def describe_signed_parts(parts: list[multipart.SignedPart], expires_at: Any) -> dict[str, Any]:
    """Describe freshly signed part URLs."""
    return {
        "expires_at": serializers.DateTimeField().to_representation(expires_at),
        "parts": [
            {"part_number": part.part_number, "url": part.url, "size": part.size} for part in parts
        ],
    }
