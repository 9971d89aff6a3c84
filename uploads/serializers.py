"""Request serializers (validation) and response serializers (representation), kept apart."""

import re
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from uploads import multipart, registry, services, storage
from uploads.limits import SITE
from uploads.models import MediaFile

# RFC 6838 type/subtype names; parameters such as "; charset=" are not accepted for media.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class CreateUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """Validates what a client declares about the file it is about to upload."""

    filename = serializers.CharField(min_length=1, max_length=255, trim_whitespace=False)
    content_type = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)
    field = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="A model field's id (`app_label.model.field`) whose narrower limits apply.",
    )

    def validate_filename(self, value: str) -> str:
        """Reject names that are only white space; the name is display text only."""
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_content_type(self, value: str) -> str:
        """Accept a plain `type/subtype`; the limits are checked with the field's, in validate()."""
        content_type = value.strip().lower()
        if not _MEDIA_TYPE.fullmatch(content_type):
            raise serializers.ValidationError("Enter a media type such as video/mp4.")
        return content_type

    def validate_field(self, value: str) -> str:
        """Accept the id of a declared MediaFileField, or nothing."""
        if value:
            try:
                registry.limits_for(value)
            except registry.UnknownField as error:
                raise serializers.ValidationError("No upload field has this id.") from error
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Apply the site's limits, narrowed by the field's, to the declared type and size."""
        limits = registry.limits_for(attrs["field"]) if attrs.get("field") else SITE
        found = {
            "content_type": limits.type_problem(attrs["content_type"]),
            "size": limits.size_problem(attrs["size"]),
        }
        problems = {name: [problem] for name, problem in found.items() if problem}
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


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


class PostUploadSerializer(serializers.Serializer[storage.PresignedPost]):
    """A signed browser form: POST every field, then the file as the LAST field, named `file`."""

    method = serializers.ChoiceField(choices=["post"])
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        """Add `fields`, a name DRF keeps for itself on a serializer class."""
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.CharField(), help_text="The signed form fields, sent in this order."
        )
        return fields


class MultipartUploadSerializer(serializers.Serializer[services.MultipartUpload]):
    """A multipart plan: `part_count` parts of `part_size` bytes (the last may be smaller)."""

    method = serializers.ChoiceField(choices=["multipart"])
    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField(help_text="The upload's deadline.")


UPLOAD_SCHEMA = PolymorphicProxySerializer(
    component_name="Upload",
    serializers={"post": PostUploadSerializer, "multipart": MultipartUploadSerializer},
    resource_type_field_name="method",
)


@extend_schema_field(UPLOAD_SCHEMA)
class UploadField(serializers.Field):  # type: ignore[type-arg]
    """How the client sends the bytes: a signed POST form, or a multipart plan."""

    def to_representation(self, value: services.UploadAuthorization) -> dict[str, Any]:
        """Describe the authorization with the serializer of its kind."""
        if isinstance(value, services.MultipartUpload):
            return dict(MultipartUploadSerializer(value).data)
        return dict(PostUploadSerializer(value).data)


class CreatedUploadSerializer(MediaFileSerializer):
    """A new record together with the authorization to upload its file."""

    upload = serializers.SerializerMethodField()

    class Meta(MediaFileSerializer.Meta):
        fields = [*MediaFileSerializer.Meta.fields, "upload"]
        read_only_fields = fields

    @extend_schema_field(
        PolymorphicProxySerializer(
            component_name="Upload",
            serializers=UPLOAD_SCHEMA.serializers,
            resource_type_field_name="method",
            allow_null=True,
        )
    )
    def get_upload(self, media_file: MediaFile) -> dict[str, Any] | None:
        """Describe the authorization passed in the context (none for a final record)."""
        upload = self.context.get("upload")
        return None if upload is None else UploadField().to_representation(upload)


class AuthorizationSerializer(serializers.Serializer[Any]):
    """A fresh authorization for a pending record."""

    upload = UploadField()


class SignedPartSerializer(serializers.Serializer[multipart.SignedPart]):
    """A presigned PUT for one part: send exactly `size` bytes, no extra headers."""

    part_number = serializers.IntegerField()
    url = serializers.URLField()
    size = serializers.IntegerField()


class SignedPartsSerializer(serializers.Serializer[multipart.SignedParts]):
    """Part URLs signed together."""

    expires_at = serializers.DateTimeField()
    parts = SignedPartSerializer(many=True)


class HeldPartSerializer(serializers.Serializer[storage.PartInfo]):
    """A part S3 holds."""

    part_number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()


class PartsListingSerializer(serializers.Serializer[multipart.PartsListing]):
    """The parts S3 holds and the planned parts it misses, for a client that resumes."""

    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    bytes_confirmed = serializers.IntegerField()
    parts = HeldPartSerializer(many=True)
    missing = serializers.ListField(child=serializers.IntegerField())


class EventsReceivedSerializer(serializers.Serializer[Any]):
    """How many event records a delivery carried (each acted on, or acknowledged)."""

    received = serializers.IntegerField()


class FieldValueRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """Which model field the uploaded record is to be attached to."""

    field = serializers.CharField(max_length=255)

    def validate_field(self, value: str) -> str:
        """Accept the id of a declared MediaFileField."""
        try:
            registry.limits_for(value)
        except registry.UnknownField as error:
            raise serializers.ValidationError("No upload field has this id.") from error
        return value


class FieldValueSerializer(serializers.Serializer[dict[str, Any]]):
    """The signed value a form field submits to attach the record (valid for a limited time)."""

    value = serializers.CharField()
