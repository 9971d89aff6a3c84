"""How the API shows what analysis found: the `analysis` state, `metadata` and its schema."""

from typing import Any

from rest_framework import serializers

from uploads import protocol
from uploads.analysis.reasons import MESSAGES
from uploads.api.openapi import PolymorphicProxySerializer
from uploads.integration import registry
from uploads.limits import CHECKING
from uploads.models import MediaFile


class AnalysisSerializer(serializers.Serializer[Any]):
    """Where the background analysis of the file stands (it never changes the upload's status)."""

    status = serializers.ChoiceField(
        choices=MediaFile.Analysis.choices,
        help_text="`none` (not asked for: uploaded before analysis existed, or not uploaded), "
        "`pending`, `running`, `done` or `failed`.",
    )
    reason = serializers.ChoiceField(
        choices=sorted(MESSAGES),
        allow_null=True,
        help_text="Why the last attempt failed (while `failed`, or `pending` before a retry).",
    )
    detail = serializers.CharField(allow_null=True, help_text="The reason, for a person.")


class FieldCheckSerializer(serializers.Serializer[Any]):
    """Whether the field the record was uploaded for takes it, by that field's limits."""

    status = serializers.ChoiceField(
        choices=protocol.field_checks(),
        help_text="`checking` while the field's limits wait for the analysis (ask again), "
        "else whether the field's form and API take the file.",
    )
    message = serializers.CharField(allow_null=True, help_text="Why it is refused, for a person.")


def field_check_of(media_file: MediaFile) -> dict[str, Any] | None:
    """Return whether the record's field takes it (None for a record made for no field, or one
    not uploaded): the same rule the form field and the DRF field apply when it is attached."""
    if not media_file.field or media_file.status != MediaFile.Status.UPLOADED:
        return None
    try:
        problem = registry.limits_for(media_file.field).attach_problem(media_file)
    except registry.UnknownField:
        return None
    checking, accepted, refused = protocol.field_checks()
    if problem == CHECKING:
        return {"status": checking, "message": None}
    return {"status": refused if problem else accepted, "message": problem or None}


def analysis_of(media_file: MediaFile) -> dict[str, Any]:
    """Return a record's `analysis` as the API shows it."""
    reason = media_file.analysis_reason or None
    return {
        "status": media_file.analysis_status,
        "reason": reason,
        "detail": MESSAGES.get(reason) if reason else None,
    }


def metadata_of(media_file: MediaFile) -> dict[str, Any] | None:
    """Return what analysis found, or None until it has found it."""
    if media_file.analysis_status != MediaFile.Analysis.DONE:
        return None
    return media_file.metadata or None


# Schema only: the shapes `metadata` takes, one per kind (uploads/analysis/ffmpeg.py, images.py).
class _TimedMetadataSerializer(serializers.Serializer[Any]):
    """What video and audio share: the container and how long it plays."""

    container = serializers.CharField(help_text="The demuxer that read it: mov, matroska…")
    duration = serializers.FloatField(allow_null=True, help_text="Seconds; null when unknown.")
    duration_source = serializers.ChoiceField(
        choices=["header", "tail", "full_read"], allow_null=True
    )
    bit_rate = serializers.IntegerField(allow_null=True, help_text="Bits per second.")


class VideoMetadataSerializer(_TimedMetadataSerializer):
    """What a video is. Sizes are as displayed (rotation applied)."""

    kind = serializers.ChoiceField(choices=["video"])
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    rotation = serializers.IntegerField(help_text="Clockwise degrees: 0, 90, 180 or 270.")
    display_aspect_ratio = serializers.CharField(allow_null=True, help_text='Such as "16:9".')
    frame_rate = serializers.FloatField(allow_null=True)
    video_codec = serializers.CharField()
    audio_codec = serializers.CharField(allow_null=True)
    has_audio = serializers.BooleanField()


class AudioMetadataSerializer(_TimedMetadataSerializer):
    """What an audio file is."""

    kind = serializers.ChoiceField(choices=["audio"])
    codec = serializers.CharField()
    sample_rate = serializers.IntegerField()
    channels = serializers.IntegerField()


class ImageMetadataSerializer(serializers.Serializer[Any]):
    """What an image is. Sizes are as displayed (EXIF orientation applied)."""

    kind = serializers.ChoiceField(choices=["image"])
    format = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    rotation = serializers.IntegerField(help_text="Clockwise degrees the EXIF orientation turns.")
    orientation = serializers.ChoiceField(choices=["landscape", "portrait", "square"])
    animated = serializers.BooleanField()
    frames = serializers.IntegerField()


METADATA_SCHEMA = PolymorphicProxySerializer(
    component_name="MediaMetadata",
    serializers=[VideoMetadataSerializer, AudioMetadataSerializer, ImageMetadataSerializer],
    resource_type_field_name="kind",
    allow_null=True,
)
