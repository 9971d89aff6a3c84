"""Request serializers (validation) and response serializers (representation), kept apart."""

import re
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from uploads import conf, multipart, services, storage
from uploads.api import analysis as analysis_api
from uploads.api.base import DATETIME_FORMAT
from uploads.api.openapi import PolymorphicProxySerializer, extend_schema_field
from uploads.integration import registry
from uploads.limits import SITE
from uploads.models import MediaFile

# RFC 6838 type/subtype names; parameters such as "; charset=" are not accepted for media.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


# Field classes whose representation depends only on the value (not on the serializer they are
# bound to, nor its context): a serializer made of these can reuse one set of fields.
_PLAIN_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,  # and URLField, EmailField…
    serializers.ChoiceField,
    serializers.DateTimeField,
    serializers.DictField,
    serializers.IntegerField,
    serializers.ListField,
    serializers.ReadOnlyField,
    serializers.UUIDField,
)
_plans: dict[type, list[serializers.Field] | None] = {}  # type: ignore[type-arg]


@receiver(setting_changed)
def _forget_plans(**kwargs: Any) -> None:
    """Field formats come from the settings (DATETIME_FORMAT…): build the fields again."""
    _plans.clear()


def _plan(cls: type["FastRepresentation"]) -> list[serializers.Field] | None:  # type: ignore[type-arg]
    """The readable fields of one instance of `cls`, kept for every later instance, or None when
    one of them may depend on its serializer (DRF then builds the fields as usual)."""
    if cls in _plans:
        return _plans[cls]
    fields: list[serializers.Field] | None = list(cls()._readable_fields)  # type: ignore[type-arg]
    for field in fields or []:
        plain = isinstance(field, serializers.SerializerMethodField) or (
            isinstance(field, _PLAIN_FIELDS)
            and not isinstance(getattr(field, "child", None), serializers.BaseSerializer)
        )
        # A nested serializer kept with its parent's first instance would see that instance's
        # context: it qualifies only if nothing in it reads the context (no method fields).
        inner = field.child if isinstance(field, serializers.ListSerializer) else field
        nested = isinstance(inner, FastRepresentation) and _context_free(type(inner))
        if not (plain or nested):
            fields = None
            break
    _plans[cls] = fields
    return fields


def _context_free(cls: type["FastRepresentation"]) -> bool:
    """Tell whether a serializer's representation depends on its values alone (no context)."""
    fields = _plan(cls)
    return fields is not None and not any(
        isinstance(field, serializers.SerializerMethodField) for field in fields
    )


class FastRepresentation(serializers.Serializer[Any]):
    """DRF's `to_representation`, without building the serializer's fields for every instance.

    DRF deep-copies and binds a serializer's fields (and, for a ModelSerializer, derives them from
    the model) each time one is instantiated: most of the cost of answering with a record. The
    fields of a first instance are kept and reused when each one's representation depends only on
    the value; method fields are called on the serializer at hand, so its context applies. The
    output is DRF's own, key for key. UPLOAD_SPEED_SHORTCUTS = False (read on every call) leaves
    every representation to DRF's own `to_representation`.
    """

    def to_representation(self, instance: Any) -> Any:
        """Object instance -> dict of primitive datatypes, as DRF's Serializer makes it."""
        fields = _plan(type(self)) if conf.speed_shortcuts() else None
        if fields is None:
            return super().to_representation(instance)
        representation: dict[str, Any] = {}
        for field in fields:
            if isinstance(field, serializers.SerializerMethodField):
                representation[str(field.field_name)] = getattr(self, field.method_name)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            name = str(field.field_name)
            if check_for_none is None:
                representation[name] = None
            else:
                representation[name] = field.to_representation(attribute)
        return representation


def declared_field(value: str) -> None:
    """Accept only the id of a declared MediaFileField."""
    try:
        registry.limits_for(value)
    except registry.UnknownField as error:
        raise serializers.ValidationError("No upload field has this id.") from error


class CreateUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """Validates what a client declares about the file it is about to upload."""

    filename = serializers.CharField(min_length=1, max_length=255, trim_whitespace=False)
    content_type = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)
    field = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        validators=[declared_field],  # not run on a blank value
        help_text="A model field's id (`app_label.model.field`) whose narrower limits apply.",
    )
    first_part_count = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=multipart.MAX_PARTS_PER_REQUEST,
        help_text=(
            "Multipart only: how many part URLs to sign with the answer (default: two rounds of "
            "UPLOAD_PARALLEL_PARTS). A fast client asks for more and makes fewer parts/ calls."
        ),
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


class PartETagSerializer(serializers.Serializer[dict[str, Any]]):
    """A part the client sent, and the ETag S3 answered it with (the schema of one list item)."""

    part_number = serializers.IntegerField(min_value=1, max_value=conf.MULTIPART_MAX_PARTS)
    etag = serializers.CharField(max_length=252, help_text="As S3 sent it, quoted or not.")


# An ETag as S3 sends it in a header: printable ASCII without spaces or inner quotes.
_ETAG = re.compile(r'"?[!#-~]{1,250}"?')


@extend_schema_field(PartETagSerializer(many=True))
class PartETagsField(serializers.Field):  # type: ignore[type-arg]
    """Every part of a multipart upload with its ETag, checked in one pass (a nested serializer
    per item takes ~18 µs; 10,000 parts would take a fifth of a second)."""

    default_error_messages = {
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "empty": "This list may not be empty.",
        "max_length": "Ensure this field has no more than {max_length} elements.",
        "item": (
            "Item {index}: send an object with part_number (1 to {most}) and etag (as S3 sent it)."
        ),
        "twice": "Name each part once (part {number} is named twice).",
    }

    def to_internal_value(self, data: Any) -> dict[int, str]:
        """Return part number → quoted ETag."""
        most = conf.MULTIPART_MAX_PARTS
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > most:
            self.fail("max_length", max_length=most)
        etags: dict[int, str] = {}
        for index, item in enumerate(data, 1):
            number = item.get("part_number") if isinstance(item, dict) else None
            etag = item.get("etag") if isinstance(item, dict) else None
            if type(number) is not int or not 1 <= number <= most:
                self.fail("item", index=index, most=most)
            if not isinstance(etag, str) or not _ETAG.fullmatch(etag):
                self.fail("item", index=index, most=most)
            if number in etags:
                self.fail("twice", number=number)
            etags[number] = '"' + etag.strip('"') + '"'  # S3 is sent the quoted form
        return etags

    def to_representation(self, value: dict[int, str]) -> list[dict[str, Any]]:
        """Show the parts as a list again."""
        return [{"part_number": number, "etag": etag} for number, etag in sorted(value.items())]


class CompleteRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """What a client may add when it says its upload is complete."""

    parts = PartETagsField(
        required=False,
        help_text=(
            "Multipart only, optional: every part with its ETag. S3 checks them as it assembles "
            "the file, which spares the server listing the parts; without them, or if S3 refuses "
            "them, the server uses the parts S3 lists."
        ),
    )


class MediaFileSerializer(FastRepresentation, serializers.ModelSerializer[MediaFile]):
    """A record as the API shows it to its owner."""

    download_url = serializers.SerializerMethodField()
    upload_method = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    field_check = serializers.SerializerMethodField()

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
            "analysis",
            "metadata",
            "poster_url",
            "thumbnail_url",
            "field_check",
        ]
        read_only_fields = fields
        extra_kwargs = {name: {"format": DATETIME_FORMAT} for name in ("created_at", "uploaded_at")}

    def get_download_url(self, media_file: MediaFile) -> str | None:
        """Return a short-lived signed GET for uploaded records."""
        return services.download_url(media_file)

    def get_upload_method(self, media_file: MediaFile) -> str:
        """Say whether the file goes up as one POST or in multipart parts."""
        return "multipart" if media_file.is_multipart else "post"

    @extend_schema_field(analysis_api.AnalysisSerializer)
    def get_analysis(self, media_file: MediaFile) -> dict[str, Any]:
        """Say where the background analysis stands."""
        return analysis_api.analysis_of(media_file)

    @extend_schema_field(analysis_api.METADATA_SCHEMA)
    def get_metadata(self, media_file: MediaFile) -> dict[str, Any] | None:
        """Return what analysis found (null until it is done)."""
        return analysis_api.metadata_of(media_file)

    def get_poster_url(self, media_file: MediaFile) -> str | None:
        """Return a short-lived link to a video's poster frame, once analysis made it."""
        return services.derived_url(media_file, "poster")

    @extend_schema_field(analysis_api.FieldCheckSerializer(allow_null=True))
    def get_field_check(self, media_file: MediaFile) -> dict[str, Any] | None:
        """Say whether the field the file was uploaded for takes it (null without a field)."""
        return analysis_api.field_check_of(media_file)

    def get_thumbnail_url(self, media_file: MediaFile) -> str | None:
        """Return a short-lived link to a small image of a video or image, once analysis made it."""
        return services.derived_url(media_file, "thumbnail")


class CompletedSerializer(MediaFileSerializer):
    """A completed record, with the signed value its form field submits (null without a field)."""

    field_value = serializers.CharField(
        allow_null=True,
        read_only=True,
        help_text="For a record created for a model field: the value that field's form submits.",
    )

    class Meta(MediaFileSerializer.Meta):
        fields = [*MediaFileSerializer.Meta.fields, "field_value"]
        read_only_fields = fields


class PostUploadSerializer(FastRepresentation, serializers.Serializer[storage.PresignedPost]):
    """A signed browser form: POST every field, then the file as the LAST field, named `file`."""

    method = serializers.ChoiceField(choices=["post"])
    url = serializers.URLField()
    expires_at = serializers.DateTimeField(format=DATETIME_FORMAT)

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        """Add `fields`, a name DRF keeps for itself on a serializer class."""
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.CharField(), help_text="The signed form fields, sent in this order."
        )
        return fields


class SignedPartSerializer(FastRepresentation, serializers.Serializer[multipart.SignedPart]):
    """A presigned PUT for one part: send exactly `size` bytes, no extra headers."""

    part_number = serializers.IntegerField()
    url = serializers.URLField()
    size = serializers.IntegerField()


class SignedPartsSerializer(FastRepresentation, serializers.Serializer[multipart.SignedParts]):
    """Part URLs signed together."""

    expires_at = serializers.DateTimeField(format=DATETIME_FORMAT)
    parts = SignedPartSerializer(many=True)


class MultipartUploadSerializer(
    FastRepresentation, serializers.Serializer[services.MultipartUpload]
):
    """A multipart plan: `part_count` parts of `part_size` bytes (the last may be smaller)."""

    method = serializers.ChoiceField(choices=["multipart"])
    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField(
        format=DATETIME_FORMAT, help_text="The upload's deadline."
    )
    first_parts = SignedPartsSerializer(
        required=False,
        allow_null=True,
        help_text="URLs for the first parts of a new upload (absent: ask parts/ for every part).",
    )


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


class HeldPartSerializer(FastRepresentation, serializers.Serializer[storage.PartInfo]):
    """A part S3 holds."""

    part_number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()


class PartsListingSerializer(FastRepresentation, serializers.Serializer[multipart.PartsListing]):
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

    field = serializers.CharField(max_length=255, validators=[declared_field])


class FieldValueSerializer(serializers.Serializer[dict[str, Any]]):
    """The signed value a form field submits to attach the record (valid for a limited time)."""

    value = serializers.CharField()
