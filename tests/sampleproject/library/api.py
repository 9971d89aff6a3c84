"""The team's API: lessons, whose video an API client attaches by its upload's id."""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from tests.sampleproject.library.models import Lesson
from uploads.rest import MediaFileRelatedField


class LessonSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A lesson; `video` takes the id of the client's own uploaded video."""

    video = MediaFileRelatedField(field="library.lesson.video")

    class Meta:
        model = Lesson
        fields = ["id", "title", "video"]


class LessonViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Create and read lessons."""

    serializer_class = LessonSerializer

    def get_queryset(self) -> QuerySet[Lesson]:
        """Every lesson (the sample has no owners of its own)."""
        return Lesson.objects.all()

    def perform_create(self, serializer: Any) -> None:
        """Save the lesson."""
        serializer.save()
