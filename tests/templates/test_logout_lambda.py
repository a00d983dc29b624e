"""The logout Lambda, loaded by file path as the Lambda runtime would, on ALB-shaped events."""

from __future__ import annotations

import ast
import logging
import sys
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.logout_lambda import (
    APP_URL,
    CLIENT_ID,
    CLOSED_ENDPOINT,
    EXPECTED_LOCATION,
    LAMBDA_PATH,
    assert_refused,
    configured_handler,
    cookies_of,
    expired,
    header,
    multi_value_event,
    signed_in,
    single_value_event,
)

from streamlit_alb_auth.templates import logout_lambda
from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE, SHARDS


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch):
    return configured_handler(monkeypatch)


def test_multi_value_mode_expires_every_shard_and_redirects(configured) -> None:
    response = configured(multi_value_event(), None)

    assert "headers" not in response
    assert response["statusCode"] == 302
    assert response["statusDescription"] == "302 Found"
    assert response["isBase64Encoded"] is False
    assert response["body"] == ""
    assert response["multiValueHeaders"]["Location"] == [EXPECTED_LOCATION]
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    assert response["multiValueHeaders"]["Set-Cookie"] == [
        expired(f"{SESSION_COOKIE}-{shard}") for shard in range(SHARDS)
    ]


def test_single_value_mode_expires_shard_zero_and_hops_to_shard_one(configured, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        response = configured(single_value_event(), None)

    assert "multiValueHeaders" not in response
    assert response["statusCode"] == 302
    assert response["statusDescription"] == "302 Found"
    assert response["isBase64Encoded"] is False
    assert response["headers"] == {
        "Location": "?shard=1",
        "Cache-Control": "no-store",
        "Set-Cookie": expired(f"{SESSION_COOKIE}-0"),
    }
    assert all(isinstance(value, str) for value in response["headers"].values())
    assert not caplog.records


def test_multi_value_mode_does_not_warn(configured, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        configured(multi_value_event(), None)
    assert not caplog.records


@pytest.mark.parametrize("make_event", [single_value_event, multi_value_event])
def test_every_shard_cookie_has_exact_expiry_attributes(configured, make_event) -> None:
    cookies = cookies_of(configured(make_event(), None))
    assert cookies, "no Set-Cookie at all"
    for shard, cookie in enumerate(cookies):
        name_value, *attributes = cookie.split("; ")
        assert name_value == f"{SESSION_COOKIE}-{shard}="
        named = dict(a.split("=", 1) for a in attributes if "=" in a)
        flags = {a for a in attributes if "=" not in a}
        assert named.keys() == {"Max-Age", "Expires", "Path"}
        assert named["Max-Age"] == "0"
        assert named["Path"] == "/"
        assert parsedate_to_datetime(named["Expires"]).year == 1970
        assert flags == {"Secure", "HttpOnly"}
        assert "Domain" not in cookie, "the ALB sets host-only cookies; a Domain would miss them"


def test_custom_cookie_name(configured, monkeypatch) -> None:
    monkeypatch.setenv("SESSION_COOKIE_NAME", "MyApp_Session.v2")
    cookies = cookies_of(configured(multi_value_event(), None))
    assert [c.split("=", 1)[0] for c in cookies] == [f"MyApp_Session.v2-{i}" for i in range(4)]


def test_region_prefix_domain(configured, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-gov-west-1")
    monkeypatch.setenv("COGNITO_USER_POOL_DOMAIN_PREFIX", "acme-prod-2")
    location = urlsplit(header(configured(multi_value_event(), None), "Location"))

    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "acme-prod-2.auth.us-gov-west-1.amazoncognito.com",
        "/logout",
    )
    assert parse_qs(location.query, strict_parsing=True) == {
        "client_id": [CLIENT_ID],
        "logout_uri": [APP_URL],
    }


def test_custom_domain_takes_precedence_over_prefix(configured, monkeypatch) -> None:
    monkeypatch.setenv("COGNITO_DOMAIN", "Auth.Example.COM")
    location = urlsplit(header(configured(multi_value_event(), None), "Location"))
    assert location.netloc == "auth.example.com"
    assert location.path == "/logout"


def test_custom_domain_needs_no_prefix_or_region(configured, monkeypatch) -> None:
    monkeypatch.delenv("COGNITO_USER_POOL_DOMAIN_PREFIX")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("COGNITO_DOMAIN", "login.corp.example.org")
    response = configured(multi_value_event(), None)
    assert response["statusCode"] == 302
    assert header(response, "Location").startswith("https://login.corp.example.org/logout?")


def test_configuration_is_read_at_call_time(configured, monkeypatch) -> None:
    first = header(configured(multi_value_event(), None), "Location")
    monkeypatch.setenv("APP_LOGOUT_URL", "https://other.example.com/bye")
    second = header(configured(multi_value_event(), None), "Location")
    assert first == EXPECTED_LOCATION
    assert parse_qs(urlsplit(second).query)["logout_uri"] == ["https://other.example.com/bye"]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/",
        "http://127.0.0.1:8501/after-logout",
        "https://localhost/",
        "https://App.Example.com:8443/signed-out?from=logout&x=%2F",
    ],
)
def test_allowed_sign_out_urls_pass_through_unchanged(configured, monkeypatch, url) -> None:
    monkeypatch.setenv("APP_LOGOUT_URL", url)
    response = configured(multi_value_event(), None)
    assert response["statusCode"] == 302
    assert parse_qs(urlsplit(header(response, "Location")).query)["logout_uri"] == [url]


@pytest.mark.parametrize("make_event", [single_value_event, multi_value_event])
@pytest.mark.parametrize(
    ("missing", "mention"),
    [
        ("COGNITO_CLIENT_ID", "COGNITO_CLIENT_ID"),
        ("APP_LOGOUT_URL", "APP_LOGOUT_URL"),
        ("COGNITO_USER_POOL_DOMAIN_PREFIX", "COGNITO_DOMAIN"),
        ("AWS_REGION", "AWS_REGION"),
    ],
)
def test_missing_configuration_is_a_logged_500(
    configured, monkeypatch, caplog, make_event, missing, mention
) -> None:
    monkeypatch.delenv(missing)
    with caplog.at_level(logging.ERROR):
        response = configured(make_event(), None)
    assert_refused(response, caplog, mention)


def test_nothing_configured_is_a_logged_500(handler, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        response = handler(multi_value_event(), None)
    assert_refused(response, caplog, "misconfigured")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_LOGOUT_URL", "http://app.example.com/"),
        ("APP_LOGOUT_URL", "http://localhost.evil.example/"),
        ("APP_LOGOUT_URL", "javascript:alert(1)"),
        ("APP_LOGOUT_URL", "//app.example.com/"),
        ("APP_LOGOUT_URL", "https://user:pw@app.example.com/"),
        ("APP_LOGOUT_URL", "https://app.example.com/\r\nSet-Cookie: x=1"),
        ("APP_LOGOUT_URL", "https://app.example.com/ space"),
        ("COGNITO_DOMAIN", "https://auth.example.com"),
        ("COGNITO_DOMAIN", "auth.example.com/logout"),
        ("COGNITO_DOMAIN", "auth.example.com:443"),
        ("COGNITO_DOMAIN", "evil.example?x=auth.example.com"),
        ("COGNITO_DOMAIN", "user@auth.example.com"),
        ("COGNITO_DOMAIN", "-auth.example.com"),
        ("COGNITO_DOMAIN", "localhost"),
        ("COGNITO_USER_POOL_DOMAIN_PREFIX", "My_Prefix"),
        ("COGNITO_USER_POOL_DOMAIN_PREFIX", "evil.example/x"),
        ("AWS_REGION", "eu-west-1.evil.example"),
        ("COGNITO_CLIENT_ID", "abc&logout_uri=https://evil.example"),
        ("SESSION_COOKIE_NAME", "bad name"),
        ("SESSION_COOKIE_NAME", "a;Domain=evil.example"),
        ("SESSION_COOKIE_NAME", "a=b"),
    ],
)
def test_invalid_configuration_is_a_logged_500(configured, monkeypatch, caplog, name, value) -> None:
    monkeypatch.setenv(name, value)
    with caplog.at_level(logging.ERROR):
        response = configured(multi_value_event(), None)
    assert_refused(response, caplog, name)


HOSTILE_REQUESTS = {
    "redirect query": {"query": {"redirect": "https://evil.example"}},
    "logout_uri query": {"query": {"logout_uri": "https://evil.example/", "client_id": "evil"}},
    "next and state": {"query": {"next": "//evil.example", "redirect_uri": "https://evil.example"}},
    "repeated query": {"query": {"logout_uri": ["https://evil.example/", "https://x.example/"]}},
    "spoofed host": {"headers": {"host": "evil.example", "x-forwarded-host": "evil.example"}},
    "referer": {"headers": {"referer": "https://evil.example/"}},
    "own origin spelled with its port": {"headers": {"origin": "https://APP.example.com:443"}},
    "http proto": {"headers": {"x-forwarded-proto": "http", "x-forwarded-port": "80"}},
    "other path": {"path": "//evil.example/cognito/logout"},
    "post body": {"httpMethod": "POST", "body": "logout_uri=https%3A%2F%2Fevil.example"},
    "base64 body": {"body": "bG9nb3V0X3VyaT1ldmls", "isBase64Encoded": True},
}


@pytest.mark.parametrize(
    ("make_event", "location"), [(single_value_event, "?shard=1"), (multi_value_event, EXPECTED_LOCATION)]
)
@pytest.mark.parametrize("hostile", HOSTILE_REQUESTS.values(), ids=HOSTILE_REQUESTS.keys())
def test_hostile_requests_get_the_same_answer(configured, make_event, location, hostile) -> None:
    baseline = configured(make_event(), None)
    fields = {k: v for k, v in hostile.items() if k not in ("query", "headers")}
    event = make_event(hostile.get("query"), hostile.get("headers"), **fields)

    response = configured(event, None)

    assert response == baseline
    assert "evil" not in repr(response)
    assert header(response, "Location") == location


def test_get_and_post_log_out_every_other_method_is_a_405_that_changes_nothing(configured) -> None:
    for method in ("GET", "POST"):
        response = configured(multi_value_event(httpMethod=method), None)
        assert response["statusCode"] == 302
        assert len(cookies_of(response)) == 4
    for method in ("HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "get", ""):
        response = configured(multi_value_event(httpMethod=method), None)
        assert (response["statusCode"], header(response, "Allow")) == (405, "GET, POST"), method
        assert cookies_of(response) == []


OWN = "https://app.example.com"


@pytest.mark.parametrize(
    ("method", "site", "origin", "expected"),
    [
        ("GET", "", "", "logout"),  # an older client: neither header
        ("GET", "none", "", "logout"),  # typed, bookmarked
        ("GET", "same-origin", "", "logout"),  # logout_button's navigation
        ("POST", "same-origin", OWN, "logout"),  # the confirmation page's form
        ("POST", "", OWN + ":443", "logout"),
        ("POST", "", "HTTPS://APP.EXAMPLE.COM", "logout"),
        ("GET", "cross-site", "", "confirm"),  # a link or top-level navigation from another site
        ("POST", "cross-site", "https://evil.example", "confirm"),  # a form from another site
        ("GET", "same-site", "", "confirm"),  # a sibling subdomain is not the app
        ("GET", "Cross-Site", "", "confirm"),
        ("GET", "something-new", "", "confirm"),  # a value we do not know: not trusted
        ("POST", "", "https://evil.example", "confirm"),  # an older client's cross-site form
        ("POST", "", "null", "confirm"),  # an opaque origin (sandboxed frame, data: URL)
        ("POST", "same-origin", "http://app.example.com", "confirm"),  # another scheme
        ("POST", "same-origin", OWN + ":8443", "confirm"),  # another port
        ("PUT", "same-origin", OWN, "refuse"),
        ("HEAD", "", "", "refuse"),
    ],
)
def test_verdict_from_method_fetch_metadata_and_origin(method, site, origin, expected) -> None:
    assert logout_lambda.verdict(method, site, origin, OWN) == expected


def revoked_by(event: dict, env: dict) -> tuple[dict, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    response = logout_lambda.handle(event, env, revoke=lambda url, token: calls.append((url, token)))
    return response, calls


ENV = {
    "COGNITO_DOMAIN": "auth.example.com",
    "COGNITO_CLIENT_ID": CLIENT_ID,
    "APP_LOGOUT_URL": APP_URL,
    "COGNITO_IDP_ENDPOINT": CLOSED_ENDPOINT,
}
TOKEN = {"x-amzn-oidc-accesstoken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"}
CROSS_SITE = {
    "top-level navigation": {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"},
    "form post": {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    "sibling subdomain": {"sec-fetch-site": "same-site", "origin": "https://blog.example.com"},
    "older client's form": {"origin": "https://evil.example"},
}


@pytest.mark.parametrize("make_event", [single_value_event, multi_value_event])
@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_request_from_another_site_gets_a_confirmation_page_and_nothing_else(make_event, headers) -> None:
    response, calls = revoked_by(make_event(headers={**TOKEN, **headers}, httpMethod="POST"), ENV)
    assert (response["statusCode"], calls, cookies_of(response)) == (200, [], [])
    assert header(response, "Location") is None
    assert header(response, "Content-Security-Policy") == "frame-ancestors 'none'"  # no clickjacking
    assert header(response, "Cache-Control") == "no-store"
    body = response["body"]
    assert "<form method=post action=?>" in body and "<button>Log out</button>" in body
    assert "evil" not in body and "blog" not in body


@pytest.mark.parametrize("make_event", [single_value_event, multi_value_event])
def test_the_confirmation_form_s_same_origin_post_logs_out_and_revokes(make_event) -> None:
    headers = {**TOKEN, "sec-fetch-site": "same-origin", "origin": "https://app.example.com"}
    response, calls = revoked_by(make_event(headers=headers, httpMethod="POST"), ENV)
    assert response["statusCode"] == 302
    assert cookies_of(response) and calls == [(CLOSED_ENDPOINT, TOKEN["x-amzn-oidc-accesstoken"])]


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_same_origin_typed_and_older_clients_log_out_at_once(site) -> None:
    headers = {**TOKEN, **({"sec-fetch-site": site} if site else {})}
    response, calls = revoked_by(multi_value_event(headers=headers), ENV)
    assert (response["statusCode"], len(cookies_of(response)), len(calls)) == (302, 4, 1)


def test_handle_reads_only_the_mapping_it_is_given(monkeypatch) -> None:
    """The stand-in and the app's route pass their own settings; os.environ is neither read nor written."""
    monkeypatch.setenv("APP_LOGOUT_URL", "https://conflicting.example/")
    monkeypatch.setenv("COGNITO_DOMAIN", "conflicting.example")
    monkeypatch.setenv("SESSION_COOKIE_NAME", "Conflicting")
    before = dict(__import__("os").environ)
    response, _ = revoked_by(multi_value_event(), {**ENV, "SESSION_COOKIE_NAME": "Mine"})
    assert header(response, "Location").startswith("https://auth.example.com/logout?")
    assert "conflicting" not in repr(response)
    assert [c.split("=")[0] for c in cookies_of(response)] == [f"Mine-{n}" for n in range(4)]
    assert dict(__import__("os").environ) == before


def test_source_is_small_and_uses_only_the_standard_library() -> None:
    source = LAMBDA_PATH.read_text(encoding="utf-8")
    assert len(source) < 14_000, "keep the one logout logic small enough to read in one sitting"
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


# The region syntax, the access-token size limit, sign-out's result.
#
# The Lambda is loaded from its file as the runtime does (the helpers of test_logout_lambda/revoke).


ACCESS_TOKEN_LIMIT = 16 * 1024  # tokens this long or longer are never sent anywhere


@pytest.mark.parametrize(
    "region", ["EU-west-1", "e1-west-1", "e.-west-1", "eu-west-100", "eu--1", "eu-west-"]
)
def test_a_region_that_is_not_a_region_name_is_a_logged_500(configured, monkeypatch, caplog, region):
    monkeypatch.setenv("AWS_REGION", region)
    with caplog.at_level(logging.ERROR):
        response = configured(multi_value_event(), None)
    assert_refused(response, caplog, "AWS_REGION")


@pytest.mark.parametrize(("length", "revoked"), [(ACCESS_TOKEN_LIMIT - 1, True), (ACCESS_TOKEN_LIMIT, False)])
def test_an_access_token_under_16_kib_is_revoked_and_a_longer_one_is_not(configured, idp, length, revoked):
    token = "a" * (length - 4) + ".b.c"
    assert len(token) == length
    response = configured(signed_in(token=token), None)
    assert response["statusCode"] == 302
    assert len(idp.calls) == (1 if revoked else 0)


def test_global_sign_out_says_whether_it_worked(configured, idp):
    global_sign_out = configured.__globals__["global_sign_out"]  # the module the handler runs in
    assert global_sign_out(idp.url, "a.b.c") is True
    idp.mode = "fail"
    assert global_sign_out(idp.url, "a.b.c") is False
