"""The team's URLs: their admin, their API, and the uploads app's one include()."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.sampleproject.library.api import LessonViewSet

router = SimpleRouter()
router.register("api/lessons", LessonViewSet, basename="lesson")

urlpatterns = [
    path("", include("uploads.urls")),
    path("admin/", admin.site.urls),
    path("", include(router.urls)),
]
