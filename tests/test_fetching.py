"""Fetching an https URL for attach(): only what the rules allow, at every hop (SSRF).

A loopback HTTPS server with a test CA stands in for the remote host; a fake resolver decides what
each name resolves to (and counts the lookups), so nothing here leaves the machine.
"""

import socket
import tempfile
import time
from collections.abc import Iterator
from ipaddress import ip_address
from typing import IO

import pytest

from tests.support.tls_server import (
    NAME,
    Answer,
    CertificateAuthority,
    Resolver,
    TLSServer,
    tls_server,
)
from uploads import conf, fetching
from uploads.fetching import FetchRefused, fetch

MiB = 1024**2


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    fake = Resolver(socket.getaddrinfo)
    fake.names = {NAME: ["127.0.0.1"], "other.test": ["127.0.0.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def trusted(ca, tmp_path, monkeypatch) -> None:
    """Trust the test CA (and only it) as the default trust store."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-certificates"))


@pytest.fixture
def server(ca, trusted, resolver, settings) -> Iterator[TLSServer]:
    """A trusted server on loopback, allowed by UPLOAD_ATTACH_ALLOWED_NETWORKS and _PORTS."""
    with tls_server(ca, (NAME, "other.test")) as site:
        settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.UPLOAD_ATTACH_ALLOWED_PORTS = [443, site.port]
        yield site


@pytest.fixture
def temporary_files(monkeypatch) -> list[IO[bytes]]:
    """Record the temporary files fetching makes, to see what became of them."""
    made: list[IO[bytes]] = []
    real = tempfile.TemporaryFile

    def recorded(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", recorded)
    return made


def refused(url: str, **options) -> str:
    """Fetch a URL that must be refused; return the refusal's message."""
    with pytest.raises(FetchRefused) as refusal:
        fetch(url, max_bytes=options.pop("max_bytes", MiB), **options)
    return str(refusal.value)


# ---------------------------------------------------------------- success


def test_a_file_is_fetched_into_a_temporary_file(server):
    body = b"\x1aE\xdf\xa3" + bytes(range(256)) * 40
    server.answers["/media/clip%20one.webm"] = Answer(
        body=body, headers={"Content-Type": "Video/WebM; codecs=vp9"}
    )
    fetched = fetch(server.url("/media/clip%20one.webm?signature=abc"), max_bytes=MiB)
    with fetched.file:
        assert fetched.file.tell() == 0
        assert fetched.file.read() == body
    assert fetched.size == len(body)
    assert fetched.filename == "clip one.webm"
    assert fetched.content_type == "video/webm"
    assert server.paths() == ["/media/clip%20one.webm?signature=abc"]


def test_no_content_type_and_no_file_name_are_empty(server):
    server.answers["/"] = Answer(body=b"x")
    fetched = fetch(server.url("/"), max_bytes=1)
    fetched.file.close()
    assert (fetched.filename, fetched.content_type, fetched.size) == ("", "", 1)


def test_tls_server_name_and_host_header_carry_the_name(server):
    server.answers["/a.png"] = Answer(body=b"png")
    fetch(server.url("/a.png"), max_bytes=MiB).file.close()
    [seen] = server.requests
    assert seen.server_name == NAME
    assert seen.host == f"{NAME}:{server.port}"


def test_the_connection_goes_to_the_address_resolved_once(server, resolver):
    # A second lookup would get an unroutable address (DNS rebinding): the fetch would fail.
    resolver.rebound[NAME] = ["203.0.113.9"]
    resolver.calls.clear()
    server.answers["/x.mp4"] = Answer(body=b"video")
    assert fetch(server.url("/x.mp4"), max_bytes=MiB).size == 5
    assert resolver.calls == [NAME]


def test_each_hop_is_resolved_once(server, resolver):
    server.answers["/first"] = Answer(
        302, headers={"Location": server.url("/second", "other.test")}
    )
    server.answers["/second"] = Answer(body=b"ok")
    resolver.calls.clear()
    fetch(server.url("/first"), max_bytes=MiB).file.close()
    assert resolver.calls == [NAME, "other.test"]
    assert [seen.server_name for seen in server.requests] == [NAME, "other.test"]


def test_environment_proxies_are_ignored(server, monkeypatch):
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server.answers["/a.jpg"] = Answer(body=b"jpeg")
    assert fetch(server.url("/a.jpg"), max_bytes=MiB).size == 4
    assert server.paths() == ["/a.jpg"]


def test_an_ip_address_in_an_allowed_network_is_fetched(server):
    server.answers["/a.mp3"] = Answer(body=b"mp3")
    assert fetch(server.url("/a.mp3", "127.0.0.1"), max_bytes=MiB).size == 3


# ---------------------------------------------------------------- the URL's rules


def test_only_https_is_fetched(server):
    assert "only https" in refused(f"http://{NAME}:{server.port}/a.mp4")
    assert "only https" in refused("file:///etc/passwd")
    assert server.requests == []


def test_a_user_name_or_password_is_refused_and_not_repeated(server):
    message = refused(f"https://admin:s3cret@{NAME}:{server.port}/a.mp4")
    assert "user name or password" in message
    assert "s3cret" not in message
    assert "admin" not in message
    assert server.requests == []


def test_an_unlisted_port_is_refused(server, settings):
    settings.UPLOAD_ATTACH_ALLOWED_PORTS = [443]
    assert f"port {server.port} is not allowed" in refused(server.url("/a.mp4"))
    assert server.requests == []


def test_the_default_port_is_443_and_must_be_listed(server, settings):
    settings.UPLOAD_ATTACH_ALLOWED_PORTS = [8443]
    assert "port 443 is not allowed" in refused(f"https://{NAME}/a.mp4")


def test_loopback_is_refused_unless_allowed(server, settings):
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = []
    assert "the address 127.0.0.1 is not public" in refused(server.url("/a.mp4", "127.0.0.1"))
    assert "the address 127.0.0.1 is not public" in refused(server.url("/a.mp4"))
    assert server.requests == []


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "169.254.169.254", "192.168.1.1", "::1", "fd00::1", "::ffff:10.0.0.1", "0.0.0.0"],
)
def test_a_name_resolving_to_a_private_address_is_refused(resolver, settings, address):
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = []
    resolver.names["cdn.example"] = [address]
    message = refused("https://cdn.example/video.mp4?token=secret")
    shown = ip_address(address)  # Python 3.13 spells IPv4-mapped addresses differently
    assert message == f"https://cdn.example/...: the address {shown} is not public"


def test_one_private_address_among_public_ones_refuses_the_name(resolver):
    resolver.names["cdn.example"] = ["8.8.8.8", "10.1.2.3"]
    assert "10.1.2.3 is not public" in refused("https://cdn.example/a.mp4")


def test_a_name_that_does_not_resolve_is_refused(resolver):
    resolver.names["nowhere.example"] = []
    assert "no IP address" in refused("https://nowhere.example/a.mp4")


@pytest.mark.parametrize(
    "url", ["https:///a.mp4", "https://exa%20mple.com/a.mp4", "https://[::1/a", "https://x:99999/"]
)
def test_urls_with_no_valid_host_or_port_are_refused(url):
    refused(url)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("192.0.2.1", False),  # documentation
        ("224.0.0.1", False),  # multicast (`is_global` says True)
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::1", False),
        ("::808:808", False),  # IPv4-compatible (`is_global` says True)
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff0e::1", False),  # multicast (`is_global` says True)
        ("2001:db8::1", False),
        ("2001::1", False),  # Teredo
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 to 127.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 to 8.8.8.8
        ("64:ff9b:1::808:808", False),  # local-use NAT64 (RFC 8215)
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
    ],
)
def test_public_addresses(address, public):
    assert fetching.is_public_address(ip_address(address)) is public


@pytest.mark.parametrize("address", ["::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1"])
def test_an_allowed_network_allows_its_addresses_however_spelled(settings, address):
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = ["10.0.0.0/30"]
    assert fetching._permitted(ip_address(address), conf.attach_allowed_networks())
    settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = ["10.0.0.4/30"]
    assert not fetching._permitted(ip_address(address), conf.attach_allowed_networks())


# ---------------------------------------------------------------- redirects


def test_up_to_three_redirects_are_followed_relative_to_each_url(server):
    server.answers["/r1"] = Answer(301, headers={"Location": "/r2"})
    server.answers["/r2"] = Answer(302, headers={"Location": server.url("/dir/r3")})
    server.answers["/dir/r3"] = Answer(307, headers={"Location": "final.mp4#t=10"})
    server.answers["/dir/final.mp4"] = Answer(body=b"mp4")
    fetched = fetch(server.url("/r1"), max_bytes=MiB)
    fetched.file.close()
    assert fetched.filename == "final.mp4"
    assert server.paths() == ["/r1", "/r2", "/dir/r3", "/dir/final.mp4"]


def test_a_fourth_redirect_is_refused(server):
    for number in range(1, 5):
        server.answers[f"/r{number}"] = Answer(308, headers={"Location": f"/r{number + 1}"})
    server.answers["/r5"] = Answer(body=b"never")
    assert "more than 3 redirects" in refused(server.url("/r1"))
    assert server.paths() == ["/r1", "/r2", "/r3", "/r4"]


def test_a_redirect_loop_is_refused(server):
    server.answers["/a"] = Answer(303, headers={"Location": "/b"})
    server.answers["/b"] = Answer(302, headers={"Location": "/a"})
    assert "loop" in refused(server.url("/a"))
    assert server.paths() == ["/a", "/b"]


def test_a_redirect_to_a_private_address_is_refused(server, resolver):
    resolver.names["internal.test"] = ["10.0.0.5"]
    location = f"https://internal.test:{server.port}/secret"
    server.answers["/go"] = Answer(302, headers={"Location": location})
    message = refused(server.url("/go"))
    assert message == f"https://internal.test:{server.port}/...: the address 10.0.0.5 is not public"


def test_a_redirect_is_checked_by_the_same_rules(server):
    server.answers["/plain"] = Answer(301, headers={"Location": f"http://{NAME}/a.mp4"})
    server.answers["/user"] = Answer(301, headers={"Location": f"https://u:p@{NAME}/a.mp4"})
    server.answers["/port"] = Answer(301, headers={"Location": f"https://{NAME}:8443/a.mp4"})
    server.answers["/none"] = Answer(302)
    assert "only https" in refused(server.url("/plain"))
    assert "user name or password" in refused(server.url("/user"))
    assert "port 8443 is not allowed" in refused(server.url("/port"))
    assert "no Location" in refused(server.url("/none"))


def test_an_answer_that_is_not_2xx_is_refused_with_its_status(server):
    server.answers["/gone"] = Answer(410)
    assert refused(server.url("/gone")).endswith(": the server answered 410 Gone")
    assert "answered 404" in refused(server.url("/missing"))


# ---------------------------------------------------------------- size, time and trust


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server, temporary_files):
    server.answers["/big"] = Answer(body=b"x" * 1000)
    assert "1000 bytes, more than 999" in refused(server.url("/big"), max_bytes=999)
    assert temporary_files == []


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_a_body_without_length_is_cut_off_past_the_limit(server, temporary_files, framing):
    server.answers["/stream"] = Answer(body=b"x" * 5000, framing=framing)
    assert "more than 4999 bytes" in refused(server.url("/stream"), max_bytes=4999)
    assert len(temporary_files) == 1
    assert temporary_files[0].closed


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_body_exactly_at_the_limit_is_taken(server, framing):
    server.answers["/exact"] = Answer(body=b"y" * 5000, framing=framing)
    fetched = fetch(server.url("/exact"), max_bytes=5000)
    with fetched.file:
        assert fetched.file.read() == b"y" * 5000


def test_a_body_longer_than_its_length_is_read_only_to_that_length(server):
    server.answers["/lie"] = Answer(body=b"z" * 5000, content_length=10)
    fetched = fetch(server.url("/lie"), max_bytes=100)
    with fetched.file:
        assert fetched.file.read() == b"z" * 10


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_dribbled_out_slower_than_the_least_throughput_is_refused(
    server, temporary_files, settings, monkeypatch, framing
):
    monkeypatch.setattr(fetching, "SLOW_START_SECONDS", 0.3)
    settings.UPLOAD_MIN_THROUGHPUT = 100_000  # bytes/s; the server sends 1 KiB every 0.2 s
    server.answers["/slow"] = Answer(body=b"s" * 20_000, pace=0.2, framing=framing)
    started = time.monotonic()
    message = refused(server.url("/slow"), max_bytes=MiB)
    assert "slower than UPLOAD_MIN_THROUGHPUT (100000 bytes/s)" in message
    assert time.monotonic() - started < 2  # the whole body would take 4 s
    assert temporary_files[0].closed


def test_a_slow_body_that_keeps_the_least_throughput_is_taken(server, settings, monkeypatch):
    monkeypatch.setattr(fetching, "SLOW_START_SECONDS", 0.3)
    settings.UPLOAD_MIN_THROUGHPUT = 1_000  # bytes/s: the server's ~5 KB/s keeps up
    server.answers["/slow"] = Answer(body=b"s" * 4_000, pace=0.2)
    fetched = fetch(server.url("/slow"), max_bytes=MiB)
    with fetched.file:
        assert fetched.file.read() == b"s" * 4_000


def test_a_body_shorter_than_its_length_is_refused(server, temporary_files):
    server.answers["/short"] = Answer(body=b"z" * 10, content_length=5000)
    assert "ended before its declared length" in refused(server.url("/short"))
    assert temporary_files[0].closed


def test_a_compressed_answer_is_refused(server):
    server.answers["/gz"] = Answer(body=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    assert "encoded (gzip)" in refused(server.url("/gz"))


def test_a_server_that_does_not_answer_times_out(server):
    server.answers["/slow"] = Answer(body=b"late", delay=10)
    started = time.monotonic()
    assert "no answer in time" in refused(server.url("/slow"), timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_certificate_from_an_untrusted_issuer_is_refused(trusted, resolver, settings):
    with tls_server(CertificateAuthority("someone else")) as other:
        settings.UPLOAD_ATTACH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.UPLOAD_ATTACH_ALLOWED_PORTS = [other.port]
        assert "certificate is not trusted" in refused(other.url("/a.mp4"))
        assert other.requests == []


def test_a_certificate_for_another_name_is_refused(server, resolver):
    resolver.names["wrong.test"] = ["127.0.0.1"]
    message = refused(server.url("/a.mp4", "wrong.test"))
    assert "certificate is not trusted" in message
    assert "wrong.test" in message
    assert server.requests == []


def test_nothing_is_trusted_but_the_trust_store(server, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    assert "certificate is not trusted" in refused(server.url("/a.mp4"))


def test_a_negative_limit_is_a_programming_error():
    with pytest.raises(ValueError, match="max_bytes"):
        fetch("https://example.com/", max_bytes=-1)
