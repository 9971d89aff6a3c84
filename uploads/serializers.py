"""Request serializers (validation) and response serializers (representation), kept apart."""

import re
from typing import Any

from django.template.defaultfilters import filesizeformat
from rest_framework import serializers

from uploads import conf, services, storage
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
        return content_type

    def validate_size(self, value: int) -> int:
        """Keep the declared size within UPLOAD_MAX_BYTES (read now, so settings may change)."""
        limit = conf.max_bytes()
        if value > limit:
            raise serializers.ValidationError(
                f"Files larger than {filesizeformat(limit)} ({limit} bytes) are not accepted."
            )
        return value


class MediaFileSerializer(serializers.ModelSerializer[MediaFile]):
    """A record as the API shows it to its owner."""

    download_url = serializers.SerializerMethodField()

    class Meta:
        model = MediaFile
        fields = [
            "id",
            "key",
            "filename",
            "content_type",
            "size",
            "status",
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


class CreatedUploadSerializer(MediaFileSerializer):
    """A new record together with the authorisation to upload its file."""

    upload = serializers.SerializerMethodField()

    class Meta(MediaFileSerializer.Meta):
        fields = [*MediaFileSerializer.Meta.fields, "upload"]
        read_only_fields = fields

    def get_upload(self, media_file: MediaFile) -> dict[str, Any]:
        """Describe the signed browser form passed in the context."""
        upload: storage.PresignedPost = self.context["upload"]
        return {
            "method": "POST",
            "url": upload.url,
            "fields": upload.fields,
            "expires_at": serializers.DateTimeField().to_representation(upload.expires_at),
        }
