"""System checks for analysis: a worker to run it, the tools it calls, and where its files go."""

import shutil
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Warning, register

from uploads import conf, tasks
from uploads.extras import installed

DERIVED_FORMATS = ("webp", "jpeg")


@register()
def check_analysis(
    *, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report what would keep uploaded files from being analysed, or put derived files at risk."""
    if not conf.analysis_enabled():
        return []
    problems: list[CheckMessage] = [*_worker_problems(), *_prefix_problems()]
    if conf.analysis().derived_format not in DERIVED_FORMATS:
        problems.append(
            Error(
                f"UPLOAD_DERIVED_FORMAT must be one of {', '.join(DERIVED_FORMATS)}.",
                id="uploads.E019",
            )
        )
    return problems


def _worker_problems() -> list[CheckMessage]:
    """A worker backend, ffmpeg and Pillow: without them files stay pending or fail analysis."""
    if not tasks.framework():
        return [
            Warning(
                "Uploaded files are not analysed: no tasks framework is installed.",
                hint="Install the `analysis` extra (django-tasks-db; the django-tasks backport "
                "on Django 5.2) and configure TASKS with a worker backend, or set "
                "UPLOAD_ANALYSIS = False.",
                id="uploads.W006",
            )
        ]
    if tasks.worker_backend() is None:
        # Nothing runs the task, so what it would need is beside the point.
        return [
            Warning(
                f"Uploaded files wait for analysis: TASKS[{conf.tasks_backend()!r}] is missing "
                "or runs tasks in the request (Immediate) or never (Dummy).",
                hint="Use a worker backend such as django_tasks_db.DatabaseBackend and run "
                "`manage.py db_worker` (records stay `pending` until then), or set "
                "UPLOAD_ANALYSIS = False.",
                id="uploads.W006",
            )
        ]
    problems: list[CheckMessage] = []
    missing = [tool for tool in ("ffprobe", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        problems.append(
            Warning(
                f"{' and '.join(missing)} not found: video and audio analysis will fail.",
                hint="Install ffmpeg on the machines that run the task workers.",
                id="uploads.W007",
            )
        )
    if not installed("PIL"):
        problems.append(
            Warning(
                "Pillow is not installed: image analysis and thumbnails will fail.",
                hint="Install the `analysis` extra.",
                id="uploads.W008",
            )
        )
    return problems


def _prefix_problems() -> list[CheckMessage]:
    """Derived files need a prefix of their own: browsers write under the other two."""
    derived = conf.derived_prefix()
    others = {"UPLOAD_KEY_PREFIX": conf.key_prefix(), "UPLOAD_MEDIA_PREFIX": conf.media_prefix()}
    clashes = [
        name
        for name, prefix in others.items()
        if not derived or derived.startswith(prefix) or prefix.startswith(derived)
    ]
    if not clashes:
        return []
    return [
        Error(
            f"UPLOAD_DERIVED_PREFIX ({derived!r}) overlaps {' and '.join(clashes)}.",
            hint="Give posters and thumbnails a prefix of their own, such as 'derived/'.",
            id="uploads.E020",
        )
    ]
