"""The one outbound fetcher against real loopback servers, hostile ones included (raw sockets)."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rawhttp import RawServer, drip

from streamlit_alb_auth import errors
from streamlit_alb_auth.fetch import Fetcher, parse_fetch_url

DEADLINE = 1.0
LOOPBACK = "127.0.0.1"


def answer(status: str = "200 OK", body: bytes = b"hello", headers: dict[str, str] | None = None):
    head = {"Content-Length": str(len(body)), **(headers or {})}
    lines = "".join(f"{name}: {value}\r\n" for name, value in head.items())
    return f"HTTP/1.1 {status}\r\n{lines}\r\n".encode() + body


def serve(data: bytes):
    return RawServer(lambda conn: conn.sendall(data))


def fetcher(**overrides) -> Fetcher:
    return Fetcher(**{"timeout": DEADLINE, "max_bytes": 1000, "what": "test server", **overrides})


def test_a_plain_answer_is_returned():
    with serve(answer(body=b'{"a": 1}', headers={"Content-Type": "application/json"})) as server:
        response = fetcher().get(server.url + "/x?y=1")
    assert response.body == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_server_is_cut_off_at_the_deadline(part):
    """Issue 10 item 4: one byte every 0.2 s would take 10 s; the deadline is 1 s."""
    filler = b"a" * 50
    if part == "headers":
        response, prefix = answer(headers={"X-Filler": filler.decode()}), b""
    else:
        response, prefix = b"", answer(body=filler)[: -len(filler)]
        response = filler

    def handler(conn):
        conn.sendall(prefix)
        drip(conn, response, 0.2)

    with RawServer(handler) as server:
        start = time.monotonic()
        with pytest.raises(errors.FetchTimeoutError):
            fetcher().get(server.url + "/")
        assert time.monotonic() - start < DEADLINE + 1.5


def test_a_silent_server_times_out():
    with RawServer(lambda conn: time.sleep(5)) as server, pytest.raises(errors.FetchTimeoutError):
        fetcher().get(server.url + "/")


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_redirects_are_errors_and_never_followed(status):
    with RawServer(lambda conn: None) as elsewhere:
        location = {"Location": elsewhere.url + "/elsewhere"}
        with serve(answer(status, b"", location)) as server, pytest.raises(errors.FetchResponseError):
            fetcher().get(server.url + "/")
        assert elsewhere.connections == 0


def test_other_statuses_are_errors():
    with (
        serve(answer("500 Internal Server Error", b"oops")) as server,
        pytest.raises(errors.FetchResponseError),
    ):
        fetcher().get(server.url + "/")


def test_a_declared_oversized_body_is_refused_unread():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n"
    with serve(head + b"x" * 2000) as server, pytest.raises(errors.FetchTooLargeError):
        fetcher().get(server.url + "/")


def test_an_undeclared_oversized_body_is_cut_at_the_cap():
    sent = []

    def handler(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(32 * 1024):  # 32 MiB if nobody stops reading
            conn.sendall(b"x" * 1024)
            sent.append(1)

    with RawServer(handler) as server, pytest.raises(errors.FetchTooLargeError):
        fetcher().get(server.url + "/")
    assert len(sent) < 32 * 1024


def chunked(*parts: bytes, headers: str = "") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
    return f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n{headers}\r\n".encode() + body


def test_chunked_bodies_are_decoded():
    with serve(chunked(b"hel", b"lo")) as server:
        assert fetcher().get(server.url + "/").body == b"hello"


def test_chunked_bodies_count_against_the_cap():
    with serve(chunked(*[b"x" * 400] * 3)) as server, pytest.raises(errors.FetchTooLargeError):
        fetcher().get(server.url + "/")


def test_gzip_bodies_are_decoded():
    data = gzip.compress(b"hello" * 100)
    with serve(answer(body=data, headers={"Content-Encoding": "gzip"})) as server:
        assert fetcher().get(server.url + "/").body == b"hello" * 100


def test_a_gzip_bomb_is_stopped_at_the_cap():
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024))
    assert len(bomb) < 1000 * 20
    response = answer(body=bomb, headers={"Content-Encoding": "gzip"})
    with serve(response) as server, pytest.raises(errors.FetchTooLargeError):
        fetcher(max_bytes=100_000).get(server.url + "/")


@pytest.mark.parametrize(
    "response",
    [
        answer(body=b"hello", headers={"Content-Encoding": "br"}),
        answer(body=b"not gzip", headers={"Content-Encoding": "gzip"}),
        answer(body=gzip.compress(b"hello" * 100)[:20], headers={"Content-Encoding": "gzip"}),
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
        b"garbage\r\n\r\n",
        b"",
    ],
    ids=["brotli", "not-gzip", "truncated-gzip", "truncated", "not-http", "empty"],
)
def test_broken_answers_are_response_errors(response):
    with serve(response) as server, pytest.raises((errors.FetchResponseError, errors.FetchUnavailableError)):
        fetcher().get(server.url + "/")


def test_a_refused_connection_is_unavailable():
    with RawServer(lambda conn: None) as server:
        url = server.url
    with pytest.raises(errors.FetchUnavailableError):
        fetcher().get(url + "/")


def test_fetches_are_rate_limited_in_a_sliding_window():
    now = [1000.0]
    limited = fetcher(max_fetches_per_minute=2, clock=lambda: now[0])
    with RawServer(lambda conn: conn.sendall(answer())) as server:
        limited.get(server.url + "/")
        limited.get(server.url + "/")
        with pytest.raises(errors.FetchRateLimitedError):
            limited.get(server.url + "/")
        assert server.connections == 2
        now[0] += 61
        assert limited.get(server.url + "/").body == b"hello"
    assert (limited.fetch_count, limited.rate_limited_count) == (3, 1)


def test_header_values_with_line_breaks_are_never_sent():
    with RawServer(lambda conn: conn.sendall(answer())) as server:
        with pytest.raises(errors.FetchError):
            fetcher().get(server.url + "/", headers={"Authorization": "Bearer x\r\nX-Injected: 1"})
        time.sleep(0.2)
        assert server.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:8080\\@127.0.0.1:8080/",  # issue 10 item 3: urlsplit and urllib3 disagreed here
        "http://keys.attacker.example:80\\@127.0.0.1/",
        "http://user:secret@127.0.0.1/",
        "https://user@keys.example.com/",
        "http://keys.example.com/",
        "http://localhost.attacker.example/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://127.0.0.1:\u0668\u0660/",
        "https://ke\u00fds.example.com/",
        "https://keys.example.com/a b",
        "https://keys.example.com/a\tb",
        "https://keys.example.com/a\nb",
        "https://keys.example.com/\x00",
        "https://keys.example.com/#frag",
        "https://keys.example.com:0/",
        "https://keys.example.com:99999/",
        "https://keys.example.com:/",
        "https://-bad.example.com/",
        "https://",
        "http://[::1",
        "http://[fe80::1%25eth0]/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "//keys.example.com/",
        "",
    ],
)
def test_urls_are_refused_by_the_parser_that_fetches(url):
    with pytest.raises(errors.ConfigurationError) as raised:
        parse_fetch_url(url, "key URL")
    assert "secret" not in str(raised.value)
    assert "key URL" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "host", "port", "target"),
    [
        ("http://127.0.0.1:8080/keys", "127.0.0.1", 8080, "/keys"),
        ("http://localhost/", "localhost", 80, "/"),
        ("http://[::1]:81/a?b=c", "::1", 81, "/a?b=c"),
        ("HTTPS://Keys.Example.COM", "keys.example.com", 443, "/"),
        ("https://idp.example.com?x=1", "idp.example.com", 443, "/?x=1"),
    ],
)
def test_accepted_urls_are_read_as_they_are_fetched(url, host, port, target):
    parsed = parse_fetch_url(url)
    assert (parsed.host, parsed.port, parsed.target) == (host, port, target)


def test_the_backslash_url_connects_nowhere():
    """The fetcher refuses before connecting, so neither host ever sees a request."""
    with RawServer(lambda conn: conn.sendall(answer())) as target:
        url = f"http://127.0.0.2:{target.port}\\@127.0.0.1:{target.port}/"
        with pytest.raises(errors.ConfigurationError):
            fetcher().get(url)
        assert target.connections == 0


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem"


def tls_server(tls_files, handler):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)

    def wrapped(conn):
        with context.wrap_socket(conn, server_side=True) as secure:
            secure.settimeout(10)
            secure.recv(4096)
            handler(secure)

    return RawServer(wrapped, raw=True)


def test_https_checks_the_certificate(tls_files):
    with tls_server(tls_files, lambda conn: conn.sendall(answer())) as server:
        url = f"https://127.0.0.1:{server.port}/"
        with pytest.raises(errors.FetchUnavailableError):
            fetcher().get(url)
        trusting = ssl.create_default_context(cafile=str(tls_files[0]))
        assert fetcher(ssl_context=trusting).get(url).body == b"hello"


def test_https_headers_dripped_are_cut_off_at_the_deadline(tls_files):
    with tls_server(tls_files, lambda conn: drip(conn, answer(body=b"x" * 50), 0.2)) as server:
        trusting = ssl.create_default_context(cafile=str(tls_files[0]))
        start = time.monotonic()
        with pytest.raises(errors.FetchTimeoutError):
            fetcher(ssl_context=trusting).get(f"https://127.0.0.1:{server.port}/")
        assert time.monotonic() - start < DEADLINE + 1.5
