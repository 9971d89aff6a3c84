"""A loopback HTTPS server with a test CA of its own: a remote media host as fetching sees it.

Certificates are made with `cryptography` (EC keys: quick). A test trusts a CA by pointing
SSL_CERT_FILE at its `ca_file`, which `ssl.create_default_context()` then reads as its trust store.
Every request records the TLS server name (SNI) and the Host header it came with; one whose SNI is
not its Host's name is answered 421 Misdirected Request, as a real virtual host would.
"""

import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.http_server import running

NAME = "media.test"


@dataclass
class Answer:
    """What the server answers at a path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # How the body's end is told: Content-Length, chunked, or by closing the connection.
    framing: Literal["length", "chunked", "close"] = "length"
    # A Content-Length sent instead of the body's own (a lie), with "length" framing.
    content_length: int | None = None
    # Seconds to wait before answering at all (a stalled server).
    delay: float = 0.0
    # Seconds to wait between the body's 1 KiB pieces (a dribbling server).
    pace: float = 0.0


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    server_name: str | None
    host: str | None


class Resolver:
    """getaddrinfo for the test names (each a list of addresses), counting every lookup."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.names: dict[str, list[str]] = {}
        # What a name resolves to from its second lookup on (DNS rebinding).
        self.rebound: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        """Resolve a test name as set (or rebound), any other name for real."""
        self.calls.append(host)
        if host not in self.names:
            return self.real(host, port, *args, **kwargs)
        addresses = self.names[host]
        if host in self.rebound and self.calls.count(host) > 1:
            addresses = self.rebound[host]
        return [_info(address, port) for address in addresses]


def _info(address: str, port: int) -> tuple[Any, ...]:
    """One getaddrinfo entry for an address."""
    if ip_address(address).version == 4:
        return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
    return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))


class CertificateAuthority:
    """A CA made for one test run, which issues server certificates for names and addresses."""

    def __init__(self, common_name: str = "mediaupload test CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public = self._key.public_key()
        self.certificate = (
            _builder(name, name, public, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, names: list[str], directory: Path) -> tuple[Path, Path]:
        """Write a server certificate for these names (and 127.0.0.1) and its key; return both."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
        alternatives.append(x509.IPAddress(IPv4Address("127.0.0.1")))
        certificate = (
            _builder(subject, self.certificate.subject, key.public_key(), datetime.now(UTC))
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        cert_file, key_file = directory / "server.pem", directory / "server.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    """A certificate valid from a day ago to a day ahead."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """A CA's key usage (signing certificates) or a TLS server's (signing handshakes)."""
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class TLSServer:
    """Answers by path, and the requests seen; `url()` builds addresses on its port."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[Seen] = []
        self.port = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def url(self, path: str, host: str = NAME) -> str:
        """Return the https URL of a path on this server under a host name."""
        return f"https://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        """Return the paths asked so far, in order."""
        with self._lock:
            return [seen.path for seen in self.requests]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"  # for chunked answers

    def handle(self) -> None:
        """Finish the TLS handshake here, in the connection's thread, then serve requests."""
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate
        super().handle()

    def do_GET(self) -> None:
        site = self.server.site
        server_name = getattr(self.request, "sni", None)
        host = self.headers.get("Host")
        site._record(Seen(self.path, server_name, host))
        answer = site.answers.get(self.path.partition("?")[0], Answer(status=404))
        if answer.delay and site.stopping.wait(answer.delay):
            return  # the server is stopping: nobody waits for this answer any more
        if server_name != _name_of(host or ""):
            answer = Answer(status=421, body=b"Misdirected Request")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.framing == "length":
            length = len(answer.body) if answer.content_length is None else answer.content_length
            self.send_header("Content-Length", str(length))
        elif answer.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self._send_body(answer)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client stopped reading: as a refusal does

    def _send_body(self, answer: Answer) -> None:
        """Write the body in small pieces, framed as the answer says."""
        for start in range(0, len(answer.body), 1024):
            if start and answer.pace and self.server.site.stopping.wait(answer.pace):
                return  # the server is stopping: nobody reads the rest
            piece = answer.body[start : start + 1024]
            if answer.framing == "chunked":
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            self.wfile.write(piece)
        if answer.framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        if answer.content_length is not None:
            self.close_connection = True  # a lying length leaves the connection unusable

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: TLSServer, context: ssl.SSLContext) -> None:
        self.site = site
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up early, as fetching does when it refuses an answer."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection; its handshake waits for the handler's thread."""
        sock, address = self.socket.accept()
        sock.settimeout(5)
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls, address


def _name_of(host: str) -> str | None:
    """Return the name a Host header gives (no port), or None for an IP address (sent no SNI)."""
    name = host.rpartition("]")[0].lstrip("[") if host.startswith("[") else host.partition(":")[0]
    try:
        ip_address(name)
    except ValueError:
        return name
    return None


def _record_server_name(sock: Any, server_name: str | None, context: ssl.SSLContext) -> None:
    """Keep the name the client asked for (SNI) on its socket, for the handler to compare."""
    sock.sni = server_name


@contextmanager
def tls_server(ca: CertificateAuthority, names: tuple[str, ...] = (NAME,)) -> Iterator[TLSServer]:
    """Run a TLSServer on a free loopback port with a certificate from `ca` for these names."""
    site = TLSServer()
    with tempfile.TemporaryDirectory(prefix="mediaupload-tls-") as directory:
        cert_file, key_file = ca.issue(list(names), Path(directory))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = _record_server_name
        server = _Server(site, context)
    site.port = server.server_address[1]
    with running(server):
        try:
            yield site
        finally:
            site.stopping.set()  # before the loop stops: a stalled answer gives up
