"""The one outbound fetcher against real loopback servers, hostile ones included (raw sockets)."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import ssl
import time
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers.pinning import Reply, ScriptedServer, non_loopback_address
from helpers.rawhttp import RawServer, drip

from streamlit_alb_auth import errors
from streamlit_alb_auth.fetch import Fetcher

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


# Each check of the fetcher pinned: caps, the request it sends, its options.
#
# Through ``Fetcher`` and ``parse_fetch_url`` against real loopback (and one real non-loopback TLS) servers.


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({"/ok": Reply.body(b"hello")}) as running:
        yield running


def quick(**options: object) -> Fetcher:
    return Fetcher(**{"timeout": 3.0, "max_fetches_per_minute": 1000, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize("chunked", [False, True])
def test_the_default_body_cap_is_64_kib_inclusive(server, chunked):
    server.routes["/at"] = Reply(chunks=[b"x" * 65536], chunked=chunked)
    server.routes["/over"] = Reply(chunks=[b"x" * 65537], chunked=chunked)
    assert len(Fetcher().get(server.url("/at")).body) == 65536
    with pytest.raises(errors.FetchTooLargeError):
        Fetcher().get(server.url("/over"))


def test_a_flood_of_response_headers_is_refused(server):
    # 99 headers of 1 KiB each: within http.client's own limits, far beyond any answer we need.
    headers = {f"X-Filler-{n}": "f" * 1024 for n in range(99)}
    server.routes["/flood"] = Reply(chunks=[b"{}"], headers=headers)
    with pytest.raises(errors.FetchTooLargeError):
        quick(max_bytes=1024).get(server.url("/flood"))


def test_ordinary_response_headers_fit(server):
    server.routes["/headers"] = Reply(
        chunks=[b"x" * 1024], headers={f"X-H-{n}": "v" * 100 for n in range(20)}
    )
    assert len(quick(max_bytes=1024).get(server.url("/headers")).body) == 1024


def test_a_gzip_body_is_decoded_within_the_cap(server):
    server.routes["/gz"] = Reply(chunks=[b"y" * 4000], gzip=True)
    server.routes["/gz-over"] = Reply(chunks=[b"y" * 4001], gzip=True)
    assert quick(max_bytes=4000).get(server.url("/gz")).body == b"y" * 4000
    with pytest.raises(errors.FetchTooLargeError):
        quick(max_bytes=4000).get(server.url("/gz-over"))


def test_a_redirect_is_named_as_one_and_other_statuses_are_not(server):
    server.routes["/moved"] = Reply.body(b"", status=302, headers={"Location": server.url("/ok")})
    server.routes["/bad"] = Reply.body(b"", status=400)
    with pytest.raises(errors.FetchResponseError, match="redirect"):
        quick().get(server.url("/moved"))
    for status in (400, 404, 500):
        server.routes["/bad"] = Reply.body(b"", status=status)
        with pytest.raises(errors.FetchResponseError) as bad:
            quick().get(server.url("/bad"))
        assert "redirect" not in str(bad.value) and str(status) in str(bad.value)
    assert server.count("/ok") == 0


def test_the_host_header_names_a_non_default_port(server):
    quick().get(server.url("/ok"))
    assert server.request_headers[-1]["host"] == f"127.0.0.1:{server.port}"


def test_extra_headers_are_sent(server):
    quick().get(server.url("/ok"), headers={"Authorization": "Bearer abc"})
    assert server.request_headers[-1]["authorization"] == "Bearer abc"


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"timeout": -1}, {"max_bytes": 0}, {"max_fetches_per_minute": 0}],
)
def test_limits_that_are_not_positive_are_refused(options):
    with pytest.raises(errors.ConfigurationError):
        Fetcher(**options)  # type: ignore[arg-type]


def test_the_smallest_limits_are_accepted(server):
    fetcher = Fetcher(timeout=0.5, max_bytes=5, max_fetches_per_minute=1)
    assert fetcher.get(server.url("/ok")).body == b"hello"
    with pytest.raises(errors.FetchRateLimitedError):
        fetcher.get(server.url("/ok"))


def test_fetcher_options_are_keyword_only():
    with pytest.raises(TypeError):
        Fetcher(5.0)  # type: ignore[misc]


def certificate_for(address: str, folder) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for ``address``: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    moment = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - datetime.timedelta(hours=1))
        .not_valid_after(moment + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    (folder / "c.pem").write_bytes(pem)
    (folder / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(folder / "c.pem", folder / "k.pem")
    return serving, ssl.create_default_context(cadata=pem.decode())


def test_https_reaches_a_non_loopback_address(tmp_path):
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback interface on this machine")
    serving, trusting = certificate_for(address, tmp_path)
    with ScriptedServer({"/k": Reply.body(b"key")}, host=address, tls=serving) as running:
        url = f"https://{address}:{running.port}/k"
        assert quick(ssl_context=trusting).get(url).body == b"key"
        with pytest.raises(errors.ConfigurationError):
            quick().get(url.replace("https://", "http://"))


@pytest.mark.parametrize(
    ("status", "called_a_redirect"),
    [
        ("299 Odd", False),
        ("300 Multiple Choices", True),
        ("302 Found", True),
        ("399 Odd", True),
        ("400 Bad", False),
    ],
)
def test_only_a_3xx_answer_is_called_a_redirect_in_the_error(status, called_a_redirect):
    with serve(answer(status)) as server, pytest.raises(errors.FetchResponseError) as refused:
        fetcher().get(server.url + "/")
    assert f"HTTP {status.split()[0]}" in str(refused.value)
    assert ("a redirect, not followed" in str(refused.value)) is called_a_redirect
