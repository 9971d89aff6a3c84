"""Fetch an https URL for `uploads.attach()` without letting it reach the server's own network.

Server-side request forgery is the danger: a URL (or a redirect) naming an internal host, a cloud
metadata address or a name that resolves to one. So every hop is checked the same way: https only,
no user name or password, an allowed port, and a host name resolved once, every address it resolves
to public (or inside UPLOAD_ATTACH_ALLOWED_NETWORKS); then the connection goes to that very address,
so a second DNS answer cannot swap it (DNS rebinding), with TLS verified against the host name.
"""

import http.client
import ipaddress
import re
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Final
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

from uploads import conf, media_types

TIMEOUT_SECONDS: Final = 30.0
# After this long, a body must have come at UPLOAD_MIN_THROUGHPUT on average: each read's timeout
# alone would let a server dribble a byte every 29 s and hold the attach for ever.
SLOW_START_SECONDS = 30.0
MAX_REDIRECTS: Final = 3
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES: Final = 64 * 1024
_HTTPS_PORT: Final = 443
# A host name as DNS spells it once IDNA has made it ASCII (underscores occur in real names).
_HOST_NAME: Final = re.compile(r"[a-z0-9_.-]+")
# What a request target may keep as it is; anything else (spaces, controls, non-ASCII) is quoted.
_TARGET_SAFE: Final = "!#$%&'()*+,-./:;=?@[]_~"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# getaddrinfo's (family, type, proto, sockaddr), kept to connect to exactly what was checked.
_Address = tuple[socket.AddressFamily, socket.SocketKind, int, tuple[Any, ...]]

# IPv4 ranges that are not the public internet (RFC 6890 and its updates), listed here as well as
# asked of `is_global`, whose answers changed between Python patch releases (CVE-2024-4032).
_NOT_PUBLIC_V4: Final = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
# Public IPv6 unicast is 2000::/3 (RFC 4291), minus protocol assignments (Teredo, benchmarking,
# ORCHID) and documentation. Everything outside it (::/96, ULA, link-local, multicast,
# 64:ff9b:1::/48, 100::/64) is refused.
_GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")
_NOT_PUBLIC_V6: Final = tuple(
    ipaddress.IPv6Network(cidr) for cidr in ("2001::/23", "2001:db8::/32", "3fff::/20")
)
# NAT64's well-known prefix: the last 32 bits are the IPv4 address the gateway connects to.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class FetchRefused(ValueError):
    """A URL that is not fetched, or an answer that is not taken; the message says which and why."""


@dataclass(frozen=True)
class Fetched:
    """A fetched file: a temporary file positioned at 0 (the caller closes it) and what it is."""

    file: BinaryIO
    size: int
    filename: str
    content_type: str


@dataclass(frozen=True)
class _Hop:
    """One request: a URL that passed the rules and the addresses its host name resolved to."""

    url: str
    host: str
    port: int
    target: str
    addresses: tuple[_Address, ...]


def fetch(url: str, *, max_bytes: int, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """GET an https URL (following up to 3 checked redirects) into a temporary file of at most
    `max_bytes`; raise FetchRefused when a rule refuses it or the fetch fails."""
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    # Made per fetch, so that the trust store is read as it is now (SSL_CERT_FILE included).
    context = ssl.create_default_context()
    seen: set[str] = set()
    for redirects in range(MAX_REDIRECTS + 1):
        hop = _checked(url)
        seen.add(hop.url)
        connection = _PinnedHTTPSConnection(hop, timeout=timeout, context=context)
        try:
            with _failures_refused(hop.url):
                response = _get(connection, hop)
                if response.status not in _REDIRECTS:
                    return _download(hop, response, max_bytes)
            url = _redirect_location(hop, response)
        finally:
            connection.close()
        if redirects == MAX_REDIRECTS:
            raise FetchRefused(f"{_shown(hop.url)}: more than {MAX_REDIRECTS} redirects")
        if _normalized(url) in seen:
            raise FetchRefused(f"{_shown(hop.url)}: the redirects go round in a loop")
    raise AssertionError("unreachable: the loop returns or raises")


# ---------------------------------------------------------------- the rules of every hop


def _checked(url: str) -> _Hop:
    """Apply the rules to a URL and resolve its host once; raise FetchRefused if any refuses it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # a bad port or IPv6 literal
        raise FetchRefused(f"{_shown(url)}: not a valid URL ({error})") from error
    if parts.scheme != "https":
        raise FetchRefused(f"{_shown(url)}: only https URLs are fetched")
    if "@" in parts.netloc:
        raise FetchRefused(f"{_shown(url)}: a URL with a user name or password is refused")
    port = _HTTPS_PORT if port is None else port
    if port not in conf.attach_allowed_ports():
        raise FetchRefused(f"{_shown(url)}: port {port} is not allowed")
    host = _host_name(parts, url)
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    checked_url = _normalized(url)
    return _Hop(checked_url, host, port, target, _resolved(host, port, checked_url))


def _host_name(parts: SplitResult, url: str) -> str:
    """Return the URL's host as an IP literal or an ASCII (IDNA) name; refuse anything else."""
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    # Only name characters: nothing that could bend the Host header or the TLS server name.
    if not _HOST_NAME.fullmatch(host):
        raise FetchRefused(f"{_shown(url)}: the URL names no valid host")
    return host


def _resolved(host: str, port: int, url: str) -> tuple[_Address, ...]:
    """Resolve a host name once; refuse it unless every address it has may be reached."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchRefused(f"{_shown(url)}: the name {host} does not resolve") from error
    allowed = conf.attach_allowed_networks()
    addresses: list[_Address] = []
    for family, kind, proto, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        # One internal address is enough to refuse: a name that points partly inside is an attack.
        if not _permitted(address, allowed):
            raise FetchRefused(f"{_shown(url)}: the address {address} is not public")
        addresses.append((family, kind, proto, sockaddr))
    if not addresses:
        raise FetchRefused(f"{_shown(url)}: the name {host} has no IP address")
    return tuple(addresses)


def _permitted(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """Tell whether an address (or the IPv4 one inside it) is allowed, or else public."""
    embedded = _embedded_ipv4(address)
    spellings = [address] if embedded is None else [address, embedded]
    if any(spelling in network for spelling in spellings for network in allowed):
        return True
    return is_public_address(address)


def is_public_address(address: IPAddress) -> bool:
    """Tell whether an address is on the public internet, judging an IPv6 address that carries
    an IPv4 one (mapped, NAT64, 6to4) by the IPv4 address it leads to."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        return (
            address in _GLOBAL_UNICAST_V6
            and not any(address in network for network in _NOT_PUBLIC_V6)
            and address.is_global
        )
    return (
        address.is_global
        and not address.is_multicast
        and not any(address in network for network in _NOT_PUBLIC_V4)
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 one reaches: IPv4-mapped, NAT64 or 6to4; else None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


# ---------------------------------------------------------------- the connection and the answer


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to addresses already checked, never to a fresh DNS answer, whose TLS
    server name (SNI), certificate check and Host header all use the host name."""

    def __init__(self, hop: _Hop, *, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(hop.host, hop.port, timeout=timeout, context=context)
        self._addresses = hop.addresses
        self._tls = context

    def connect(self) -> None:
        """Connect to the first checked address that answers, then verify TLS for the name."""
        sock = _connect(self._addresses, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _connect(addresses: Sequence[_Address], timeout: float | None) -> socket.socket:
    """Open a TCP connection to one of these addresses, in order, each within the timeout."""
    error: OSError | None = None
    for family, kind, proto, sockaddr in addresses:
        # Not socket.create_connection(): it would resolve the address again.
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as failure:
            sock.close()
            error = failure
            continue
        return sock
    assert error is not None  # _resolved() never returns an empty list
    raise error


def _get(connection: _PinnedHTTPSConnection, hop: _Hop) -> http.client.HTTPResponse:
    """Send the GET and return the answer's status and headers (the body still unread)."""
    # identity: the bytes stored must be the file's, not a compressed transfer of it.
    headers = {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": "django-mediaupload"}
    connection.request("GET", hop.target, headers=headers)
    return connection.getresponse()


def _redirect_location(hop: _Hop, response: http.client.HTTPResponse) -> str:
    """Return where a redirect leads, resolved against the URL that answered it."""
    location = response.getheader("Location")
    if not location:
        raise FetchRefused(f"{_shown(hop.url)}: a {response.status} redirect with no Location")
    return urljoin(hop.url, location.strip())


def _download(hop: _Hop, response: http.client.HTTPResponse, max_bytes: int) -> Fetched:
    """Take a final answer's body into a temporary file, refusing it whole past `max_bytes`."""
    if not 200 <= response.status < 300:
        raise FetchRefused(
            f"{_shown(hop.url)}: the server answered {response.status} {response.reason}".rstrip()
        )
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise FetchRefused(f"{_shown(hop.url)}: the answer is encoded ({encoding})")
    # A declared length over the limit is refused before a byte of the body is read.
    if response.length is not None and response.length > max_bytes:
        raise FetchRefused(
            f"{_shown(hop.url)}: the file is {response.length} bytes, more than {max_bytes}"
        )
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        size = _copy(response, file, max_bytes, hop.url)
        file.seek(0)
    except BaseException:
        file.close()  # nothing partial is handed back
        raise
    return Fetched(
        file=file,
        size=size,
        filename=unquote(urlsplit(hop.url).path.rpartition("/")[2]),
        content_type=media_types.bare_type(response.getheader("Content-Type")),
    )


def _copy(response: http.client.HTTPResponse, file: IO[bytes], max_bytes: int, url: str) -> int:
    """Copy the body into the file; refuse it once it passes max_bytes (whatever it declared)."""
    size, started = 0, time.monotonic()
    # Up to one byte past the limit, to tell "exactly at the limit" from "over it"; read1 answers
    # what one receive brings, so a dribbling server is caught between its bytes.
    while chunk := response.read1(min(_CHUNK_BYTES, max_bytes + 1 - size)):
        size += len(chunk)
        if size > max_bytes:
            raise FetchRefused(f"{_shown(url)}: the file is more than {max_bytes} bytes")
        file.write(chunk)
        _keep_pace(size, time.monotonic() - started, url)
    # http.client's read(amt) answers b"" at a premature end instead of raising: what is left of
    # the declared length says whether the body came whole.
    if response.length:
        raise FetchRefused(f"{_shown(url)}: the answer ended before its declared length")
    return size


def _keep_pace(size: int, seconds: float, url: str) -> None:
    """Refuse a body that, past its slow start, comes slower than UPLOAD_MIN_THROUGHPUT."""
    least = conf.min_throughput()
    if seconds > SLOW_START_SECONDS and size < least * seconds:
        raise FetchRefused(
            f"{_shown(url)}: the file came at {size / seconds:.0f} bytes/s over {seconds:.0f} s, "
            f"slower than UPLOAD_MIN_THROUGHPUT ({least} bytes/s)"
        )


@contextmanager
def _failures_refused(url: str) -> Iterator[None]:
    """Turn a failed connection, TLS handshake or exchange into FetchRefused saying which."""
    try:
        yield
    except ssl.SSLCertVerificationError as error:
        raise FetchRefused(
            f"{_shown(url)}: the server's certificate is not trusted ({error.verify_message})"
        ) from error
    except TimeoutError as error:
        raise FetchRefused(f"{_shown(url)}: no answer in time") from error
    except http.client.IncompleteRead as error:
        raise FetchRefused(f"{_shown(url)}: the answer ended before its declared length") from error
    except (OSError, http.client.HTTPException) as error:
        raise FetchRefused(f"{_shown(url)}: the fetch failed ({type(error).__name__})") from error


# ---------------------------------------------------------------- URLs as shown and compared


def _normalized(url: str) -> str:
    """Return a URL without its fragment (never sent), to compare the hops of a redirect chain."""
    return urlsplit(url)._replace(fragment="").geturl()


def _shown(url: str) -> str:
    """Return a URL's scheme, host and port only: paths and queries may carry tokens, and the
    user name and password are never repeated."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}/..."
