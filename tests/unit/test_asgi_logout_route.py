"""The in-app logout route (no Lambda): the logout Lambda's own handler on an st.App route."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit import config

from streamlit_alb_auth.asgi import alb_auth
from streamlit_alb_auth.asgi.logout_route import logout_route
from streamlit_alb_auth.asgi.user_headers import OPTION
from streamlit_alb_auth.errors import UnsafeLogoutPathError
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE, SHARDS
from streamlit_alb_auth.testing import LocalAlbSigner

# Shaped as an access token (a sub, an exp far ahead) but unsigned: with no issuer configured, the
# route can check no more than the shape, so it revokes it.
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl"
EXPIRED = "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly"


class FakeCognito:
    """A loopback Cognito IdP endpoint that records each GlobalSignOut's access token."""

    def __init__(self) -> None:
        self.revoked: list[str] = []
        recorded = self.revoked

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers["X-Amz-Target"].endswith(".GlobalSignOut"):
                    recorded.append(json.loads(body)["AccessToken"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCognito]:
    fake = FakeCognito()
    for name, value in {
        "COGNITO_DOMAIN": "auth.example.com",
        "COGNITO_CLIENT_ID": "appclient1",
        "APP_LOGOUT_URL": "https://app.example.com/",
        "COGNITO_IDP_ENDPOINT": fake.url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("IDP_LOGOUT_URL", raising=False)
    yield fake
    fake.server.shutdown()


@pytest.fixture
def client(signer: LocalAlbSigner) -> Iterator[TestClient]:
    """The app alb_auth() builds: middleware and logout route (the ARN is all it needs here)."""
    app = Starlette(**alb_auth(alb_arn=signer.alb_arn))
    with TestClient(app, base_url="https://app.example.com", follow_redirects=False) as test_client:
        yield test_client
    config.set_option(OPTION, {}, where_defined="<default>")


def _expired_shards(answer: object) -> list[str]:
    return answer.headers.get_list("set-cookie")


def test_logout_expires_every_shard_revokes_and_goes_to_cognito(client, cognito):
    answer = client.get(LOGOUT_PATH, headers={"x-amzn-oidc-accesstoken": ACCESS_TOKEN})
    assert answer.status_code == 302
    assert _expired_shards(answer) == [f"{SESSION_COOKIE}-{n}{EXPIRED}" for n in range(SHARDS)]
    location = urlsplit(answer.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "auth.example.com", "/logout")
    assert parse_qs(location.query) == {
        "client_id": ["appclient1"],
        "logout_uri": ["https://app.example.com/"],
    }
    assert answer.headers["cache-control"] == "no-store"
    assert cognito.revoked == [ACCESS_TOKEN]


def test_logout_without_a_session_still_expires_the_cookies(client, cognito):
    """The ALB's logout rule allows unauthenticated requests: no headers, no revocation, same redirect."""
    answer = client.post(LOGOUT_PATH + "?shard=2")
    assert answer.status_code == 302
    assert len(_expired_shards(answer)) == 4
    assert answer.headers["location"].startswith("https://auth.example.com/logout?")
    assert cognito.revoked == []


def test_only_the_logout_path_passes_unverified(client, cognito):
    assert client.get(LOGOUT_PATH + "/x").status_code == 401
    assert client.get(LOGOUT_PATH).status_code == 302


def test_unconfigured_logout_is_a_500_that_says_nothing_more(client, monkeypatch, caplog):
    for name in ("COGNITO_DOMAIN", "COGNITO_USER_POOL_DOMAIN_PREFIX", "IDP_LOGOUT_URL", "APP_LOGOUT_URL"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.ERROR):
        answer = client.get(LOGOUT_PATH)
    assert answer.status_code == 500
    assert "set-cookie" not in answer.headers
    assert "Logout is not configured" in answer.text
    # One line a request, and it says what is wrong: the variable is missing, not malformed.
    assert [r.getMessage() for r in caplog.records] == [
        "logout is misconfigured: APP_LOGOUT_URL is not set (an https URL; http only on localhost)"
    ]


CROSS_SITE = {
    "top-level navigation": ("GET", {"sec-fetch-site": "cross-site"}),
    "form post": ("POST", {"sec-fetch-site": "cross-site", "origin": "https://evil.example"}),
    "sibling subdomain": ("POST", {"sec-fetch-site": "same-site", "origin": "https://blog.example.com"}),
    "older client's form": ("POST", {"origin": "https://evil.example"}),
}


@pytest.mark.parametrize(("method", "headers"), CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_request_from_another_site_gets_the_confirmation_page_only(client, cognito, method, headers):
    headers = {**headers, "x-amzn-oidc-accesstoken": ACCESS_TOKEN}
    answer = client.request(method, LOGOUT_PATH, headers=headers)
    assert answer.status_code == 200
    assert _expired_shards(answer) == [] and "location" not in answer.headers
    assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert "<form method=post action=?>" in answer.text
    assert cognito.revoked == []


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "https://app.example.com"},  # the confirmation form
        {"sec-fetch-site": "none"},  # typed or bookmarked
        {},  # an older client
    ],
)
def test_same_origin_and_older_clients_log_out_at_once(client, cognito, headers):
    answer = client.post(LOGOUT_PATH, headers={**headers, "x-amzn-oidc-accesstoken": ACCESS_TOKEN})
    assert answer.status_code == 302 and len(_expired_shards(answer)) == 4
    assert cognito.revoked == [ACCESS_TOKEN]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_only_get_and_post_are_answered(client, cognito, method):
    answer = client.request(method, LOGOUT_PATH, headers={"x-amzn-oidc-accesstoken": ACCESS_TOKEN})
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET, POST")
    assert _expired_shards(answer) == [] and cognito.revoked == []


JUNK = {
    "not a JWT": "x" * 40,
    "JWT-shaped junk": "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
    "no exp": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2ln",
    "expired": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1IiwiZXhwIjoxfQ.c2ln",
}


@pytest.mark.parametrize("token", JUNK.values(), ids=JUNK.keys())
def test_a_junk_access_token_costs_no_global_sign_out(client, cognito, token):
    answer = client.get(LOGOUT_PATH, headers={"x-amzn-oidc-accesstoken": token})
    assert answer.status_code == 302 and len(_expired_shards(answer)) == 4
    assert cognito.revoked == []


def test_with_the_user_pool_configured_only_a_verified_token_is_revoked(alb_environment, pool, cognito):
    app = Starlette(**alb_auth())
    good = pool.access_token("user-1", groups=[])
    forged = ACCESS_TOKEN  # shaped right, signed by nobody
    with TestClient(app, base_url="https://app.example.com", follow_redirects=False) as test_client:
        for token in (forged, good):
            answer = test_client.get(LOGOUT_PATH, headers={"x-amzn-oidc-accesstoken": token})
            assert answer.status_code == 302 and len(_expired_shards(answer)) == 4
    config.set_option(OPTION, {}, where_defined="<default>")
    assert cognito.revoked == [good]


def test_the_route_reads_the_mapping_it_is_given_and_leaves_os_environ_alone(cognito, monkeypatch):
    monkeypatch.setenv("APP_LOGOUT_URL", "https://conflicting.example/")
    own = {
        "COGNITO_DOMAIN": "auth.mine.example",
        "COGNITO_CLIENT_ID": "mine",
        "APP_LOGOUT_URL": "https://mine.example/",
    }
    before = dict(os.environ)
    app = Starlette(routes=[logout_route(env=own)])
    with TestClient(app, base_url="https://app.example.com", follow_redirects=False) as test_client:
        answer = test_client.get(LOGOUT_PATH)
    assert answer.headers["location"].startswith("https://auth.mine.example/logout?client_id=mine&")
    assert dict(os.environ) == before


def test_logout_path_must_be_a_plain_path_and_can_be_turned_off(signer):
    for path in ("//evil.example/logout", "https://evil.example/", "/logout?next=/"):
        with pytest.raises(UnsafeLogoutPathError):
            logout_route(path)
    assert alb_auth(alb_arn=signer.alb_arn, logout_path=None)["routes"] == []
    [route] = alb_auth(alb_arn=signer.alb_arn, logout_path="/signout")["routes"]
    assert route.path == "/signout"
