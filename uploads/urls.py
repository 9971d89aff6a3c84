"""Routes of the uploads app: the API under /api/media/, storage events and the uploader page."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from uploads import views

app_name = "uploads"

router = SimpleRouter()
router.register("api/media", views.MediaFileViewSet, basename="media")

urlpatterns = [
    path("upload/", views.uploader, name="uploader"),
    path("api/s3-events/", views.StorageEventsView.as_view(), name="storage-events"),
    path("", include(router.urls)),
]
