"""The app's background task on Django's tasks framework: `django.tasks` on Django 6, the
`django-tasks` backport on 5.2 (the `analysis` extra), whichever backend the project configures.

This is the one module that knows which framework is installed. Enqueued on the backend named by
UPLOAD_TASKS_BACKEND; a backend that runs tasks in the request (Immediate) or never (Dummy) gets
nothing: records stay `pending` until a worker backend is configured (a system check says so).
"""

import importlib
import logging
import uuid
from contextlib import suppress
from datetime import datetime
from typing import Any

from uploads import conf

logger = logging.getLogger(__name__)


def _load() -> tuple[Any, Any, type[Exception], tuple[type, ...]] | None:
    """Return the installed framework's task decorator, backend handler, unknown-backend error
    and the backends that run no worker; None when neither framework is installed."""
    for package, error_name in (
        ("django.tasks", "InvalidTaskBackend"),  # Django 6
        ("django_tasks", "InvalidTaskBackendError"),  # the backport, on 5.2
    ):
        try:
            framework = importlib.import_module(package)
            errors = importlib.import_module(f"{package}.exceptions")
            dummy = importlib.import_module(f"{package}.backends.dummy").DummyBackend
            immediate = importlib.import_module(f"{package}.backends.immediate").ImmediateBackend
        except ImportError:
            continue
        return (
            framework.task,
            framework.task_backends,
            getattr(errors, error_name),
            (dummy, immediate),
        )
    return None


_FRAMEWORK = _load()


def framework() -> str:
    """Name the tasks framework in use ('' when none is installed)."""
    if _FRAMEWORK is None:
        return ""
    return str(_FRAMEWORK[0].__module__).rpartition(".base")[0] or _FRAMEWORK[0].__module__


def worker_backend() -> Any | None:
    """Return the backend analysis is enqueued on, or None when there is none that runs tasks
    in a worker (no framework, an unknown alias, or the Immediate or Dummy backend)."""
    if _FRAMEWORK is None:
        return None
    _, backends, unknown, not_workers = _FRAMEWORK
    try:
        backend = backends[conf.tasks_backend()]
    except unknown:
        return None
    return None if isinstance(backend, not_workers) else backend


def analyze_media(media_id: str, reanalysis: bool = False) -> str:
    """Analyse one uploaded file (idempotent: the record's lease decides who does the work)."""
    from uploads.analysis import run

    return run.analyze(uuid.UUID(media_id), reanalysis=reanalysis)


def purge_media(field_id: str, media_ids: list[str]) -> int:
    """Delete the files a deleted object's field held, if they were uploaded for that field and
    nothing holds them now; return how many were deleted."""
    from uploads.integration import purging

    return purging.purge(field_id, [uuid.UUID(media_id) for media_id in media_ids])


if _FRAMEWORK is not None:
    # Decorated under their own names: a worker imports `uploads.tasks.analyze_media` to run it.
    # An unknown alias leaves them undecorated: worker_backend() is None and nothing is enqueued.
    with suppress(_FRAMEWORK[2]):
        analyze_media = _FRAMEWORK[0](backend=conf.tasks_backend())(analyze_media)
        purge_media = _FRAMEWORK[0](backend=conf.tasks_backend())(purge_media)


def enqueue_purge(field_id: str, media_ids: list[uuid.UUID]) -> bool:
    """Hand the deletion of a deleted object's files to a worker; tell whether it was enqueued
    (without a worker backend, `clean_unattached_uploads` deletes them after its grace)."""
    if worker_backend() is None:
        return False
    try:
        purge_media.using(backend=conf.tasks_backend()).enqueue(  # type: ignore[attr-defined]
            field_id, [str(media_id) for media_id in media_ids]
        )
    except Exception:
        logger.exception("Could not enqueue the purge of %s's files", field_id)
        return False
    return True


def enqueue_analysis(
    media_id: uuid.UUID, *, reanalysis: bool = False, run_after: datetime | None = None
) -> bool:
    """Hand a record's analysis to a worker; tell whether it was enqueued. A failure to enqueue
    is logged, not raised: the record stays pending and the sweep enqueues it again."""
    backend = worker_backend()
    if backend is None or not conf.analysis_enabled():
        return False
    options: dict[str, Any] = {"backend": conf.tasks_backend()}
    if run_after is not None and backend.supports_defer:
        options["run_after"] = run_after
    try:
        analyze_media.using(**options).enqueue(str(media_id), reanalysis)  # type: ignore[attr-defined]
    except Exception:
        logger.exception("Could not enqueue the analysis of upload %s", media_id)
        return False
    return True
