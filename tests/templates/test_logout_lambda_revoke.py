"""GlobalSignOut from the logout Lambda against a local HTTP server, and the generic OIDC logout URL."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.logout_lambda import (
    ACCESS_TOKEN,
    APP_URL,
    EXPECTED_LOCATION,
    assert_refused,
    cookies_of,
    header,
    multi_value_event,
    signed_in,
    single_value_event,
)

from streamlit_alb_auth.templates.logout_lambda import SHARDS

TARGET = "AWSCognitoIdentityProviderService.GlobalSignOut"


def assert_logged_out(response: dict, location: str = EXPECTED_LOCATION, shards: int = SHARDS) -> None:
    assert response["statusCode"] == 302
    assert header(response, "Location") == location
    assert len(cookies_of(response)) == shards


def test_a_signed_in_logout_revokes_with_the_access_token(configured, idp) -> None:
    response = configured(signed_in(), None)

    assert_logged_out(response)
    (call,) = idp.calls
    assert call["path"] == "/"
    assert call["headers"]["X-Amz-Target"] == TARGET
    assert call["headers"]["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(call["body"]) == {"AccessToken": ACCESS_TOKEN}


def test_single_value_mode_revokes_on_the_hop_that_carries_the_token(configured, idp) -> None:
    response = configured(signed_in(single_value_event), None)
    assert_logged_out(response, "?shard=1", 1)
    assert [json.loads(call["body"])["AccessToken"] for call in idp.calls] == [ACCESS_TOKEN]


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b", "a.b.c.d", "a.b.c; x", "x" * 20_000 + ".a.b"],
    ids=["none", "word", "two parts", "four parts", "injection", "oversized"],
)
def test_no_token_no_call(configured, idp, token) -> None:
    event = signed_in(token=token) if token else multi_value_event()
    assert_logged_out(configured(event, None))
    assert idp.calls == []


def test_an_oidc_provider_is_never_sent_to_cognito(configured, idp, monkeypatch) -> None:
    monkeypatch.setenv("IDP_LOGOUT_URL", "https://login.example.org/logout")
    response = configured(signed_in(), None)
    assert response["statusCode"] == 302
    assert idp.calls == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("fail", "HTTP 400 NotAuthorizedException"),
        ("redirect", "HTTP 307"),
        ("garbage", "BadStatusLine"),
        ("hang", "TimeoutError"),
    ],
)
def test_a_failing_endpoint_is_logged_without_the_token_and_logout_completes(
    configured, idp, caplog, mode, reason
) -> None:
    idp.mode = mode
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        response = configured(signed_in(), None)
    elapsed = time.monotonic() - started

    assert_logged_out(response)
    assert len(idp.calls) == 1, "called once; a redirect is not followed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    # A hang ends at the socket's timeout or at the overall deadline, whichever fires first.
    assert reason in warnings[0] or (mode == "hang" and "no answer within" in warnings[0]), warnings
    assert ACCESS_TOKEN not in caplog.text
    assert ACCESS_TOKEN.split(".")[1] not in caplog.text
    assert elapsed < 10, "bounded by the 2 s deadline, not by the server"


COGNITO_REFUSALS = {
    # Cognito's own messages (its API's NotAuthorizedException texts; TooManyRequestsException).
    "missing scope": (
        ("NotAuthorizedException", "Access Token does not have required scopes"),
        [
            "NotAuthorizedException",
            "lacks the scope aws.cognito.signin.user.admin",
            "AllowedOAuthScopes",
            "Scope of every ALB authenticate rule",
            "logout.yaml, its Scope parameter",
            "until SessionTimeout",
        ],
    ),
    "revoked": (
        ("NotAuthorizedException", "Access Token has been revoked"),
        ["NotAuthorizedException", "already revoked"],
    ),
    "expired": (("NotAuthorizedException", "Access Token has expired"), ["had expired"]),
    "throttled": (
        ("TooManyRequestsException", "Rate exceeded"),
        ["TooManyRequestsException", "throttled", "until SessionTimeout"],
    ),
    "unknown refusal": (("NotAuthorizedException", "Something new"), ["Cognito refused the token"]),
}


@pytest.mark.parametrize(("error", "says"), COGNITO_REFUSALS.values(), ids=COGNITO_REFUSALS.keys())
def test_a_cognito_refusal_is_logged_with_its_cause_and_fix_never_the_token(
    configured, idp, caplog, error, says
) -> None:
    idp.mode, idp.error = "cognito", error
    with caplog.at_level(logging.DEBUG):
        assert_logged_out(configured(signed_in(), None))
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("GlobalSignOut failed (logging out anyway): HTTP 400 "), warning
    for words in says:
        assert words in warning, (words, warning)
    assert ACCESS_TOKEN.split(".")[1] not in caplog.text
    assert error[1] not in caplog.text, "Cognito's own text is read, not repeated"


def test_an_unreachable_endpoint_is_logged_and_logout_completes(configured, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        response = configured(signed_in(), None)
    assert_logged_out(response)
    assert "GlobalSignOut failed" in caplog.text
    assert ACCESS_TOKEN not in caplog.text


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://cognito-idp.eu-west-1.amazonaws.com/",
        "ftp://127.0.0.1/",
        "http://127.0.0.1.evil.example/",
        "x",
    ],
)
def test_an_endpoint_override_must_be_https_or_loopback(configured, monkeypatch, caplog, endpoint) -> None:
    monkeypatch.setenv("COGNITO_IDP_ENDPOINT", endpoint)
    with caplog.at_level(logging.ERROR):
        response = configured(signed_in(), None)
    assert_refused(response, caplog, "COGNITO_IDP_ENDPOINT")


def test_the_default_endpoint_is_the_regional_cognito_idp(configured) -> None:
    plan = configured.__globals__["plan"]  # the same module the handler runs in
    env = {"AWS_REGION": "eu-west-1", "COGNITO_DOMAIN": "auth.example.com", "COGNITO_CLIENT_ID": "abc"}
    assert plan({**env, "APP_LOGOUT_URL": APP_URL}, {}, multi=True).revoke_url == (
        "https://cognito-idp.eu-west-1.amazonaws.com/"
    )
    assert plan({**env, "AWS_REGION": "", "APP_LOGOUT_URL": APP_URL}, {}, multi=True).revoke_url == ""


OIDC_PROVIDERS = {
    "entra": (
        {"IDP_LOGOUT_URL": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout"},
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout",
        {"post_logout_redirect_uri": [APP_URL]},
    ),
    "keycloak": (
        {
            "IDP_LOGOUT_URL": "https://sso.example.org/realms/acme/protocol/openid-connect/logout",
            "IDP_CLIENT_ID": "streamlit-app",
        },
        "https://sso.example.org/realms/acme/protocol/openid-connect/logout",
        {"post_logout_redirect_uri": [APP_URL], "client_id": ["streamlit-app"]},
    ),
    "auth0": (
        {
            "IDP_LOGOUT_URL": "https://acme.eu.auth0.com/v2/logout",
            "IDP_REDIRECT_PARAM": "returnTo",
            "IDP_CLIENT_ID": "Xy7aB9cD0eF1gH2i",
        },
        "https://acme.eu.auth0.com/v2/logout",
        {"returnTo": [APP_URL], "client_id": ["Xy7aB9cD0eF1gH2i"]},
    ),
    "existing query": (
        {"IDP_LOGOUT_URL": "https://idp.example.org/logout?tenant=acme"},
        "https://idp.example.org/logout",
        {"tenant": ["acme"], "post_logout_redirect_uri": [APP_URL]},
    ),
}


@pytest.mark.parametrize(("env", "base", "query"), OIDC_PROVIDERS.values(), ids=OIDC_PROVIDERS.keys())
@pytest.mark.parametrize("make_event", [single_value_event, multi_value_event])
def test_oidc_providers_get_their_end_session_url(
    configured, monkeypatch, env, base, query, make_event
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    response = configured(make_event({"shard": "3"}), None)
    location = urlsplit(header(response, "Location"))
    assert f"{location.scheme}://{location.netloc}{location.path}" == base
    assert parse_qs(location.query, strict_parsing=True) == query


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDP_LOGOUT_URL", "http://login.example.org/logout"),
        ("IDP_LOGOUT_URL", "https://login.example.org/logout#frag"),
        ("IDP_LOGOUT_URL", "javascript:alert(1)"),
        ("IDP_REDIRECT_PARAM", "a&logout_uri=https://evil.example"),
        ("IDP_REDIRECT_PARAM", "x y"),
        ("IDP_CLIENT_ID", "abc&returnTo=https://evil.example"),
    ],
)
def test_invalid_oidc_settings_are_a_logged_500(configured, monkeypatch, caplog, name, value) -> None:
    monkeypatch.setenv("IDP_LOGOUT_URL", "https://login.example.org/logout")
    monkeypatch.setenv(name, value)
    with caplog.at_level(logging.ERROR):
        response = configured(multi_value_event(), None)
    assert_refused(response, caplog, name)
