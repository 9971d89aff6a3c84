"""SNS signing certificates: what makes one SNS's, and how often an unknown one may be fetched.

A certificate is trusted when it is issued to SNS, within its dates, and chains to a root of the
system's trust store (the store the TLS fetch of it trusts) through an intermediate served with it
or one Amazon issues from (`sns_issuers.py`). A self-signed certificate, or one from any CA the
system does not trust, is refused however it was fetched.
"""

import functools
import http.client
import ssl
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from uploads.events.sns_fetch import https_get
from uploads.events.sns_issuers import AMAZON_INTERMEDIATES

# AWS issues its signing certificates to sns.amazonaws.com, or to the regional endpoint's own name.
GLOBAL_NAME: Final = "sns.amazonaws.com"
# A real SNS signing certificate is about 2 KiB; anything far larger is not one.
MAX_CERTIFICATE_BYTES: Final = 64 * 1024
# A fetch that failed (or served no SNS certificate) is not tried again for this long.
FAILURE_MEMORY_SECONDS: Final = 300.0
# Fetches of URLs never fetched successfully, per process and window. SNS signs with one certificate
# per region for months, so a few suffice; more would let forged messages tie up request workers
# (each fetch may take FETCH_TIMEOUT_SECONDS).
FETCH_BUDGET: Final = 5
FETCH_WINDOW_SECONDS: Final = 60.0


class CertificateRefused(Exception):
    """No SNS signing certificate can be trusted from this URL (HTTP 403)."""


class FetchesRationed(Exception):
    """Too many unknown certificate URLs were fetched lately; try again later (HTTP 503)."""


@dataclass(frozen=True)
class Trust:
    """Roots a chain must end at, and intermediates that may stand between them and a leaf."""

    roots: Store
    intermediates: tuple[x509.Certificate, ...]


@functools.cache
def system_trust() -> Trust:
    """Return the system's trusted roots with Amazon's intermediates (read once per process)."""
    roots = []
    with warnings.catch_warnings():
        # Some system roots predate RFC 5280's rules (a negative serial); SNS never chains to them.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for der in ssl.create_default_context().get_ca_certs(binary_form=True):
            try:
                roots.append(x509.load_der_x509_certificate(der))
            except ValueError:
                continue  # a root cryptography cannot read cannot anchor a chain it checks either
    if not roots:
        raise CertificateRefused("the system trust store is empty: no SNS certificate is trusted")
    return Trust(Store(roots), tuple(x509.load_pem_x509_certificates(AMAZON_INTERMEDIATES)))


def _common_name(certificate: x509.Certificate) -> str:
    """Return the subject's one common name, or '' if it has none or several."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if len(names) == 1 else ""
    return value if isinstance(value, str) else ""


def check(pem: bytes, *, host: str, now: datetime, trust: Trust) -> rsa.RSAPublicKey:
    """Return the RSA key of an SNS signing certificate served from `host`, or raise."""
    try:
        leaf, *served = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise CertificateRefused(f"the signing certificate is unreadable: {error}") from error
    name = _common_name(leaf)
    if name not in (GLOBAL_NAME, host):
        raise CertificateRefused(f"the signing certificate is issued to {name!r}, not to SNS")
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CertificateRefused("the signing certificate is outside its validity period")
    key = leaf.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateRefused("the signing certificate does not hold an RSA key")
    # The Web PKI's rules for a server certificate of that name: anyone can make a certificate that
    # says CN=sns.amazonaws.com, but only Amazon can get a trusted CA to issue one.
    verifier = (
        PolicyBuilder().store(trust.roots).time(now).build_server_verifier(x509.DNSName(name))
    )
    try:
        verifier.verify(leaf, [*served, *trust.intermediates])
    except VerificationError as error:
        raise CertificateRefused(
            f"the signing certificate is not from a trusted CA: {error}"
        ) from error
    return key


class Certificates:
    """Signing certificates by URL: each fetched once and checked on every use; fetches rationed.

    `fetch(url)` returns the body or raises OSError, http.client.HTTPException or ValueError.
    """

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        *,
        trust: Callable[[], Trust] = system_trust,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._trust, self._clock = fetch, trust, clock
        self._lock = threading.Lock()  # request threads of one process share these
        self._good: dict[str, bytes] = {}  # URL → a body that passed the checks (only SNS's can)
        self._failed: dict[str, float] = {}  # URL → when its fetch or check failed
        self._spent: deque[float] = deque()  # when each fetch of a new URL began, in the window

    def public_key(self, url: str, *, host: str, now: datetime) -> rsa.RSAPublicKey:
        """Return the key of the SNS certificate at `url`, checked at `now`; fetch it if new."""
        with self._lock:
            pem = self._good.get(url)
            if pem is None:
                self._admit(url)
        if pem is not None:
            return check(pem, host=host, now=now, trust=self._trust())
        try:
            pem = self._fetch(url)
            key = check(pem, host=host, now=now, trust=self._trust())
        except (OSError, http.client.HTTPException, ValueError, CertificateRefused) as error:
            with self._lock:
                self._failed[url] = self._clock()
            raise CertificateRefused(f"no SNS certificate at {url!r}: {error}") from error
        with self._lock:
            self._good[url] = pem
        return key

    def _admit(self, url: str) -> None:
        """Let one fetch of a URL never fetched successfully go ahead, or raise (lock held)."""
        moment = self._clock()
        self._failed = {
            known: when
            for known, when in self._failed.items()
            if moment - when < FAILURE_MEMORY_SECONDS
        }
        if url in self._failed:
            raise CertificateRefused(f"fetching {url!r} failed less than 5 minutes ago")
        while self._spent and moment - self._spent[0] >= FETCH_WINDOW_SECONDS:
            self._spent.popleft()
        if len(self._spent) >= FETCH_BUDGET:
            raise FetchesRationed("too many new SNS certificate URLs lately; try again later")
        self._spent.append(moment)


def _fetch_certificate(url: str) -> bytes:
    """GET a SigningCertURL."""
    return https_get(url, MAX_CERTIFICATE_BYTES)


# One per process: SNS signs many messages with one certificate, fetched once.
CERTIFICATES = Certificates(_fetch_certificate)
