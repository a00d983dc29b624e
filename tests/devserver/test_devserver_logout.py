"""The stand-in's logout: both Lambda header modes, GlobalSignOut revoking the user's refresh tokens
(every session of theirs dies at its next refresh: ``test_devserver_sessions.py``), the signed-out page,
the session timeout and the ``dev`` flags."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import jwt
import pytest
from helpers.standin import (
    COOKIE,
    GLOBAL_SIGN_OUT,
    Running,
    _cookie_header,
    _log_out,
    _session_only,
    _set_cookies,
    _sign_in,
    _status,
    _status_after_expiry,
    run,
)

from streamlit_alb_auth.cli import build_parser
from streamlit_alb_auth.devserver.config import COGNITO_IDP_PATH, SIGNED_OUT_PATH, DevConfig
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SHARDS

SIGNED_OUT_HTML = (
    __import__("pathlib").Path(__file__).resolve().parents[2]
    / "streamlit_alb_auth"
    / "templates"
    / "signed_out.html"
).read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", ["multi", "single"])
def test_logout_expires_every_shard_in_both_header_modes(mode):
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        answers = await _log_out(stand_in, cookies)

        shards = [f"{COOKIE}-{i}" for i in range(SHARDS)]
        if mode == "multi":
            assert [expired for _, expired in answers] == [shards]
        else:
            assert [expired for _, expired in answers] == [[shard] for shard in shards]
            assert [location for location, _ in answers[:3]] == ["?shard=1", "?shard=2", "?shard=3"]
        final = urlsplit(answers[-1][0])
        assert f"{final.scheme}://{final.netloc}{final.path}" == stand_in.base + "/logout"

    run(scenario, lambda_headers=mode)


def test_a_copied_cookie_and_the_users_other_sessions_die_at_their_refresh_others_live():
    """Short access tokens: every session of the user is refreshed soon, and refused.

    Three seconds, not one: the logout's own access token must still be alive when the Lambda spends it
    on GlobalSignOut, also on a loaded two-core machine (with one second, it had sometimes expired)."""

    async def scenario(stand_in: Running) -> None:
        copied, _ = await _sign_in(stand_in, "user@example.com")
        other_device, _ = await _sign_in(stand_in, "user@example.com")
        someone_else, _ = await _sign_in(stand_in, "admin@example.com")

        await _log_out(stand_in, copied)

        for cookies in (copied, other_device):
            assert await _status_after_expiry(stand_in, _session_only(cookies)) == 302
        assert await _status_after_expiry(stand_in, _session_only(someone_else)) == 200
        again, _ = await _sign_in(stand_in, "user@example.com")
        assert await _status(stand_in, "/page", _session_only(again)) == 200

    run(scenario, access_token_seconds=3)


def test_logout_without_a_session_still_logs_out_and_revokes_nothing():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        answers = await _log_out(stand_in, {"unrelated": "1"})
        assert len(answers) == 1 and len(answers[0][1]) == 4
        assert await _status(stand_in, "/page", _session_only(cookies)) == 200

    run(scenario)


def test_signed_out_page_is_the_templates_page_without_sign_in():
    async def scenario(stand_in: Running) -> None:
        async with stand_in.client.get(stand_in.base + SIGNED_OUT_PATH, allow_redirects=False) as answer:
            assert answer.status == 200
            assert answer.content_type == "text/html"
            assert await answer.text() == SIGNED_OUT_HTML
        assert stand_in.config.sign_out_url == stand_in.base + SIGNED_OUT_PATH
        assert stand_in.upstream.requests == [], "served by the stand-in, as the ALB's fixed response"

    run(scenario)


def test_global_sign_out_refuses_what_cognito_refuses():
    async def scenario(stand_in: Running) -> None:
        url = stand_in.config.loopback_url + COGNITO_IDP_PATH
        cases = [
            ({**GLOBAL_SIGN_OUT, "X-Amz-Target": "AWSCognitoIdentityProviderService.AdminDeleteUser"}, "{}"),
            (GLOBAL_SIGN_OUT, "not json"),
            (GLOBAL_SIGN_OUT, json.dumps({"AccessToken": "a.b.c"})),
            (GLOBAL_SIGN_OUT, json.dumps({"AccessToken": 7})),
            (GLOBAL_SIGN_OUT, "[]"),
        ]
        kinds = []
        for headers, body in cases:
            async with stand_in.client.post(url, headers=headers, data=body) as answer:
                assert answer.status == 400
                kinds.append(answer.headers["x-amzn-ErrorType"].split(":")[0])
        assert kinds == [
            "UnknownOperationException",
            "InvalidParameterException",
            "NotAuthorizedException",
            "NotAuthorizedException",
            "InvalidParameterException",
        ]

    run(scenario)


def test_a_revoked_access_token_no_longer_buys_user_info():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        headers = {"Cookie": _cookie_header(_session_only(cookies))}
        async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
            token = (await page.json())["x-amzn-oidc-accesstoken"]
        user_info = stand_in.config.loopback_url + "/oauth2/userInfo"
        bearer = {"Authorization": f"Bearer {token}"}
        async with stand_in.client.get(user_info, headers=bearer) as before:
            assert before.status == 200
        url = stand_in.config.loopback_url + COGNITO_IDP_PATH
        body = json.dumps({"AccessToken": token})
        async with stand_in.client.post(url, headers=GLOBAL_SIGN_OUT, data=body) as answer:
            assert answer.status == 200
            assert await answer.json(content_type=None) == {}
        async with stand_in.client.get(user_info, headers=bearer) as after:
            assert after.status == 401
        async with stand_in.client.post(url, headers=GLOBAL_SIGN_OUT, data=body) as again:
            assert again.status == 400

    run(scenario)


def test_the_access_token_lives_access_token_seconds_and_the_cookie_session_timeout():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")  # checks each shard's Max-Age
        headers = {"Cookie": _cookie_header(_session_only(cookies))}
        async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
            token = (await page.json())["x-amzn-oidc-accesstoken"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 90

    run(scenario, session_seconds=120, access_token_seconds=90)
    defaults = DevConfig(port=1, streamlit_port=2)
    assert (defaults.session_seconds, defaults.access_token_seconds) == (28800, 900)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lambda_headers": "both"}, "lambda_headers"),
        ({"session_seconds": 0}, "session timeout"),
        ({"logout_by": "cdn"}, "logout_by"),
    ],
)
def test_dev_config_refuses_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        DevConfig(port=1, streamlit_port=2, **settings)


def test_dev_flags_parse_and_default():
    parser = build_parser()
    args = parser.parse_args(["dev", "--lambda-headers", "single", "--session-timeout", "600"])
    assert (args.lambda_headers, args.session_timeout) == ("single", 600)
    defaults = parser.parse_args(["dev"])
    assert (defaults.lambda_headers, defaults.session_timeout) == ("multi", 28800)
    for bad in (["--lambda-headers", "both"], ["--session-timeout", "0"], ["--session-timeout", "1e3"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["dev", *bad])


def test_logout_by_flag_reaches_the_run_and_the_app_gets_the_logout_settings():
    from streamlit_alb_auth.devserver import dev_config
    from streamlit_alb_auth.devserver.runner import child_environment

    parser = build_parser()
    assert dev_config(parser.parse_args(["dev"])).logout_by == "lambda"
    config = dev_config(parser.parse_args(["dev", "--logout-by", "app"]))
    assert config.logout_by == "app"
    environment = child_environment(config)
    assert config.lambda_environment().items() <= environment.items()
    assert config.app_environment().items() <= environment.items()
    with pytest.raises(SystemExit):
        parser.parse_args(["dev", "--logout-by", "cdn"])


def test_logout_by_app_forwards_the_logout_path_with_the_session_s_identity():
    """The listener rule of LogoutBy=app: authenticate (allow), then the app; no Lambda answers."""

    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        headers = {"Cookie": _cookie_header(_session_only(cookies))}
        async with stand_in.client.get(stand_in.base + LOGOUT_PATH, headers=headers) as signed_in:
            assert signed_in.status == 200  # the fake Streamlit's echo: it was forwarded
        async with stand_in.client.get(stand_in.base + LOGOUT_PATH) as anonymous:
            assert anonymous.status == 200
        first, second = [r for r in stand_in.upstream.requests if r["path"] == LOGOUT_PATH]
        assert first["x-amzn-oidc-identity"] and first["x-amzn-oidc-accesstoken"]
        assert not any(name.startswith("x-amzn-oidc-") for name in second)

    run(scenario, logout_by="app")


def test_the_app_route_s_location_gets_the_lambda_s_one_translation():
    from streamlit_alb_auth.devserver.lambda_target import app_route_location

    config = DevConfig(port=8080, streamlit_port=8081)
    env = config.lambda_environment()
    back = "http%3A%2F%2Flocalhost%3A8080%2Fsigned-out"  # the app's APP_LOGOUT_URL, encoded
    location = f"https://{env['COGNITO_DOMAIN']}/logout?client_id=c&logout_uri={back}"
    opened = config.as_opened("127.0.0.1:8080")
    assert app_route_location(location, config, opened) == (
        "http://127.0.0.1:8080/logout?client_id=c&logout_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fsigned-out"
    )
    assert app_route_location("https://elsewhere.example/x", config, opened) == "https://elsewhere.example/x"


def test_cross_site_logout_gets_the_confirmation_page_and_same_origin_logs_out_with_os_environ_untouched(
    monkeypatch,
):
    """Over real HTTP: the stand-in's Lambda target runs ``handle`` with its own settings."""
    import os

    for name, value in {
        "APP_LOGOUT_URL": "https://conflicting.example/",
        "COGNITO_DOMAIN": "conflicting.example",
        "COGNITO_CLIENT_ID": "conflicting",
        "SESSION_COOKIE_NAME": "Conflicting",
        "IDP_LOGOUT_URL": "https://conflicting.example/logout",
    }.items():
        monkeypatch.setenv(name, value)
    before = dict(os.environ)

    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        session = {"Cookie": _cookie_header(_session_only(cookies))}
        url = stand_in.base + LOGOUT_PATH
        for method, forged in (
            ("GET", {"Sec-Fetch-Site": "cross-site"}),
            ("POST", {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}),
            ("POST", {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"}),
            ("POST", {"Origin": "http://evil.example"}),
        ):
            headers = {**session, **forged}
            async with stand_in.client.request(method, url, headers=headers, allow_redirects=False) as answer:
                assert answer.status == 200, forged
                assert "Set-Cookie" not in answer.headers and "Location" not in answer.headers
                assert "<form method=post action=?>" in await answer.text()
        assert await _status(stand_in, "/page", _session_only(cookies)) == 200  # still signed in
        async with stand_in.client.put(url, headers=session, allow_redirects=False) as answer:
            assert (answer.status, answer.headers["Allow"]) == (405, "GET, POST")
        own = {**session, "Sec-Fetch-Site": "same-origin", "Origin": stand_in.base}
        async with stand_in.client.post(url + "?", headers=own, allow_redirects=False) as answer:
            assert answer.status == 302
            expired = [name for c in _set_cookies(answer) for name, m in c.items() if m["max-age"] == "0"]
            assert expired == [f"{COOKIE}-{i}" for i in range(SHARDS)]
            assert answer.headers["Location"].startswith(stand_in.base + "/logout?")
        assert dict(os.environ) == before

    run(scenario)
