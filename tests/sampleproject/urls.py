"""The team's URLs: their admin, API and lesson pages, and the uploads app's one include()."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.sampleproject.library.api import LessonViewSet
from tests.sampleproject.library.views import edit_lesson, watch_lesson

router = SimpleRouter()
router.register("api/lessons", LessonViewSet, basename="lesson")

urlpatterns = [
    path("", include("uploads.urls")),
    path("admin/", admin.site.urls),
    path("", include(router.urls)),
    path("lessons/new/", edit_lesson, name="new-lesson"),
    path("lessons/<int:pk>/", edit_lesson, name="edit-lesson"),
    path("lessons/<int:pk>/watch/", watch_lesson, name="watch-lesson"),
]
