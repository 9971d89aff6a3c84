"""One record's analysis, start to end: take the lease, read the verified object through a
short-lived signed URL, store what it is and the poster or thumbnail, then tell listeners.

The work is idempotent: derived files have fixed keys, the result is saved only while the lease
holds, and `media_analyzed` is sent only by the run that saved.
"""

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from uploads import conf, keys, storage, tasks
from uploads.analysis import ffmpeg, images, state, tools
from uploads.analysis.proxy import RangeProxy
from uploads.analysis.reasons import AnalysisFailed
from uploads.models import MediaFile
from uploads.signals import media_analyzed

logger = logging.getLogger("uploads.analysis")

# Enough of a large image for Pillow to read its size, orientation and frame count.
IMAGE_HEADER_BYTES = 1024**2
_FORMATS = {"webp": "image/webp", "jpeg": "image/jpeg"}
_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}


@dataclass
class Findings:
    """What one attempt found: the metadata and the derived files to store (kind → bytes)."""

    metadata: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def analyze(media_id: uuid.UUID, *, reanalysis: bool = False) -> str:
    """Run one attempt on a record if it is due; return what happened ('done', 'failed',
    'retry', or 'skipped' when there was nothing to do)."""
    lease = state.start(media_id)
    if lease is None:
        return "skipped"
    record = lease.record
    try:
        findings = inspect(record)
    except AnalysisFailed as failure:
        return _failed(lease, failure, reanalysis=reanalysis)
    except storage.StorageError:
        return _failed(lease, AnalysisFailed("storage"), reanalysis=reanalysis)
    except Exception:
        # Never the traceback's text in a reason: it may quote a signed URL. The log has it.
        logger.exception("Analysis of upload %s stopped on an unexpected error", record.pk)
        return _failed(lease, AnalysisFailed("internal"), reanalysis=reanalysis)
    try:
        derived = _store(record, findings.files)
    except storage.StorageError:
        logger.warning("Upload %s: could not store its derived files", record.pk)
        return _failed(lease, AnalysisFailed("storage"), reanalysis=reanalysis)
    if not state.finish(lease, metadata=findings.metadata, derived=derived):
        logger.warning("Upload %s: analysis lease lost; its result was not saved", record.pk)
        if not MediaFile.objects.filter(pk=record.pk).exists():
            _forget_replaced(derived, {})  # deleted meanwhile: nothing will ever name these
        return "skipped"
    _forget_replaced(record.derived, derived)
    record.refresh_from_db()
    logger.info("upload %s analysed: %s", record.pk, record.metadata.get("kind"))
    media_analyzed.send(sender=MediaFile, media_file=record, reanalysis=reanalysis)
    return "done"


def _failed(lease: state.Lease, failure: AnalysisFailed, *, reanalysis: bool) -> str:
    """Retry a passing failure later while attempts remain; otherwise mark the analysis failed."""
    record = lease.record
    if failure.transient and record.analysis_attempts < conf.analysis().max_attempts:
        due = state.retry_later(lease, reason=failure.reason)
        if due is not None:
            tasks.enqueue_analysis(record.pk, reanalysis=reanalysis, run_after=due)
        logger.warning("upload %s analysis will be retried: %s", record.pk, failure.reason)
        return "retry"
    if state.fail(lease, reason=failure.reason):
        logger.warning("upload %s analysis failed: %s", record.pk, failure.reason)
        record.refresh_from_db()
        media_analyzed.send(sender=MediaFile, media_file=record, reanalysis=reanalysis)
    return "failed"


def inspect(record: MediaFile) -> Findings:
    """Work out what the record's object is, and make its poster or thumbnail."""
    kind = record.kind
    settings = conf.analysis()
    if kind == "image":
        return _inspect_image(record, settings)
    if kind not in ("video", "audio"):
        raise AnalysisFailed("no_decoder")
    # The URL lives as long as the lease: nothing the worker holds outlives its attempt.
    url = storage.presign_inline(
        key=record.key, expires_in=int(state.lease_length().total_seconds())
    )
    limits = tools.Limits(timeout=settings.timeout, memory_bytes=settings.memory_bytes)
    with RangeProxy(url) as proxy:
        metadata = ffmpeg.probe(
            proxy.local_url,
            content_type=record.content_type,
            size=record.size,
            limits=limits,
            full_read_max=settings.full_read_max,
        )
        findings = Findings(metadata)
        if kind == "video":
            poster = ffmpeg.poster(
                proxy.local_url,
                content_type=record.content_type,
                limits=limits,
                max_side=settings.poster_size,
                image_format=settings.derived_format,
            )
            findings.files["poster"] = poster
            findings.files["thumbnail"] = images.shrink(
                poster, max_side=settings.thumbnail_size, image_format=settings.derived_format
            )
        logger.info("upload %s: read %d of %d bytes", record.pk, proxy.bytes_read, record.size)
    return findings


def _inspect_image(record: MediaFile, settings: conf.AnalysisSettings) -> Findings:
    """Read a small image whole (metadata and thumbnail), a large one's header only."""
    images.set_pixel_limit(settings.max_pixels)
    if record.size > settings.image_max_bytes:
        _, head = storage.read_start(key=record.key, length=IMAGE_HEADER_BYTES)
        return Findings(
            images.inspect_image(
                head, content_type=record.content_type, max_pixels=settings.max_pixels
            )
        )
    data = storage.read_object(record.key)
    findings = Findings(
        images.inspect_image(data, content_type=record.content_type, max_pixels=settings.max_pixels)
    )
    findings.files["thumbnail"] = images.thumbnail(
        data,
        content_type=record.content_type,
        max_side=settings.thumbnail_size,
        image_format=settings.derived_format,
        max_pixels=settings.max_pixels,
    )
    return findings


def _store(record: MediaFile, files: dict[str, bytes]) -> dict[str, str]:
    """Put each derived file under its fixed key; return kind → key."""
    image_format = conf.analysis().derived_format
    stored = {}
    for kind, body in files.items():
        key = keys.derived_key(record.pk, kind, _EXTENSIONS[image_format])
        storage.put_object(key=key, body=body, content_type=_FORMATS[image_format])
        stored[kind] = key
    return stored


def _forget_replaced(before: dict[str, str], after: dict[str, str]) -> None:
    """Delete derived files an earlier run made that this one did not replace (another format)."""
    for key in set(before.values()) - set(after.values()):
        try:
            storage.delete_object(key)
        except storage.StorageError:
            logger.warning("Could not delete the replaced derived file %s", key)
