"""Pins of the one bounded fetcher (issue 14): caps, URL reading, the request it sends, its options.

Through ``Fetcher`` and ``parse_fetch_url`` against real loopback (and one real non-loopback TLS) servers.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pinning import Reply, ScriptedServer, non_loopback_address

from streamlit_alb_auth import errors
from streamlit_alb_auth.fetch import Fetcher, parse_fetch_url
from streamlit_alb_auth.urls import require_url_text


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({"/ok": Reply.body(b"hello")}) as running:
        yield running


def quick(**options: object) -> Fetcher:
    return Fetcher(**{"timeout": 3.0, "max_fetches_per_minute": 1000, **options})  # type: ignore[arg-type]


# --- caps -----------------------------------------------------------------------------------------------


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


# --- answers that are not a 200 -------------------------------------------------------------------------


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


# --- the request ----------------------------------------------------------------------------------------


def test_the_host_header_names_a_non_default_port(server):
    quick().get(server.url("/ok"))
    assert server.request_headers[-1]["host"] == f"127.0.0.1:{server.port}"


def test_extra_headers_are_sent(server):
    quick().get(server.url("/ok"), headers={"Authorization": "Bearer abc"})
    assert server.request_headers[-1]["authorization"] == "Bearer abc"


# --- options --------------------------------------------------------------------------------------------


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


# --- reading a URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("https://123.example.com/x", "123.example.com", 443),
        (
            "https://" + ".".join(["a" * 63] * 3) + "." + "b" * 61 + "/",
            ".".join(["a" * 63] * 3) + "." + "b" * 61,
            443,
        ),
        ("https://keys.example.com:65535/", "keys.example.com", 65535),
        ("https://keys.example.com:1/", "keys.example.com", 1),
        ("http://127.0.0.1/", "127.0.0.1", 80),
        ("https://Keys.Example.COM/", "keys.example.com", 443),
    ],
)
def test_urls_read_as_written(url, host, port):
    target = parse_fetch_url(url)
    assert (target.host, target.port) == (host, port)
    assert len(host) <= 253


@pytest.mark.parametrize(
    "url",
    [
        "https://" + ".".join(["a" * 63] * 3) + "." + "b" * 62 + "/",  # 254 characters
        "https://keys.example.com:65536/",
        "https://keys.example.com:0/",
        "https://example.123/",
        "http://0x7f.1/",
        "https://keys.example.com:/",
        "https://-keys.example.com/",
        "https://keys-.example.com/",
        "https://key_.example.com/",
        "https://ke_y.example.com/",
        "https://" + "a" * 64 + ".example.com/",
        "https://[zz]/",
        "https://[::1]x/",
        "https://[::1/",
    ],
)
def test_urls_refused(url):
    with pytest.raises(errors.ConfigurationError):
        parse_fetch_url(url)


@pytest.mark.parametrize("url", [5, None, b"https://keys.example.com/", ""])
def test_a_url_that_is_not_a_non_empty_string_is_refused(url):
    with pytest.raises(errors.ConfigurationError):
        parse_fetch_url(url)  # type: ignore[arg-type]


def test_where_names_scheme_host_port_and_path_only():
    assert (
        parse_fetch_url("https://keys.example.com/a/b?q=secret").where == "https://keys.example.com:443/a/b"
    )
    assert parse_fetch_url("http://[::1]:8080/x").where == "http://[::1]:8080/x"
    assert parse_fetch_url("http://127.0.0.1:8080").where == "http://127.0.0.1:8080/"


def test_a_read_url_cannot_be_changed_after_its_check():
    target = parse_fetch_url("https://keys.example.com/a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.host = "evil.example.com"  # type: ignore[misc]


# --- https to a real (non-loopback) address --------------------------------------------------------------


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


def test_an_issuer_is_checked_as_url_text_only():
    assert require_url_text("https://idp.example.com/realms/main") == "https://idp.example.com/realms/main"
    assert require_url_text("urn:example:issuer") == "urn:example:issuer"  # compared, never fetched
    for bad in ("https://idp.example.com/\\x", "https://idp.example.com/ x", 5, ""):
        with pytest.raises(errors.ConfigurationError):
            require_url_text(bad)  # type: ignore[arg-type]
