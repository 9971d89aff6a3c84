"""The import paths, static paths and templates host projects name keep working after the
app's modules moved into sub-packages."""

import importlib

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import get_template

from uploads.fields import MediaFileField


@pytest.mark.parametrize(
    "dotted",
    [
        "uploads.middleware.CurrentUser",
        "uploads.middleware.ApiErrorsAsJson",
        "uploads.pagination.MediaFilePagination",
        "uploads.fields.MediaFileField",
        "uploads.services.download_url",
        "uploads.urls.urlpatterns",
        "uploads.models.MediaFile",
        "uploads.rest.MediaFileRelatedField",
        "uploads.signals.media_uploaded",
        "uploads.staticfiles.ManifestStaticFilesStorage",
        "uploads.docs_urls.urlpatterns",
    ],
)
def test_a_public_import_path_works(dotted: str) -> None:
    module, _, name = dotted.rpartition(".")
    assert getattr(importlib.import_module(module), name) is not None


def test_host_migrations_name_the_field_by_its_public_path() -> None:
    _, path, _, _ = MediaFileField(null=True).deconstruct()
    assert path == "uploads.fields.MediaFileField"


def test_the_widgets_script_keeps_its_static_path() -> None:
    assert finders.find("uploads/widget.js")


@pytest.mark.parametrize("name", ["uploads/widgets/media_file.html", "uploads/base.html"])
def test_a_public_template_keeps_its_name(name: str) -> None:
    assert get_template(name)
