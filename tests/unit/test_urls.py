"""The one URL reader (``parse_fetch_url``, ``require_url_text``): accepted, read as written, refused."""

from __future__ import annotations

import dataclasses

import pytest

from streamlit_alb_auth import errors
from streamlit_alb_auth.urls import parse_fetch_url, require_url_text


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


def test_an_issuer_is_checked_as_url_text_only():
    assert require_url_text("https://idp.example.com/realms/main") == "https://idp.example.com/realms/main"
    assert require_url_text("urn:example:issuer") == "urn:example:issuer"  # compared, never fetched
    for bad in ("https://idp.example.com/\\x", "https://idp.example.com/ x", 5, ""):
        with pytest.raises(errors.ConfigurationError):
            require_url_text(bad)  # type: ignore[arg-type]
