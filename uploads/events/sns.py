"""Verify AWS SNS HTTP(S) deliveries: topic allow-list, freshness, certificate, signature."""

import base64
import binascii
import http.client
import re
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from uploads.events import sns_certificates
from uploads.events.sns_certificates import CertificateRefused, Certificates, FetchesRationed
from uploads.events.sns_fetch import https_get

NOTIFICATION: Final = "Notification"
SUBSCRIPTION_CONFIRMATION: Final = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION: Final = "UnsubscribeConfirmation"
MESSAGE_TYPES: Final = frozenset(
    {NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION}
)

# The fields AWS signs, in the order it signs them. Subject is signed only when present.
_NOTIFICATION_SIGNED: Final = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_SIGNED: Final = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
# Fields every delivery of a type must carry as strings, whether signed or not.
_COMMON_REQUIRED: Final = ("SignatureVersion", "Signature", "SigningCertURL")
_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    NOTIFICATION: tuple(f for f in _NOTIFICATION_SIGNED if f != "Subject") + _COMMON_REQUIRED,
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_SIGNED + _COMMON_REQUIRED,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_SIGNED + _COMMON_REQUIRED,
}

# SignatureVersion 1 is RSA PKCS#1 v1.5 over SHA1, version 2 over SHA256.
_HASHES: Final[Mapping[str, Callable[[], hashes.HashAlgorithm]]] = {
    "1": hashes.SHA1,
    "2": hashes.SHA256,
}

# SNS endpoints only: `sns.<region>.amazonaws.com[.cn]`, a region being like `us-east-1`. Any label
# would also match S3 bucket hosts anyone can own (`sns.s3.amazonaws.com`, `sns.s3-us-west-2...`).
# fullmatch, not `$`: `$` also matches before a trailing newline.
_SNS_HOST: Final = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d+\.amazonaws\.com(?:\.cn)?")

# The confirmation answer is a small XML document nobody reads; cap it like the certificate.
MAX_CONFIRMATION_BYTES: Final = 64 * 1024
# A captured delivery must not replay for the certificate's whole life: AWS retries an HTTP delivery
# for at most an hour, and clocks may differ by a few minutes.
MAX_AGE: Final = timedelta(hours=1)
MAX_AHEAD: Final = timedelta(minutes=5)
# SNS MessageIds are UUIDs; the column that remembers them is this wide.
MAX_MESSAGE_ID_CHARS: Final = 100


class SnsMalformed(Exception):
    """The body is not an SNS message we can read (→ HTTP 400)."""


class SnsRejected(Exception):
    """An untrusted SNS message: unlisted topic, stale, bad certificate or signature (→ 403)."""


class SnsUnavailable(Exception):
    """An SNS message we cannot verify now: certificate fetches are rationed (→ 503, retried)."""


@dataclass(frozen=True)
class SnsMessage:
    """A verified SNS delivery: only what the caller needs to act on it."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    subscribe_url: str


def is_sns_envelope(body: object, message_type_header: str | None) -> bool:
    """Tell whether a request is an SNS delivery, by its message-type header or its JSON body."""
    # Any hint of SNS routes the request into verification: a wrong guess there is rejected,
    # whereas a missed one would let an unsigned envelope through as a bare S3 event.
    if message_type_header is not None:
        return True
    if not isinstance(body, Mapping):
        return False
    message_type = body.get("Type")
    return isinstance(message_type, str) and message_type in MESSAGE_TYPES and "TopicArn" in body


def is_sns_url(url: str) -> bool:
    """Tell whether a URL is https on an SNS endpoint host (`sns.<region>.amazonaws.com[.cn]`)."""
    # Refuse anything urlsplit might quietly normalise (whitespace, control or non-ASCII
    # characters) so that the host we check is the host urllib would connect to.
    if not url.isascii() or any(ch <= " " or ch == "\x7f" for ch in url) or "\\" in url:
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or port not in (None, 443):
        return False
    # `https://sns.us-east-1.amazonaws.com@evil.example/` names evil.example; refuse userinfo.
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return False
    host = parts.hostname
    if host is None or _SNS_HOST.fullmatch(host) is None:
        return False
    # Nothing else may sit in the authority (an empty port "host:", stray brackets, ...).
    return parts.netloc.lower() in (host, f"{host}:443")


def _is_certificate_url(url: str) -> bool:
    """Tell whether a SigningCertURL may be fetched: `https://<SNS host>/<path>.pem`, no more."""
    # SNS names a bare host and path; a port, query or fragment could only vary the URL or answer.
    if not is_sns_url(url) or "?" in url or "#" in url:
        return False
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.lower() == parts.hostname and parts.path.endswith(".pem")


def _fetch_confirmation(url: str) -> bytes:
    """GET a SubscribeURL; SNS confirms the subscription on a 200 answer."""
    return https_get(url, MAX_CONFIRMATION_BYTES)


def _string_field(body: Mapping[str, Any], name: str) -> str:
    """Return a required string field or raise SnsMalformed."""
    value = body.get(name)
    if not isinstance(value, str):
        raise SnsMalformed(f"{name} is missing or not a string")
    return value


def _string_to_sign(body: Mapping[str, Any], message_type: str) -> bytes:
    """Build the canonical `key\\nvalue\\n` text that SNS signs for this message type."""
    fields = _NOTIFICATION_SIGNED if message_type == NOTIFICATION else _CONFIRMATION_SIGNED
    # Fields were type-checked already; a Subject that is absent (or null) is not signed.
    return "".join(
        f"{name}\n{body[name]}\n" for name in fields if body.get(name) is not None
    ).encode("utf-8")


def _call_fetcher(fetch: Callable[[str], bytes], url: str) -> bytes:
    """Call a fetcher, turning a transport failure into SnsRejected."""
    try:
        return fetch(url)
    except (OSError, http.client.HTTPException, ValueError) as error:
        # An injected fetcher may raise its own I/O errors; to the caller they all mean "untrusted".
        raise SnsRejected(f"could not fetch {url!r}: {error}") from error


def _check_timestamp(value: str, now: datetime) -> None:
    """Refuse a Timestamp over an hour old or over five minutes ahead (a replay, or a bad clock)."""
    try:
        sent = datetime.fromisoformat(value)
    except ValueError as error:
        raise SnsMalformed(f"Timestamp {value!r} is not an ISO 8601 time") from error
    if sent.tzinfo is None:
        raise SnsMalformed(f"Timestamp {value!r} has no time zone")
    if not now - MAX_AGE <= sent <= now + MAX_AHEAD:
        raise SnsRejected(f"Timestamp {value!r} is over an hour old or in the future")


def _signing_key(certificates: Certificates, url: str, now: datetime) -> rsa.RSAPublicKey:
    """Return the key of the SNS certificate at a checked SigningCertURL."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return certificates.public_key(url, host=host, now=now)
    except CertificateRefused as error:
        raise SnsRejected(str(error)) from error
    except FetchesRationed as error:
        raise SnsUnavailable(str(error)) from error


def _verify_signature(
    public_key: rsa.RSAPublicKey, signature_b64: str, version: str, signed: bytes
) -> None:
    """Check the RSA signature of the signed text; raise SnsRejected if bad."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SnsRejected("the Signature is not valid base64") from error
    try:
        public_key.verify(signature, signed, padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature as error:
        raise SnsRejected("the signature does not match the message") from error


def verify_message(
    body: Mapping[str, Any],
    *,
    allowed_topics: Collection[str],
    certificates: Certificates | None = None,
) -> SnsMessage:
    """Verify a parsed SNS JSON body and return its content, or raise SnsMalformed/SnsRejected.

    Raises SnsUnavailable when its certificate would be fetched beyond the budget.
    """
    # A bare string is a Collection[str] too, and `in` would then match any substring.
    if isinstance(allowed_topics, str):
        raise TypeError("allowed_topics must be a collection of ARNs, not one string")
    if not isinstance(body, Mapping):
        raise SnsMalformed("the body is not a JSON object")
    message_type = body.get("Type")
    if not isinstance(message_type, str) or message_type not in MESSAGE_TYPES:
        raise SnsMalformed(f"unknown SNS message Type: {message_type!r}")
    for name in _REQUIRED[message_type]:
        _string_field(body, name)
    subject = body.get("Subject")
    if message_type == NOTIFICATION and subject is not None and not isinstance(subject, str):
        raise SnsMalformed("Subject is not a string")
    if len(body["MessageId"]) > MAX_MESSAGE_ID_CHARS:
        raise SnsMalformed(f"MessageId is longer than {MAX_MESSAGE_ID_CHARS} characters")

    # Order matters: nothing below may touch the network for a topic we do not serve, a stale
    # message, or a certificate URL outside SNS, or anyone could make us fetch URLs they choose.
    topic_arn: str = body["TopicArn"]
    if topic_arn not in allowed_topics:
        raise SnsRejected(f"topic {topic_arn!r} is not allowed")
    version: str = body["SignatureVersion"]
    if version not in _HASHES:
        raise SnsRejected(f"unsupported SignatureVersion {version!r}")
    now = datetime.now(UTC)
    _check_timestamp(body["Timestamp"], now)
    cert_url: str = body["SigningCertURL"]
    if not _is_certificate_url(cert_url):
        raise SnsRejected(f"SigningCertURL {cert_url!r} is not an SNS certificate URL")

    public_key = _signing_key(certificates or sns_certificates.CERTIFICATES, cert_url, now)
    _verify_signature(public_key, body["Signature"], version, _string_to_sign(body, message_type))
    return SnsMessage(
        type=message_type,
        message_id=body["MessageId"],
        topic_arn=topic_arn,
        message=body["Message"],
        subscribe_url="" if message_type == NOTIFICATION else body["SubscribeURL"],
    )


def confirm_subscription(
    message: SnsMessage, *, fetch: Callable[[str], bytes] | None = None
) -> None:
    """GET the SubscribeURL of a verified SubscriptionConfirmation; raise SnsRejected on failure."""
    if message.type != SUBSCRIPTION_CONFIRMATION:
        raise SnsRejected(f"a {message.type} has no subscription to confirm")
    # The URL was signed by SNS, but check the host anyway: never GET a URL outside SNS.
    if not is_sns_url(message.subscribe_url):
        raise SnsRejected(f"SubscribeURL {message.subscribe_url!r} is not an SNS URL")
    _call_fetcher(fetch or _fetch_confirmation, message.subscribe_url)
