"""Storage events: S3 event notifications pushed by the bucket settle records without the browser.

Two deliveries are accepted. Direct pushes of S3 event JSON (Ceph RGW topics with a push endpoint,
MinIO webhooks) carry `UPLOAD_EVENTS_SECRET`, as `Authorization: Bearer <secret>` or as each
record's `opaqueData` (RGW copies a topic's OpaqueData there). AWS SNS deliveries are trusted by
their signature, topic and freshness instead (`sns.py`), and each is acted on once per MessageId
(`sns_deliveries.py`).
"""

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from uploads import completion, conf, keys, storage
from uploads.errors import UploadConflict
from uploads.events import sns, sns_deliveries
from uploads.models import MediaFile

logger = logging.getLogger(__name__)


class EventsMalformed(Exception):
    """The body is not an event notification we can read (HTTP 400)."""


class EventsForbidden(Exception):
    """The sender is not trusted: no secret configured, or a wrong one (HTTP 403)."""


class EventsUnavailable(Exception):
    """An SNS delivery that cannot be verified now; SNS retries it on a 503 (unlike a 403)."""


@dataclass(frozen=True)
class ObjectEvent:
    """One record of an S3 event notification."""

    name: str  # without the "s3:" some stores put in front, e.g. "ObjectCreated:Post"
    bucket: str
    key: str
    opaque_data: str


def receive(body: bytes, *, authorization: str, sns_message_type: str | None) -> int:
    """Authenticate a delivery, act on each of its records, and return how many it carried."""
    bearer = authorization.removeprefix("Bearer ").strip() if authorization else ""
    if bearer:
        _check_secret(bearer)  # before parsing: a wrong secret learns nothing about the body
    payload = _json(body)
    if sns.is_sns_envelope(payload, sns_message_type):
        return _receive_sns(payload)
    events = parse_records(payload)
    if not bearer:
        _check_opaque_data(events)
    return _handle_all(events)


def _json(body: bytes) -> Any:
    """Parse a JSON body, refusing anything else."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise EventsMalformed("The body is not JSON.") from error


def _handle_all(events: list[ObjectEvent]) -> int:
    """Act on each record; return how many there were."""
    for event in events:
        handle(event)
    return len(events)


def _receive_sns(payload: Any) -> int:
    """Verify an SNS delivery, then act on its MessageId once: confirm, or handle its S3 records."""
    try:
        message = sns.verify_message(payload, allowed_topics=conf.events_sns_topics())
    except sns.SnsMalformed as error:
        raise EventsMalformed(str(error)) from error
    except sns.SnsRejected as error:
        raise EventsForbidden(str(error)) from error
    except sns.SnsUnavailable as error:
        raise EventsUnavailable(str(error)) from error
    if message.type == sns.SUBSCRIPTION_CONFIRMATION:
        return sns_deliveries.act_once(message.message_id, lambda: _confirm(message))
    if message.type != sns.NOTIFICATION:
        return 0  # an UnsubscribeConfirmation asks nothing of us
    events = parse_records(_json(message.message.encode()))
    return sns_deliveries.act_once(message.message_id, lambda: _handle_all(events))


def _confirm(message: sns.SnsMessage) -> int:
    """Confirm a verified subscription (its records: none)."""
    try:
        sns.confirm_subscription(message)
    except sns.SnsRejected as error:
        raise EventsForbidden(str(error)) from error
    logger.info("Confirmed the SNS subscription to %s", message.topic_arn)
    return 0


def parse_records(payload: Any) -> list[ObjectEvent]:
    """Read the records of S3 event JSON; S3's test event carries none."""
    if (
        isinstance(payload, dict)
        and "Records" not in payload
        and payload.get("Event") == ("s3:TestEvent")
    ):
        return []
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list):
        raise EventsMalformed("Expected S3 event JSON with a list of Records.")
    return [_parse_record(record) for record in payload["Records"]]


def _parse_record(record: Any) -> ObjectEvent:
    """Read one record's event name, bucket and (URL-encoded) key."""
    try:
        name = record["eventName"]
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
        opaque = record.get("opaqueData", "")
    except (KeyError, TypeError, AttributeError) as error:
        raise EventsMalformed("An event record lacks eventName, bucket or key.") from error
    if not all(isinstance(value, str) for value in (name, bucket, key, opaque)):
        raise EventsMalformed("An event record has a field of the wrong type.")
    # Keys arrive URL-encoded with "+" for spaces, as in AWS's own notifications.
    return ObjectEvent(name.removeprefix("s3:"), bucket, unquote_plus(key), opaque)


def _check_secret(given: str) -> None:
    """Refuse a delivery unless it carries the configured secret (compared in constant time)."""
    secret = conf.events_secret()
    if not secret:
        raise EventsForbidden("Direct storage events are off: UPLOAD_EVENTS_SECRET is not set.")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise EventsForbidden("The storage event secret is wrong.")


def _check_opaque_data(events: list[ObjectEvent]) -> None:
    """Without a bearer header, every record must carry the secret as its opaqueData."""
    if not events:
        _check_secret("")
    for event in events:
        _check_secret(event.opaque_data)


def handle(event: ObjectEvent) -> None:
    """Act on one record: settle the pending upload it completes, or remove a late object."""
    if event.bucket != conf.bucket() or not event.name.startswith("ObjectCreated:"):
        return
    object_created(event.key, via="event")


def object_created(key: str, *, via: str) -> None:
    """Settle the pending record a new scratch object belongs to, or delete it if none wants it."""
    # Our own promotion copies and assembled multipart uploads land in the media prefix, before the
    # database names them: nothing there is ever touched here.
    if keys.is_media(key) or not keys.is_scratch(key):
        return
    media_id = keys.media_id_of(key)
    record = MediaFile.objects.filter(pk=media_id).first() if media_id else None
    if record is not None and record.status == MediaFile.Status.PENDING and record.key == key:
        try:
            completion.complete_upload(media_file=record, via=via)
        except UploadConflict as waiting:
            logger.info("Event for %s left the upload pending: %s", key, waiting.detail)
        return
    if is_stray(key, record):
        storage.delete_object(key)
        logger.info("Deleted %s: no pending upload wants it", key)


def is_stray(key: str, record: MediaFile | None) -> bool:
    """Tell whether a scratch object belongs to no pending upload and serves no record."""
    if record is None:
        return True
    if record.status == MediaFile.Status.PENDING:
        return False
    # Records verified before the two key spaces existed still serve from the scratch prefix.
    return not (record.status == MediaFile.Status.UPLOADED and record.key == key)
