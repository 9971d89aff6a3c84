"""Signed SNS messages for tests: a self-signed certificate, SNS's signing, sample envelopes."""

import base64
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:123456789012:media-uploads"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:other-topic"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SUBSCRIBE_URL = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"
)
S3_EVENT = (
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"incoming/a.mp4"}}}]}'
)

_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS["UnsubscribeConfirmation"] = _SIGNED_FIELDS["SubscriptionConfirmation"]
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


# ---------------------------------------------------------------- keys, certificates, signing


def make_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    hostname: str = "sns.amazonaws.com",
    ip: IPv4Address | None = None,
) -> x509.Certificate:
    """A self-signed certificate for `key`, valid around now unless told otherwise."""
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=1))
    )
    if ip is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ip)])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(key, hashes.SHA256())


def pem_of(certificate: x509.Certificate) -> bytes:
    """The PEM text SNS serves at a SigningCertURL."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def sign_sns(body: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    """Return `body` with SignatureVersion and Signature set exactly as SNS sets them."""
    fields = _SIGNED_FIELDS[body["Type"]]
    text = "".join(f"{name}\n{body[name]}\n" for name in fields if name in body)
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), _HASHES[version]())
    return {
        **body,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode("ascii"),
    }


class FakeFetch:
    """A fetcher that answers fixed bytes (or raises) and records every URL it was asked for."""

    def __init__(self, payload: bytes = b"", error: Exception | None = None) -> None:
        self.payload = payload
        self.error = error
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.error is not None:
            raise self.error
        return self.payload


def notification(**overrides: Any) -> dict[str, Any]:
    """An unsigned SNS Notification carrying an S3 event, as AWS delivers it."""
    body = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "Amazon S3 Notification",
        "Message": S3_EVENT,
        "Timestamp": "2026-05-09T12:00:00.000Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&Sub={TOPIC}",
    }
    body.update(overrides)
    return body


def confirmation(
    message_type: str = "SubscriptionConfirmation", **overrides: Any
) -> dict[str, Any]:
    """An unsigned SubscriptionConfirmation (or UnsubscribeConfirmation)."""
    body = {
        "Type": message_type,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2026-05-09T12:00:00.000Z",
        "SigningCertURL": CERT_URL,
    }
    body.update(overrides)
    return body
