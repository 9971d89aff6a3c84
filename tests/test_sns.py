"""Unit tests for SNS verification: topic first, certificate URL second, signature last."""

import http.server
import ssl
import threading
import urllib.error
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.sns import (
    CERT_URL,
    OTHER_TOPIC,
    S3_EVENT,
    SUBSCRIBE_URL,
    TOPIC,
    FakeFetch,
    confirmation,
    make_certificate,
    notification,
    pem_of,
    sign_sns,
)
from uploads import sns
from uploads.sns import (
    SnsMalformed,
    SnsMessage,
    SnsRejected,
    confirm_subscription,
    is_sns_envelope,
    is_sns_url,
    verify_message,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(key) -> bytes:
    return pem_of(make_certificate(key))


@pytest.fixture
def fetch(cert_pem) -> FakeFetch:
    return FakeFetch(cert_pem)


def verify(
    body: dict[str, Any], fetch: FakeFetch, topics: tuple[str, ...] = (TOPIC,)
) -> SnsMessage:
    return verify_message(body, allowed_topics=topics, fetch_certificate=fetch)


# ---------------------------------------------------------------- good messages


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_verifies_and_returns_the_message(key, fetch, version):
    message = verify(sign_sns(notification(), key, version), fetch)
    assert message == SnsMessage(
        type="Notification", topic_arn=TOPIC, message=S3_EVENT, subscribe_url=""
    )
    assert fetch.urls == [CERT_URL]


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_without_subject_verifies(key, fetch, version):
    body = notification()
    del body["Subject"]
    assert verify(sign_sns(body, key, version), fetch).message == S3_EVENT


def test_a_null_subject_counts_as_absent(key, fetch):
    body = notification()
    del body["Subject"]
    signed = sign_sns(body, key)
    assert verify({**signed, "Subject": None}, fetch).message == S3_EVENT


def test_a_signed_subject_cannot_be_dropped_or_added(key, fetch):
    with_subject = sign_sns(notification(), key)
    dropped = {k: v for k, v in with_subject.items() if k != "Subject"}
    with pytest.raises(SnsRejected):
        verify(dropped, fetch)

    without = notification()
    del without["Subject"]
    added = {**sign_sns(without, key), "Subject": "Amazon S3 Notification"}
    with pytest.raises(SnsRejected):
        verify(added, fetch)


def test_unsigned_fields_may_vary(key, fetch):
    signed = sign_sns(notification(), key)
    # UnsubscribeURL is not part of the string to sign; SNS may add fields we do not know.
    body = {**signed, "UnsubscribeURL": "https://example.com/", "MessageAttributes": {}}
    assert verify(body, fetch).message == S3_EVENT


@pytest.mark.parametrize("version", ["1", "2"])
def test_subscription_confirmation_verifies_and_confirms(key, fetch, version):
    message = verify(sign_sns(confirmation(), key, version), fetch)
    assert message.type == "SubscriptionConfirmation"
    assert message.subscribe_url == SUBSCRIBE_URL
    assert message.topic_arn == TOPIC

    get = FakeFetch(b"<ConfirmSubscriptionResponse/>")
    confirm_subscription(message, fetch=get)
    assert get.urls == [SUBSCRIBE_URL]


def test_unsubscribe_confirmation_verifies_but_confirms_nothing(key, fetch):
    message = verify(sign_sns(confirmation("UnsubscribeConfirmation"), key), fetch)
    assert message.type == "UnsubscribeConfirmation"
    get = FakeFetch()
    with pytest.raises(SnsRejected):
        confirm_subscription(message, fetch=get)
    assert get.urls == []


def test_a_notification_has_no_subscription_to_confirm():
    get = FakeFetch()
    with pytest.raises(SnsRejected):
        confirm_subscription(SnsMessage("Notification", TOPIC, S3_EVENT, ""), fetch=get)
    assert get.urls == []


def test_china_region_certificate_host_is_accepted(key, fetch):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    verify(sign_sns(notification(SigningCertURL=url), key), fetch)
    assert fetch.urls == [url]


# ---------------------------------------------------------------- forged messages


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Message", '{"Records":[{"eventName":"ObjectRemoved:Delete"}]}'),
        ("MessageId", "00000000-0000-0000-0000-000000000000"),
        ("Subject", "Something else"),
        ("Timestamp", "2030-01-01T00:00:00.000Z"),
        ("TopicArn", OTHER_TOPIC),  # moved to another topic we also serve
    ],
)
def test_tampered_notification_is_rejected(key, fetch, field, value):
    body = {**sign_sns(notification(), key), field: value}
    with pytest.raises(SnsRejected):
        verify(body, fetch, topics=(TOPIC, OTHER_TOPIC))


@pytest.mark.parametrize("field", ["SubscribeURL", "Token", "Message"])
def test_tampered_confirmation_is_rejected(key, fetch, field):
    body = sign_sns(confirmation(), key)
    body[field] = body[field].replace("a", "b") + "x"
    with pytest.raises(SnsRejected):
        verify(body, fetch)


def test_signature_by_another_key_is_rejected(other_key, fetch):
    with pytest.raises(SnsRejected, match="signature"):
        verify(sign_sns(notification(), other_key), fetch)


def test_signature_version_must_match_the_hash(key, fetch):
    signed = sign_sns(notification(), key, "2")
    with pytest.raises(SnsRejected):
        verify({**signed, "SignatureVersion": "1"}, fetch)


@pytest.mark.parametrize("version", ["3", "0", "", "1.0", " 1", "2\n"])
def test_unknown_signature_version_is_rejected_without_fetching(key, fetch, version):
    body = {**sign_sns(notification(), key), "SignatureVersion": version}
    with pytest.raises(SnsRejected, match="SignatureVersion"):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize("signature", ["not base64!", "QUJD=", "QUJD\n", ""])
def test_bad_base64_or_empty_signature_is_rejected(key, fetch, signature):
    body = {**sign_sns(notification(), key), "Signature": signature}
    with pytest.raises(SnsRejected):
        verify(body, fetch)


# ---------------------------------------------------------------- check order: topic, URL, fetch


def test_unlisted_topic_is_rejected_and_nothing_is_fetched(key, fetch):
    body = sign_sns(notification(TopicArn=OTHER_TOPIC), key)
    with pytest.raises(SnsRejected, match="not allowed"):
        verify(body, fetch)
    assert fetch.urls == []


def test_unlisted_topic_is_checked_before_the_certificate_url(key, fetch):
    body = sign_sns(
        notification(TopicArn=OTHER_TOPIC, SigningCertURL="https://evil.example/x.pem"), key
    )
    with pytest.raises(SnsRejected, match="not allowed"):
        verify(body, fetch)
    assert fetch.urls == []


def test_no_allowed_topics_rejects_everything(key, fetch):
    with pytest.raises(SnsRejected):
        verify(sign_sns(notification(), key), fetch, topics=())
    assert fetch.urls == []


def test_allowed_topics_as_one_string_is_a_programming_error(key, fetch):
    # `"arn:...:media" in "arn:...:media-uploads"` would be a substring match.
    with pytest.raises(TypeError):
        verify_message(sign_sns(notification(), key), allowed_topics=TOPIC, fetch_certificate=fetch)
    assert fetch.urls == []


BAD_URLS = [
    "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
    "http://sns.us-east-1.amazonaws.com/cert.pem",
    "https://evil.example/sns.pem",
    "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
    "https://sns.us-east-1.amazonaws.com:443@evil.example/x.pem",
    "https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem",
    "https://user:password@sns.us-east-1.amazonaws.com/x.pem",
    "https://@sns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com:8443/x.pem",
    "https://sns.us-east-1.amazonaws.com:/x.pem",
    "https://sns.us-east-1.amazonaws.com:abc/x.pem",
    "https://sns.us-east-1.amazonaws.com./x.pem",
    "https://xsns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com.cn.evil.example/x.pem",
    "https://sns.evil.example.amazonaws.com/x.pem",
    "https://s3.us-east-1.amazonaws.com/x.pem",
    "https://sns..amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com/x.txt",
    "https://sns.us-east-1.amazonaws.com/x.pem/",
    "https://sns.us-east-1.amazonaws.com/",
    "https://sns.us-east-1.amazonaws.com",
    "https://evil.example/?sns.us-east-1.amazonaws.com/x.pem",
    "https://evil.example/#@sns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com\n/x.pem",
    "https://sns.us-east-1.amazonaws.com\t.evil.example/x.pem",
    " https://sns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com\u3002evil.example/x.pem",
    "https://[::1]/x.pem",
    "ftp://sns.us-east-1.amazonaws.com/x.pem",
    "file:///etc/ssl/x.pem",
    "//sns.us-east-1.amazonaws.com/x.pem",
    "sns.us-east-1.amazonaws.com/x.pem",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_certificate_url_off_sns_is_rejected_and_never_fetched(key, fetch, url):
    body = sign_sns(notification(SigningCertURL=url), key)
    with pytest.raises(SnsRejected, match="SigningCertURL"):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.cn-northwest-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-x.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-x.pem",
    ],
)
def test_sns_certificate_urls_are_fetched(key, fetch, url):
    verify(sign_sns(notification(SigningCertURL=url), key), fetch)
    assert fetch.urls == [url]


@pytest.mark.parametrize(
    "url",
    [u for u in BAD_URLS if not u.endswith(("x.txt", "x.pem/", "/", ".amazonaws.com"))],
)
def test_is_sns_url_refuses_other_hosts(url):
    assert not is_sns_url(url)


@pytest.mark.parametrize("url", [SUBSCRIBE_URL, "https://sns.us-west-2.amazonaws.com/"])
def test_is_sns_url_accepts_sns_endpoints(url):
    assert is_sns_url(url)


def test_subscribe_url_off_sns_is_refused_without_fetching(key, fetch):
    # Correctly signed (a key we trust), yet the URL points elsewhere: never GET it.
    body = sign_sns(confirmation(SubscribeURL="https://evil.example/confirm?Token=x"), key)
    message = verify(body, fetch)
    get = FakeFetch()
    with pytest.raises(SnsRejected, match="SubscribeURL"):
        confirm_subscription(message, fetch=get)
    assert get.urls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com@evil.example/?Action=ConfirmSubscription",
        "https://169.254.169.254/latest/meta-data/",
        "",
    ],
)
def test_confirm_subscription_refuses_non_sns_urls(url):
    get = FakeFetch()
    with pytest.raises(SnsRejected):
        confirm_subscription(SnsMessage("SubscriptionConfirmation", TOPIC, "", url), fetch=get)
    assert get.urls == []


@pytest.mark.parametrize(
    "error", [OSError("connection refused"), urllib.error.URLError("timed out")]
)
def test_confirmation_fetch_failure_is_rejected(key, fetch, error):
    message = verify(sign_sns(confirmation(), key), fetch)
    with pytest.raises(SnsRejected):
        confirm_subscription(message, fetch=FakeFetch(error=error))


@pytest.mark.parametrize(
    "error", [OSError("connection refused"), urllib.error.URLError("timed out"), ValueError()]
)
def test_certificate_fetch_failure_is_rejected(key, error):
    with pytest.raises(SnsRejected):
        verify(sign_sns(notification(), key), FakeFetch(error=error))


# ---------------------------------------------------------------- certificates


def test_expired_certificate_is_rejected(key):
    now = datetime.now(UTC)
    expired = make_certificate(
        key, not_before=now - timedelta(days=30), not_after=now - timedelta(seconds=1)
    )
    with pytest.raises(SnsRejected, match="validity"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(expired)))


def test_not_yet_valid_certificate_is_rejected(key):
    now = datetime.now(UTC)
    future = make_certificate(
        key, not_before=now + timedelta(days=1), not_after=now + timedelta(days=30)
    )
    with pytest.raises(SnsRejected, match="validity"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(future)))


@pytest.mark.parametrize(
    "payload",
    [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
)
def test_unreadable_certificate_is_rejected(key, payload):
    with pytest.raises(SnsRejected, match="certificate"):
        verify(sign_sns(notification(), key), FakeFetch(payload))


def test_non_rsa_certificate_is_rejected(key):
    ec_pem = pem_of(make_certificate(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(SnsRejected, match="RSA"):
        verify(sign_sns(notification(), key), FakeFetch(ec_pem))


# ---------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "field",
    [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ],
)
def test_notification_missing_a_field_is_malformed(key, fetch, field):
    body = sign_sns(notification(), key)
    del body[field]
    with pytest.raises(SnsMalformed):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize("message_type", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
@pytest.mark.parametrize("field", ["Token", "SubscribeURL", "Message", "TopicArn"])
def test_confirmation_missing_a_field_is_malformed(key, fetch, message_type, field):
    body = sign_sns(confirmation(message_type), key)
    del body[field]
    with pytest.raises(SnsMalformed):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Message", {"Records": []}),
        ("Message", None),
        ("TopicArn", [TOPIC]),
        ("Signature", 123),
        ("SignatureVersion", 2),
        ("SigningCertURL", None),
        ("Timestamp", 1700000000),
        ("Subject", 42),
        ("Subject", ["a"]),
    ],
)
def test_field_of_the_wrong_type_is_malformed(key, fetch, field, value):
    body = {**sign_sns(notification(), key), field: value}
    with pytest.raises(SnsMalformed):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize("message_type", ["notification", "Event", "", None, 1])
def test_unknown_type_is_malformed(key, fetch, message_type):
    body = {**sign_sns(notification(), key), "Type": message_type}
    with pytest.raises(SnsMalformed):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize("body", [[], "Notification", None, 1])
def test_body_that_is_not_an_object_is_malformed(fetch, body):
    with pytest.raises(SnsMalformed):
        verify_message(body, allowed_topics=[TOPIC], fetch_certificate=fetch)


# ---------------------------------------------------------------- is_sns_envelope


@pytest.mark.parametrize(
    "header", ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation", "Other", ""]
)
def test_envelope_by_header(header):
    # The header alone decides: the body may then still be rejected as malformed.
    assert is_sns_envelope({"Records": []}, header)
    assert is_sns_envelope(None, header)


@pytest.mark.parametrize(
    "body", [notification(), confirmation(), confirmation("UnsubscribeConfirmation")]
)
def test_envelope_by_body(body):
    assert is_sns_envelope(body, None)


@pytest.mark.parametrize(
    "body",
    [
        {"Records": [{"eventName": "ObjectCreated:Put"}]},
        {"Type": "Notification"},  # no TopicArn
        {"Type": "Event", "TopicArn": TOPIC},
        {"Type": ["Notification"], "TopicArn": TOPIC},
        [notification()],
        S3_EVENT,
        None,
    ],
)
def test_not_an_envelope(body):
    assert not is_sns_envelope(body, None)


# ---------------------------------------------------------------- the default https fetcher


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves /ok (a small body), /big (over the cap), /redirect (to /ok), /missing (404)."""

    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path in ("/ok", "/big", "/big-undeclared"):
            body = (
                b"x" * (sns.MAX_CERTIFICATE_BYTES + 1) if self.path.startswith("/big") else b"pem"
            )
            self.send_response(200)
            if self.path != "/big-undeclared":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch) -> Iterator[tuple[str, list[str]]]:
    """A loopback TLS server; the module's opener is swapped for one trusting its certificate."""
    server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = make_certificate(server_key, hostname="127.0.0.1", ip=IPv4Address("127.0.0.1"))
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert_path.write_bytes(pem_of(cert))
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    paths: list[str] = []
    handler = type("Handler", (_Handler,), {"paths": paths})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    client_context = ssl.create_default_context(cafile=str(cert_path))
    monkeypatch.setattr(sns, "_OPENER", sns._build_opener(client_context))
    sns._fetch_certificate.cache_clear()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", paths
    finally:
        sns._fetch_certificate.cache_clear()
        server.shutdown()
        server.server_close()
        thread.join()


def test_default_fetcher_reads_a_small_body(https_server):
    base, paths = https_server
    assert sns._https_get(f"{base}/ok", 1024) == b"pem"
    assert paths == ["/ok"]


def test_default_fetcher_caches_certificates_per_url(https_server):
    base, paths = https_server
    assert sns._fetch_certificate(f"{base}/ok") == b"pem"
    assert sns._fetch_certificate(f"{base}/ok") == b"pem"
    assert paths == ["/ok"]


def test_default_fetcher_follows_no_redirect(https_server):
    base, paths = https_server
    with pytest.raises(SnsRejected, match="302"):
        sns._https_get(f"{base}/redirect", 1024)
    assert paths == ["/redirect"]


@pytest.mark.parametrize("path", ["/big", "/big-undeclared"])
def test_default_fetcher_refuses_large_bodies(https_server, path):
    base, _ = https_server
    with pytest.raises(SnsRejected, match="bytes"):
        sns._fetch_certificate(f"{base}{path}")


def test_default_fetcher_rejects_http_errors_and_does_not_cache_them(https_server):
    base, paths = https_server
    for _ in range(2):
        with pytest.raises(SnsRejected, match="404"):
            sns._fetch_certificate(f"{base}/missing")
    assert paths == ["/missing", "/missing"]


def test_default_fetcher_verifies_tls(https_server, monkeypatch):
    base, paths = https_server
    # The system trust store does not know the test server's self-signed certificate.
    monkeypatch.setattr(sns, "_OPENER", sns._build_opener(ssl.create_default_context()))
    with pytest.raises(SnsRejected, match="CERTIFICATE_VERIFY_FAILED"):
        sns._https_get(f"{base}/ok", 1024)
    assert paths == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/ok", "file:///etc/passwd", "data:,pem", "ftp://127.0.0.1/x.pem"]
)
def test_default_fetcher_speaks_only_https(url):
    with pytest.raises(SnsRejected):
        sns._https_get(url, 1024)


def test_default_opener_speaks_only_https():
    # Defence in depth: even past the scheme check, the opener has no other protocol handlers.
    with pytest.raises(urllib.error.URLError, match="unknown url type"):
        sns._OPENER.open("http://127.0.0.1:9/", timeout=1)
