"""pytest fixtures for projects that use the app (registered by the package's `pytest11` entry
point; they need pytest-django's database): see uploads/testing.py.

    def test_episode_form(media_file_factory, media_field_value, django_user_model):
        user = django_user_model.objects.create_user("ada")
        field = "shows.episode.video"
        video = media_file_factory(owner=user, content_type="video/mp4", field=field)
        data = {"title": "Pilot", "video": media_field_value(video, field)}
"""

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def media_file_factory(db: None) -> Callable[..., Any]:
    """Make `uploaded` MediaFile records (uploads.testing.uploaded_media_file)."""
    from uploads.testing import uploaded_media_file

    return uploaded_media_file


@pytest.fixture
def media_field_value() -> Callable[[Any, str], str]:
    """Give the value a form's upload field submits for a record (uploads.testing.field_value)."""
    from uploads.testing import field_value

    return field_value
