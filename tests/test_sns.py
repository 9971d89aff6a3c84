"""Unit tests for SNS verification: topic, freshness, certificate URL, certificate, signature."""

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
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.sns import (
    CERT_URL,
    OTHER_TOPIC,
    REAL_SNS_CERTIFICATE,
    S3_EVENT,
    SUBSCRIBE_URL,
    TOPIC,
    FakeAmazonCA,
    FakeFetch,
    confirmation,
    make_certificate,
    notification,
    pem_of,
    sign_sns,
    sns_time,
)
from uploads.events import sns, sns_certificates, sns_fetch
from uploads.events.sns import (
    SnsMalformed,
    SnsMessage,
    SnsRejected,
    SnsUnavailable,
    confirm_subscription,
    is_sns_envelope,
    is_sns_url,
    verify_message,
)
from uploads.events.sns_certificates import (
    CertificateRefused,
    Certificates,
    FetchesRationed,
    Trust,
    check,
    system_trust,
)

# Stands in for Amazon's CA and the system's trust store in every test but the real certificate's.
CA = FakeAmazonCA()
HOST = "sns.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(key) -> bytes:
    return pem_of(CA.issue(key))


@pytest.fixture
def fetch(cert_pem) -> FakeFetch:
    return FakeFetch(cert_pem)


def certificates(fetch: FakeFetch, **options: Any) -> Certificates:
    """A fresh certificate source (nothing cached, budget unspent) trusting CA."""
    return Certificates(fetch, trust=lambda: CA.trust, **options)


def verify(
    body: dict[str, Any], fetch: FakeFetch, topics: tuple[str, ...] = (TOPIC,)
) -> SnsMessage:
    return verify_message(body, allowed_topics=topics, certificates=certificates(fetch))


# ---------------------------------------------------------------- good messages


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_verifies_and_returns_the_message(key, fetch, version):
    body = notification()
    message = verify(sign_sns(body, key, version), fetch)
    assert message == SnsMessage(
        type="Notification",
        message_id=body["MessageId"],
        topic_arn=TOPIC,
        message=S3_EVENT,
        subscribe_url="",
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
        confirm_subscription(SnsMessage("Notification", "m", TOPIC, S3_EVENT, ""), fetch=get)
    assert get.urls == []


def test_china_region_certificate_host_is_accepted(key, fetch):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    verify(sign_sns(notification(SigningCertURL=url), key), fetch)
    assert fetch.urls == [url]


def test_a_certificate_issued_to_the_regional_endpoint_is_accepted(key):
    regional = pem_of(CA.issue(key, common_name=HOST))
    verify(sign_sns(notification(), key), FakeFetch(regional))


# ---------------------------------------------------------------- forged messages


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Message", '{"Records":[{"eventName":"ObjectRemoved:Delete"}]}'),
        ("MessageId", "00000000-0000-0000-0000-000000000000"),
        ("Subject", "Something else"),
        ("Timestamp", sns_time(datetime.now(UTC) + timedelta(minutes=1))),
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
        verify_message(
            sign_sns(notification(), key), allowed_topics=TOPIC, certificates=certificates(fetch)
        )
    assert fetch.urls == []


# Hosts that are not an SNS endpoint: refused as certificate URLs and as SubscribeURLs.
OFF_SNS_URLS = [
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
    # S3 bucket hosts anyone can own (a bucket named "sns"), and other non-region labels.
    "https://sns.s3.amazonaws.com/x.pem",
    "https://sns.s3-us-west-2.amazonaws.com/x.pem",
    "https://sns.s3.us-west-2.amazonaws.com/x.pem",
    "https://sns.s3-external-1.amazonaws.com/x.pem",
    "https://sns.compute-1.amazonaws.com/x.pem",
    "https://sns.useast1.amazonaws.com/x.pem",
    "https://sns.us-east.amazonaws.com/x.pem",
    "https://sns.us-1.amazonaws.com/x.pem",
    "https://sns.u-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1a.amazonaws.com/x.pem",
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
# On an SNS host, yet no certificate URL: a path not ending in .pem, a port, a query, a fragment.
BAD_CERTIFICATE_URLS = [
    *OFF_SNS_URLS,
    "https://evil.example/?sns.us-east-1.amazonaws.com/x.pem",
    "https://evil.example/#@sns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com/x.txt",
    "https://sns.us-east-1.amazonaws.com/x.pem/",
    "https://sns.us-east-1.amazonaws.com/",
    "https://sns.us-east-1.amazonaws.com",
    "https://sns.us-east-1.amazonaws.com:443/x.pem",
    "https://sns.us-east-1.amazonaws.com/x.pem?x=y.pem",
    "https://sns.us-east-1.amazonaws.com/x.pem?",
    "https://sns.us-east-1.amazonaws.com/x.pem#x.pem",
    "https://sns.us-east-1.amazonaws.com/x.pem#",
    "https://sns.us-east-1.amazonaws.com/?x.pem",
]


@pytest.mark.parametrize("url", BAD_CERTIFICATE_URLS)
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
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.ap-southeast-7.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.cn-northwest-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-x.pem",
    ],
)
def test_sns_certificate_urls_are_fetched(key, fetch, url):
    verify(sign_sns(notification(SigningCertURL=url), key), fetch)
    assert fetch.urls == [url]


@pytest.mark.parametrize("url", OFF_SNS_URLS)
def test_is_sns_url_refuses_other_hosts(url):
    assert not is_sns_url(url)


@pytest.mark.parametrize(
    "url",
    [
        SUBSCRIBE_URL,
        "https://sns.us-west-2.amazonaws.com/",
        "https://sns.us-west-2.amazonaws.com:443/",
    ],
)
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
        confirm_subscription(SnsMessage("SubscriptionConfirmation", "m", TOPIC, "", url), fetch=get)
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


# ---------------------------------------------------------------- freshness


@pytest.mark.parametrize(
    "age", [timedelta(hours=2), timedelta(minutes=61), -timedelta(minutes=6), -timedelta(days=1)]
)
def test_a_stale_or_future_message_is_rejected_before_any_fetch(key, fetch, age):
    # A captured delivery replays only within the hour AWS itself retries it for.
    body = sign_sns(notification(Timestamp=sns_time(datetime.now(UTC) - age)), key)
    with pytest.raises(SnsRejected, match="Timestamp"):
        verify(body, fetch)
    assert fetch.urls == []


@pytest.mark.parametrize("age", [timedelta(minutes=59), -timedelta(minutes=4)])
def test_a_message_within_the_hour_or_a_little_ahead_is_accepted(key, fetch, age):
    verify(sign_sns(notification(Timestamp=sns_time(datetime.now(UTC) - age)), key), fetch)


@pytest.mark.parametrize("timestamp", ["yesterday", "", "2026-05-09T12:00:00.000"])
def test_a_timestamp_that_is_no_time_is_malformed(key, fetch, timestamp):
    with pytest.raises(SnsMalformed, match="Timestamp"):
        verify(sign_sns(notification(Timestamp=timestamp), key), fetch)
    assert fetch.urls == []


def test_a_message_id_longer_than_its_column_is_malformed(key, fetch):
    body = sign_sns(notification(MessageId="x" * (sns.MAX_MESSAGE_ID_CHARS + 1)), key)
    with pytest.raises(SnsMalformed, match="MessageId"):
        verify(body, fetch)
    assert verify(sign_sns(notification(MessageId="x" * sns.MAX_MESSAGE_ID_CHARS), key), fetch)


# ---------------------------------------------------------------- certificates


def test_a_self_signed_certificate_from_an_sns_host_is_rejected(key):
    # CN, SAN, dates and key are SNS's; only the issuer is missing. Served by the real host or not,
    # nothing the system trusts vouches for it.
    self_signed = make_certificate(key, hostname="sns.amazonaws.com")
    with pytest.raises(SnsRejected, match="trusted CA"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(self_signed)))


def test_a_certificate_from_an_untrusted_ca_is_rejected_even_with_its_chain(key):
    other = FakeAmazonCA()
    served = pem_of(other.issue(key), other.intermediate, other.root)
    with pytest.raises(SnsRejected, match="trusted CA"):
        verify(sign_sns(notification(), key), FakeFetch(served))


def test_an_intermediate_served_with_the_certificate_completes_the_chain(key):
    ca = FakeAmazonCA()
    leaf, rest = ca.issue(key), (ca.intermediate,)
    bare = Certificates(FakeFetch(pem_of(leaf)), trust=lambda: Trust(ca.trust.roots, ()))
    served = Certificates(FakeFetch(pem_of(leaf, *rest)), trust=lambda: Trust(ca.trust.roots, ()))
    body = sign_sns(notification(), key)
    with pytest.raises(SnsRejected, match="trusted CA"):
        verify_message(body, allowed_topics=[TOPIC], certificates=bare)
    verify_message(body, allowed_topics=[TOPIC], certificates=served)


@pytest.mark.parametrize(
    "name",
    ["sns.us-west-2.amazonaws.com", "sns.s3.amazonaws.com", "evil.example", "amazonaws.com"],
)
def test_a_certificate_issued_to_anything_but_sns_is_rejected(key, name):
    # Trusted CA, right dates and key: only the name is wrong (for a us-east-1 URL).
    with pytest.raises(SnsRejected, match="issued to"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(CA.issue(key, common_name=name))))


def test_a_certificate_whose_names_do_not_include_its_common_name_is_rejected(key):
    leaf = CA.issue(key, dns_names=("evil.example",))
    with pytest.raises(SnsRejected, match="subjectAltName"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(leaf)))


def test_expired_certificate_is_rejected(key):
    now = datetime.now(UTC)
    expired = CA.issue(
        key, not_before=now - timedelta(days=30), not_after=now - timedelta(seconds=1)
    )
    with pytest.raises(SnsRejected, match="validity"):
        verify(sign_sns(notification(), key), FakeFetch(pem_of(expired)))


def test_not_yet_valid_certificate_is_rejected(key):
    now = datetime.now(UTC)
    future = CA.issue(key, not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))
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
    ec_pem = pem_of(CA.issue(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(SnsRejected, match="RSA"):
        verify(sign_sns(notification(), key), FakeFetch(ec_pem))


def _amazon_root_ca_1() -> x509.Certificate:
    """Amazon Root CA 1 from the system's trust store (the test is skipped without it)."""
    for der in ssl.create_default_context().get_ca_certs(binary_form=True):
        certificate = x509.load_der_x509_certificate(der)
        if certificate.subject.rfc4514_string() == "CN=Amazon Root CA 1,O=Amazon,C=US":
            return certificate
    pytest.skip("the system trust store has no Amazon Root CA 1")


def test_the_shipped_intermediates_are_amazons():
    root = _amazon_root_ca_1()
    intermediates = system_trust().intermediates
    assert [c.subject.rfc4514_string() for c in intermediates] == [
        f"CN=Amazon RSA 2048 M0{n},O=Amazon,C=US" for n in (1, 2, 3, 4)
    ]
    for intermediate in intermediates:
        intermediate.verify_directly_issued_by(root)  # raises unless Amazon Root CA 1 signed it


def test_a_real_sns_certificate_chains_to_the_system_trust_store():
    _amazon_root_ca_1()
    while_valid = datetime(2026, 6, 1, tzinfo=UTC)
    key = check(REAL_SNS_CERTIFICATE, host=HOST, now=while_valid, trust=system_trust())
    assert isinstance(key, rsa.RSAPublicKey)
    with pytest.raises(CertificateRefused, match="validity"):
        check(
            REAL_SNS_CERTIFICATE,
            host=HOST,
            now=datetime(2026, 10, 15, tzinfo=UTC),
            trust=system_trust(),
        )


@pytest.fixture
def system_store(monkeypatch) -> Iterator[list[bytes]]:
    """What the system's trust store holds, for system_trust() to read afresh."""
    held: list[bytes] = []
    monkeypatch.setattr(ssl.SSLContext, "get_ca_certs", lambda self, binary_form=False: held)
    system_trust.cache_clear()
    yield held
    system_trust.cache_clear()


def test_system_roots_cryptography_cannot_read_are_skipped(system_store):
    system_store.extend([b"not a certificate", CA.root.public_bytes(serialization.Encoding.DER)])
    leaf = pem_of(CA.issue(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    check(
        leaf,
        host=HOST,
        now=datetime.now(UTC),
        trust=type(CA.trust)(system_trust().roots, (CA.intermediate,)),
    )


def test_an_empty_system_trust_store_trusts_no_certificate(key, system_store):
    with pytest.raises(SnsRejected, match="trust store is empty"):
        verify_message(
            sign_sns(notification(), key),
            allowed_topics=[TOPIC],
            certificates=Certificates(FakeFetch(pem_of(CA.issue(key)))),
        )


# ---------------------------------------------------------------- fetching: once, rationed


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def url(n: int) -> str:
    return f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem"


def public_key(source: Certificates, address: str, now: datetime | None = None) -> Any:
    return source.public_key(address, host=HOST, now=now or datetime.now(UTC))


def test_a_certificate_is_fetched_once_and_checked_at_every_use(key):
    leaf = CA.issue(key, not_after=datetime.now(UTC) + timedelta(days=1))
    fetch = FakeFetch(pem_of(leaf))
    source = certificates(fetch)
    public_key(source, CERT_URL)
    public_key(source, CERT_URL)
    assert fetch.urls == [CERT_URL]
    with pytest.raises(CertificateRefused, match="validity"):
        public_key(source, CERT_URL, datetime.now(UTC) + timedelta(days=2))
    assert fetch.urls == [CERT_URL]


def test_fetches_of_new_urls_are_rationed_and_the_window_slides(fetch):
    clock = Clock()
    source = certificates(fetch, clock=clock)
    for n in range(sns_certificates.FETCH_BUDGET):
        public_key(source, url(n))
    with pytest.raises(FetchesRationed):
        public_key(source, url(99))
    assert len(fetch.urls) == sns_certificates.FETCH_BUDGET
    clock.now += sns_certificates.FETCH_WINDOW_SECONDS - 1
    with pytest.raises(FetchesRationed):
        public_key(source, url(99))
    clock.now += 1
    public_key(source, url(99))
    assert fetch.urls[-1] == url(99)


def test_urls_fetched_successfully_cost_nothing_once_the_budget_is_spent(fetch):
    source = certificates(fetch, clock=Clock())
    for n in range(sns_certificates.FETCH_BUDGET):
        public_key(source, url(n))
    for n in range(sns_certificates.FETCH_BUDGET):
        public_key(source, url(n))
    assert len(fetch.urls) == sns_certificates.FETCH_BUDGET


@pytest.mark.parametrize(
    "failing", [FakeFetch(error=OSError("refused")), FakeFetch(b"not a certificate")]
)
def test_a_failed_fetch_is_remembered_for_five_minutes_without_spending_budget(failing):
    clock = Clock()
    source = certificates(failing, clock=clock)
    with pytest.raises(CertificateRefused):
        public_key(source, CERT_URL)
    for _ in range(sns_certificates.FETCH_BUDGET + 1):
        clock.now += 10
        with pytest.raises(CertificateRefused, match="failed less than 5 minutes ago"):
            public_key(source, CERT_URL)
    assert failing.urls == [CERT_URL]
    clock.now = 1000.0 + sns_certificates.FAILURE_MEMORY_SECONDS
    with pytest.raises(CertificateRefused, match="no SNS certificate"):
        public_key(source, CERT_URL)
    assert failing.urls == [CERT_URL, CERT_URL]


def test_a_delivery_beyond_the_fetch_budget_is_unavailable_not_rejected(key, fetch):
    source = certificates(fetch)
    for n in range(sns_certificates.FETCH_BUDGET):
        public_key(source, url(n))
    body = sign_sns(notification(SigningCertURL=url(99)), key)
    with pytest.raises(SnsUnavailable):
        verify_message(body, allowed_topics=[TOPIC], certificates=source)
    assert url(99) not in fetch.urls


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
        verify_message(body, allowed_topics=[TOPIC], certificates=certificates(fetch))


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

CAP = sns_certificates.MAX_CERTIFICATE_BYTES
BODIES = {"/ok": b"pem", "/exact": b"x" * CAP, "/big": b"x" * (CAP + 1)}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves BODIES (with Content-Length, or without it under /undeclared), /redirect (to /ok)
    and /missing (404)."""

    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        path = self.path.removeprefix("/undeclared")
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path in BODIES:
            self.send_response(200)
            if path == self.path:
                self.send_header("Content-Length", str(len(BODIES[path])))
            self.end_headers()
            self.wfile.write(BODIES[path])
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
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    client_context = ssl.create_default_context(cafile=str(cert_path))
    monkeypatch.setattr(sns_fetch, "_OPENER", sns_fetch._build_opener(client_context))
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_default_fetcher_reads_a_small_body(https_server):
    base, paths = https_server
    assert sns_fetch.https_get(f"{base}/ok", 1024) == b"pem"
    assert paths == ["/ok"]


@pytest.mark.parametrize("prefix", ["", "/undeclared"])
def test_a_certificate_body_of_exactly_the_cap_is_read_and_one_byte_more_refused(
    https_server, prefix
):
    base, _ = https_server
    assert sns_certificates._fetch_certificate(f"{base}{prefix}/exact") == BODIES["/exact"]
    with pytest.raises(ValueError, match=f"more than {CAP} bytes"):
        sns_certificates._fetch_certificate(f"{base}{prefix}/big")


def test_default_fetcher_follows_no_redirect(https_server):
    base, paths = https_server
    with pytest.raises(urllib.error.HTTPError, match="302"):
        sns_fetch.https_get(f"{base}/redirect", 1024)
    assert paths == ["/redirect"]


def test_default_fetcher_raises_http_errors(https_server):
    base, paths = https_server
    with pytest.raises(urllib.error.HTTPError, match="404"):
        sns_fetch.https_get(f"{base}/missing", 1024)
    assert paths == ["/missing"]


def test_default_fetcher_verifies_tls(https_server, monkeypatch):
    base, paths = https_server
    # The system trust store does not know the test server's self-signed certificate.
    monkeypatch.setattr(sns_fetch, "_OPENER", sns_fetch._build_opener(ssl.create_default_context()))
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        sns_fetch.https_get(f"{base}/ok", 1024)
    assert paths == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/ok", "file:///etc/passwd", "data:,pem", "ftp://127.0.0.1/x.pem"]
)
def test_default_fetcher_speaks_only_https(url):
    with pytest.raises(ValueError, match="non-https"):
        sns_fetch.https_get(url, 1024)


def test_default_opener_speaks_only_https():
    # Defence in depth: even past the scheme check, the opener has no other protocol handlers.
    with pytest.raises(urllib.error.URLError, match="unknown url type"):
        sns_fetch._OPENER.open("http://127.0.0.1:9/", timeout=1)
