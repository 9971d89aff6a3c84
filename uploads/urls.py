"""Routes of the uploads app: the API under /api/, the uploader page and each upload's page."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from uploads.api import views
from uploads.api.errors import unknown_api_url
from uploads.web import pages

app_name = "uploads"

router = SimpleRouter()
router.register("api/media", views.MediaFileViewSet, basename="media")

urlpatterns = [
    path("upload/", pages.uploader, name="uploader"),
    path("uploads/<uuid:pk>/", pages.media_page, name="detail"),
    path("uploads/<uuid:pk>/delete/", pages.delete_media, name="delete"),
    path("api/s3-events/", views.StorageEventsView.as_view(), name="storage-events"),
    path("", include(router.urls)),
    # Last: any other URL under the app's API prefixes is a 404 in the API's JSON shape (the
    # project's own URLs under /api/ are untouched).
    re_path(r"^api/(?:media|s3-events)/", unknown_api_url, name="api-unknown"),
]
