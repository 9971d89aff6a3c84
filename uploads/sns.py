"""Verify AWS SNS HTTP(S) deliveries: topic allow-list, signing-certificate URL, RSA signature."""

import base64
import binascii
import functools
import http.client
import re
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

# fullmatch, not `$`: `$` also matches before a trailing newline.
_SNS_HOST: Final = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")

FETCH_TIMEOUT_SECONDS: Final = 5.0
# A real SNS signing certificate is about 2 KiB; anything far larger is not one.
MAX_CERTIFICATE_BYTES: Final = 64 * 1024
# The confirmation answer is a small XML document nobody reads; cap it like the certificate.
MAX_CONFIRMATION_BYTES: Final = 64 * 1024


class SnsMalformed(Exception):
    """The body is not an SNS message we can read (→ HTTP 400)."""


class SnsRejected(Exception):
    """An SNS message we must not trust: unlisted topic, bad cert URL, bad signature (→ 403)."""


@dataclass(frozen=True)
class SnsMessage:
    """A verified SNS delivery: only what the caller needs to act on it."""

    type: str
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
    """Tell whether a SigningCertURL may be fetched: an SNS https URL whose path ends in .pem."""
    return is_sns_url(url) and urllib.parse.urlsplit(url).path.endswith(".pem")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an error: a redirect could lead off the SNS host we checked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow nothing; urllib then raises HTTPError for the 3xx response."""
        return None


def _build_opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """Build an opener that speaks only https, verifies TLS and follows no redirects."""
    # Not build_opener(): that would also add http, ftp, file and data handlers.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPDefaultErrorHandler(),
        _RefuseRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


_OPENER = _build_opener(ssl.create_default_context())


def _https_get(url: str, limit: int) -> bytes:
    """GET an https URL with a timeout and a size cap; raise SnsRejected on any failure."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise SnsRejected(f"refusing to fetch a non-https URL: {url!r}")
    try:
        with _OPENER.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise SnsRejected(f"{url!r} answers more than {limit} bytes")
            # Read one byte past the cap to tell "exactly at the cap" from "over it".
            body: bytes = response.read(limit + 1)
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise SnsRejected(f"could not fetch {url!r}: {error}") from error
    if len(body) > limit:
        raise SnsRejected(f"{url!r} answers more than {limit} bytes")
    return body


@functools.lru_cache(maxsize=16)
def _fetch_certificate(url: str) -> bytes:
    """Fetch a signing certificate; cached per URL, since SNS reuses one for many messages."""
    # lru_cache does not store exceptions, so a failed fetch is retried by the next message.
    return _https_get(url, MAX_CERTIFICATE_BYTES)


def _fetch_confirmation(url: str) -> bytes:
    """GET a SubscribeURL; SNS confirms the subscription on a 200 answer."""
    return _https_get(url, MAX_CONFIRMATION_BYTES)


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


def _verify_signature(pem: bytes, signature_b64: str, version: str, signed: bytes) -> None:
    """Check the certificate's validity period and the RSA signature; raise SnsRejected if bad."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as error:
        raise SnsRejected(f"the signing certificate is unreadable: {error}") from error
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsRejected("the signing certificate is outside its validity period")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SnsRejected("the signing certificate does not hold an RSA key")
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
    fetch_certificate: Callable[[str], bytes] | None = None,
) -> SnsMessage:
    """Verify a parsed SNS JSON body and return its content, or raise SnsMalformed/SnsRejected."""
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

    # Order matters: nothing below may touch the network for a topic we do not serve, nor for
    # a certificate URL outside SNS, or anyone could make us fetch URLs of their choosing.
    topic_arn: str = body["TopicArn"]
    if topic_arn not in allowed_topics:
        raise SnsRejected(f"topic {topic_arn!r} is not allowed")
    version: str = body["SignatureVersion"]
    if version not in _HASHES:
        raise SnsRejected(f"unsupported SignatureVersion {version!r}")
    cert_url: str = body["SigningCertURL"]
    if not _is_certificate_url(cert_url):
        raise SnsRejected(f"SigningCertURL {cert_url!r} is not an SNS certificate URL")

    pem = _call_fetcher(fetch_certificate or _fetch_certificate, cert_url)
    _verify_signature(pem, body["Signature"], version, _string_to_sign(body, message_type))
    return SnsMessage(
        type=message_type,
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
