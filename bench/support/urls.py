"""The app's URLs, plus the bench-only endpoints (and django-s3-file-field's, when installed)."""

from django.conf import settings
from django.urls import include, path

from bench.support import views
from mediaupload.urls import urlpatterns as app_urlpatterns

urlpatterns = [
    path("bench/baseline-create/", views.BaselineCreate.as_view(), name="bench-baseline"),
    path("bench/proxied/<str:filename>", views.ProxiedUpload.as_view(), name="bench-proxied"),
    *app_urlpatterns,
]
if getattr(settings, "HAS_S3FF", False):
    urlpatterns.append(path("api/s3-upload/", include("s3_file_field.urls")))
