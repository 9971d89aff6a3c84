"""Field limits on what analysis found (max_duration, min_width…): the rule, the DRF field, the
API's field_check; and the system checks, keys and command around analysis."""

import uuid
from typing import Any
from unittest.mock import patch

import pytest
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from uploads import keys, tasks
from uploads.analysis.checks import check_analysis
from uploads.api.analysis import field_check_of
from uploads.integration import registry
from uploads.limits import CHECKING, Limits
from uploads.models import MediaFile
from uploads.rest import MediaFileRelatedField

pytestmark = [pytest.mark.django_db]

VIDEO = {"kind": "video", "duration": 10.0, "width": 640, "height": 360}
IMAGE = {"kind": "image", "width": 640, "height": 480}


def analysed(
    user: Any, metadata: dict[str, Any], *, status: str = "done", **fields: Any
) -> MediaFile:
    """An uploaded record of the user's whose analysis stands at `status`."""
    record_id = uuid.uuid4()
    content_type = "video/mp4" if metadata.get("kind") == "video" else "image/png"
    return MediaFile.objects.create(
        id=record_id,
        owner=user,
        key=keys.media_key(record_id, content_type),
        filename="f",
        content_type=content_type,
        size=100,
        status=MediaFile.Status.UPLOADED,
        analysis_status=status,
        metadata=metadata,
        **fields,
    )


NO_DURATION = "This file's duration could not be determined, so it cannot be used here."


@pytest.mark.parametrize(
    ("limits", "metadata", "problem"),
    [
        (
            Limits(max_duration=5),
            VIDEO,
            "This file is 10 seconds long; files here may be at most 5 seconds.",
        ),
        (Limits(max_duration=600), VIDEO, ""),
        (
            Limits(max_duration=60),
            {**VIDEO, "duration": 125},
            "This file is 2 min 5 s long; files here may be at most 1 min.",
        ),
        (
            Limits(min_width=1000),
            IMAGE,
            "This file is 640 pixels wide; it must be at least 1000 pixels wide.",
        ),
        (
            Limits(max_height=400),
            IMAGE,
            "This file is 480 pixels high; it may be at most 400 pixels high.",
        ),
        (Limits(min_width=600, min_height=400), IMAGE, ""),
        (Limits(max_duration=5), {**VIDEO, "duration": None}, NO_DURATION),
        (Limits(max_duration=5), IMAGE, NO_DURATION),
        (Limits(), VIDEO, ""),
    ],
)
def test_the_rule_says_what_breaks_the_limit(limits: Limits, metadata: Any, problem: str) -> None:
    assert limits.analysis_problem("done", metadata) == problem


@pytest.mark.parametrize("status", ["none", "pending", "running"])
def test_a_file_still_being_analysed_is_not_judged_yet(status: str) -> None:
    assert Limits(max_duration=5).analysis_problem(status, {}) == CHECKING
    assert Limits().analysis_problem(status, {}) == ""  # no analysed limit: nothing to wait for


def test_the_bounds_are_said_in_words() -> None:
    assert Limits(max_duration=5).describe_bounds() == "At most 5 seconds long."
    assert Limits(min_width=1000, max_height=4000).describe_bounds() == (
        "At least 1000 pixels wide; at most 4000 pixels high."
    )
    assert Limits(max_bytes=10).describe_bounds() == ""


def test_a_file_that_failed_analysis_cannot_meet_an_analysed_limit() -> None:
    assert "could not be checked" in Limits(min_width=1).analysis_problem("failed", {})


class Clip(serializers.Serializer[Any]):
    """What an API of the integrator's might take: a short clip."""

    clip = MediaFileRelatedField(max_duration=5)


def clean(user: Any, value: str) -> tuple[bool, Any]:
    """Validate {"clip": value} as `user`."""
    request = APIRequestFactory().post("/")
    request.user = user
    serializer = Clip(data={"clip": value}, context={"request": request})
    return serializer.is_valid(), serializer.errors


def test_the_drf_field_refuses_a_clip_too_long_with_the_message(user: Any) -> None:
    long = analysed(user, VIDEO)
    assert clean(user, str(long.pk)) == (
        False,
        {"clip": ["This file is 10 seconds long; files here may be at most 5 seconds."]},
    )
    short = analysed(user, {**VIDEO, "duration": 4.5})
    assert clean(user, str(short.pk)) == (True, {})
    checking = analysed(user, VIDEO, status="pending")
    assert clean(user, str(checking.pk)) == (False, {"clip": [CHECKING]})


def test_the_api_says_whether_the_field_takes_the_file(user: Any, monkeypatch: Any) -> None:
    declared = registry.DeclaredField("demo.trailer.clip", Limits(max_duration=5), MediaFile, "x")
    monkeypatch.setitem(registry._FIELDS, declared.field_id, declared)
    long = analysed(user, VIDEO, field=declared.field_id)
    assert field_check_of(long) == {
        "status": "refused",
        "message": "This file is 10 seconds long; files here may be at most 5 seconds.",
    }
    pending = analysed(user, VIDEO, status="running", field=declared.field_id)
    assert field_check_of(pending) == {"status": "checking", "message": None}
    fine = analysed(user, {**VIDEO, "duration": 3}, field=declared.field_id)
    assert field_check_of(fine) == {"status": "accepted", "message": None}
    assert field_check_of(analysed(user, VIDEO)) is None  # made for no field


def test_the_derived_prefix_must_be_its_own(settings: Any) -> None:
    assert not [m for m in check_analysis() if m.id == "uploads.E020"]
    settings.UPLOAD_DERIVED_PREFIX = "media/derived/"
    assert [m.id for m in check_analysis() if m.level >= 40] == ["uploads.E020"]
    settings.UPLOAD_DERIVED_PREFIX = ""
    assert "uploads.E020" in {m.id for m in check_analysis()}


def test_a_backend_that_runs_no_worker_is_warned_about(settings: Any) -> None:
    assert "uploads.W006" not in {m.id for m in check_analysis()}
    settings.UPLOAD_TASKS_BACKEND = "no-such-alias"
    assert tasks.worker_backend() is None
    assert "uploads.W006" in {m.id for m in check_analysis()}


@pytest.mark.parametrize("backend", ["ImmediateBackend", "DummyBackend"])
def test_backends_that_run_nothing_in_a_worker_get_nothing(backend: str) -> None:
    framework = tasks.framework()
    module = "immediate" if backend == "ImmediateBackend" else "dummy"
    cls = import_string(f"{framework}.backends.{module}.{backend}")
    not_a_worker = cls(alias="default", params={"QUEUES": ["default"]})
    assert tasks._FRAMEWORK is not None
    with patch.dict(tasks._FRAMEWORK[1]._connections.__dict__, {"default": not_a_worker}):
        assert tasks.worker_backend() is None


def test_with_analysis_off_nothing_is_checked(settings: Any) -> None:
    settings.UPLOAD_ANALYSIS = False
    settings.UPLOAD_TASKS_BACKEND = "no-such-alias"
    assert check_analysis() == []
    assert tasks.enqueue_analysis(uuid.uuid4()) is False


def test_an_unknown_derived_format_is_an_error(settings: Any) -> None:
    settings.UPLOAD_DERIVED_FORMAT = "gif"
    assert "uploads.E019" in {m.id for m in check_analysis()}


def test_derived_keys_name_their_record() -> None:
    media_id = uuid.uuid4()
    key = keys.derived_key(media_id, "poster", "webp")
    assert key == f"derived/{media_id}/poster.webp"
    assert keys.derived_owner(key) == media_id
    for other in (f"media/{media_id}.mp4", f"derived/{media_id}/../x", "derived/nope/poster.webp"):
        assert keys.derived_owner(other) is None


def test_reanalyze_needs_a_choice(user: Any) -> None:
    with pytest.raises(CommandError, match="--all"):
        call_command("reanalyze_uploads")
