"""The stand-in refuses what AWS refuses, and keeps sessions as AWS keeps them (each rule's AWS document
is cited where the stand-in implements it):

* GlobalSignOut needs the scope aws.cognito.signin.user.admin (Cognito API reference, GlobalSignOut);
* a session lives until its access token expires, then the ALB refreshes it, or sends the browser to
  sign in when the refresh token was revoked (ALB user guide, Authentication logout);
* the hosted sign-in's own session lasts ``managed_login_seconds`` and only ``/logout`` ends it
  (Cognito: GlobalSignOut "doesn't clear the managed login session cookie"; the /logout endpoint);
* tokens carry the pool's original or updated issuer (Cognito API reference, IssuerConfigurationType).

Waiting on a lifetime polls for its visible end with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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

from streamlit_alb_auth.authenticate import Authenticator
from streamlit_alb_auth.cli import build_parser
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.devserver.config import (
    COGNITO_IDP_PATH,
    DEFAULT_ACCESS_TOKEN_SECONDS,
    DEFAULT_SCOPE,
    MANAGED_LOGIN_SECONDS,
    DevConfig,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"
BROKEN_SCOPE = "openid email profile"  # what stack.yaml asked for before: no revocation


async def _access_token(stand_in: Running, cookies: dict[str, str]) -> str:
    headers = {"Cookie": _cookie_header(_session_only(cookies))}
    async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
        return (await page.json())["x-amzn-oidc-accesstoken"]


async def _global_sign_out(stand_in: Running, token: str) -> tuple[int, dict, str]:
    url = stand_in.config.loopback_url + COGNITO_IDP_PATH
    body = json.dumps({"AccessToken": token})
    async with stand_in.client.post(url, headers=GLOBAL_SIGN_OUT, data=body) as answer:
        return answer.status, await answer.json(content_type=None), answer.headers.get("x-amzn-ErrorType", "")


# --- GlobalSignOut's scope ----------------------------------------------------------------------------


def test_global_sign_out_refuses_an_access_token_without_the_admin_scope():
    async def scenario(stand_in: Running) -> None:
        token = await _access_token(stand_in, (await _sign_in(stand_in, "user@example.com"))[0])
        assert jwt.decode(token, options={"verify_signature": False})["scope"] == BROKEN_SCOPE
        status, body, kind = await _global_sign_out(stand_in, token)
        assert (status, body) == (
            400,
            {"__type": "NotAuthorizedException", "message": "Access Token does not have required scopes"},
        )
        assert kind.split(":")[0] == "NotAuthorizedException"

    run(scenario, scope=BROKEN_SCOPE)


def test_global_sign_out_accepts_the_admin_scope_once_then_says_revoked():
    async def scenario(stand_in: Running) -> None:
        token = await _access_token(stand_in, (await _sign_in(stand_in, "user@example.com"))[0])
        assert (
            "aws.cognito.signin.user.admin" in jwt.decode(token, options={"verify_signature": False})["scope"]
        )
        assert (await _global_sign_out(stand_in, token))[:2] == (200, {})
        status, body, _ = await _global_sign_out(stand_in, token)
        assert (status, body["message"]) == (400, "Access Token has been revoked")

    run(scenario)


def test_an_expired_access_token_is_refused_as_expired():
    async def scenario(stand_in: Running) -> None:
        token = await _access_token(stand_in, (await _sign_in(stand_in, "user@example.com"))[0])
        deadline = time.monotonic() + 15
        while (answer := await _global_sign_out(stand_in, token))[1].get(
            "message"
        ) != "Access Token has expired":
            assert time.monotonic() < deadline, answer
            await asyncio.sleep(0.2)

    run(scenario, access_token_seconds=1, scope=BROKEN_SCOPE)  # the broken scope keeps the token unrevoked


def test_the_default_scope_and_token_lifetime_are_the_stacks():
    stack = (TEMPLATES / "stack.yaml").read_text()
    scopes = set(re.findall(r"Scope: (openid .*)", stack))
    assert DEFAULT_SCOPE in scopes
    assert f"Scope: {DEFAULT_SCOPE}" in stack
    minutes = re.search(r"AccessTokenMinutes:\n    Type: Number\n    Default: (\d+)", stack)
    assert minutes is not None and int(minutes[1]) * 60 == DEFAULT_ACCESS_TOKEN_SECONDS
    assert MANAGED_LOGIN_SECONDS == 3600
    assert DevConfig(port=1, streamlit_port=2).sign_in_scope == DEFAULT_SCOPE
    assert DevConfig(port=1, streamlit_port=2, idp="oidc").sign_in_scope == "openid email profile"


def test_a_scope_the_client_does_not_allow_is_refused_at_sign_in():
    async def scenario(stand_in: Running) -> None:
        async with stand_in.client.get(stand_in.base + "/", allow_redirects=False) as first:
            authorize = first.headers["Location"]
        assert parse_qs(urlsplit(authorize).query)["scope"] == ["openid phone"]
        async with stand_in.client.get(authorize, allow_redirects=False) as page:
            assert page.status == 400 and "invalid_scope" in await page.text()

    run(scenario, scope="openid phone")


# --- sessions as on a real ALB ------------------------------------------------------------------------


def test_after_logout_a_copied_cookie_works_until_its_access_token_expires_then_signs_in():
    async def scenario(stand_in: Running) -> None:
        signed_in_at = time.monotonic()
        copied, _ = await _sign_in(stand_in, "user@example.com")
        await _log_out(stand_in, copied)
        if time.monotonic() - signed_in_at < stand_in.config.access_token_seconds - 0.5:
            assert await _status(stand_in, "/page", _session_only(copied)) == 200, "the copy outlives logout"
        assert await _status_after_expiry(stand_in, _session_only(copied)) == 302
        assert time.monotonic() - signed_in_at >= stand_in.config.access_token_seconds - 1
        headers = {"Cookie": _cookie_header(_session_only(copied))}
        async with stand_in.client.get(
            stand_in.base + "/page", headers=headers, allow_redirects=False
        ) as page:
            assert urlsplit(page.headers["Location"]).path == "/oauth2/authorize"

    run(scenario, access_token_seconds=3)


def test_with_the_scope_missing_logout_revokes_nothing_says_why_and_the_copy_lives_on(caplog):
    async def scenario(stand_in: Running) -> None:
        copied, _ = await _sign_in(stand_in, "user@example.com")
        with caplog.at_level(logging.WARNING):
            await _log_out(stand_in, copied)
        [line] = [r.getMessage() for r in caplog.records if "GlobalSignOut failed" in r.getMessage()]
        assert "NotAuthorizedException" in line and "lacks the scope aws.cognito.signin.user.admin" in line
        assert "AllowedOAuthScopes" in line
        assert await _status_after_expiry(stand_in, _session_only(copied)) == 200, "refreshed, not refused"

    run(scenario, scope=BROKEN_SCOPE, access_token_seconds=1)


def test_a_refresh_renews_the_cookie_within_the_session_timeout():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        before = await _access_token(stand_in, cookies)
        deadline = time.monotonic() + 15
        while True:
            headers = {"Cookie": _cookie_header(_session_only(cookies))}
            async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
                renewed = {k: m for c in _set_cookies(page) for k, m in c.items()}
                if renewed:
                    seen = await page.json()
                    break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert seen["x-amzn-oidc-accesstoken"] != before
        assert f"{COOKIE}-0" in renewed
        assert all(0 < int(m["max-age"]) <= 60 for m in renewed.values() if m.value)

    run(scenario, access_token_seconds=1, session_seconds=60)


def test_past_the_session_timeout_a_cookie_signs_in_again_whatever_its_tokens():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        deadline = time.monotonic() + 15
        while await _status(stand_in, "/page", _session_only(cookies)) == 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)

    run(scenario, session_seconds=2, access_token_seconds=60)


# --- the hosted sign-in's own session -----------------------------------------------------------------


async def _authorize(stand_in: Running, cognito_cookie: str) -> int:
    """200: the sign-in page asks who you are; 302: signed straight back in by the managed-login session."""
    async with stand_in.client.get(stand_in.base + "/other", allow_redirects=False) as again:
        authorize = again.headers["Location"]
    headers = {"Cookie": f"cognito={cognito_cookie}"}
    async with stand_in.client.get(authorize, headers=headers, allow_redirects=False) as answer:
        return answer.status


def test_the_managed_login_session_lasts_its_validity_and_no_longer():
    async def scenario(stand_in: Running) -> None:
        started = time.monotonic()
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        assert await _authorize(stand_in, cookies["cognito"]) == 302
        deadline = started + stand_in.config.managed_login_seconds + 15
        while await _authorize(stand_in, cookies["cognito"]) == 302:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert time.monotonic() - started >= stand_in.config.managed_login_seconds - 0.5

    run(scenario, managed_login_seconds=2)


def test_the_managed_login_cookie_lives_as_long_as_its_session():
    async def scenario(stand_in: Running) -> None:
        async with stand_in.client.get(stand_in.base + "/", allow_redirects=False) as first:
            authorize = first.headers["Location"]
        async with stand_in.client.get(authorize) as page:
            form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', await page.text()))
        form = {name: value.replace("&amp;", "&") for name, value in form.items()}
        data = {**form, "email": "user@example.com"}
        async with stand_in.client.post(stand_in.base + "/login", data=data, allow_redirects=False) as login:
            [cookie] = [m for c in _set_cookies(login) for k, m in c.items() if k == "cognito"]
        assert cookie["max-age"] == str(MANAGED_LOGIN_SECONDS)

    run(scenario)


def test_global_sign_out_leaves_the_managed_login_session_only_logout_ends_it_in_that_browser():
    async def scenario(stand_in: Running) -> None:
        this_browser, _ = await _sign_in(stand_in, "user@example.com")
        other_browser, _ = await _sign_in(stand_in, "user@example.com")
        assert (await _global_sign_out(stand_in, await _access_token(stand_in, this_browser)))[0] == 200
        assert await _authorize(stand_in, this_browser["cognito"]) == 302, "GlobalSignOut keeps it"

        answers = await _log_out(stand_in, this_browser)
        headers = {"Cookie": f"cognito={this_browser['cognito']}"}
        async with stand_in.client.get(answers[-1][0], headers=headers, allow_redirects=False) as idp_logout:
            assert idp_logout.status == 302
        assert await _authorize(stand_in, this_browser["cognito"]) == 200, "/logout ended it here"
        assert await _authorize(stand_in, other_browser["cognito"]) == 302, "and nowhere else"

    run(scenario)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("logout_uri", "{url}/"), "redirect_mismatch"),
        (("logout_uri", "{url}?next=/"), "redirect_mismatch"),
        (("logout_uri", "{url_https}"), "redirect_mismatch"),
        (("logout_uri", ""), "redirect_mismatch"),
        (("client_id", "someoneelse"), "invalid_request"),
        (("client_id", ""), "invalid_request"),
    ],
)
def test_logout_with_another_sign_out_url_or_client_is_an_error_page_and_ends_nothing(change, error):
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        url = stand_in.config.sign_out_url
        query = {"client_id": stand_in.config.client_id, "logout_uri": url}
        name, value = change
        query[name] = value.format(url=url, url_https=url.replace("http:", "https:"))
        headers = {"Cookie": f"cognito={cookies['cognito']}"}
        async with stand_in.client.get(
            stand_in.base + "/logout", params=query, headers=headers, allow_redirects=False
        ) as answer:
            assert answer.status == 400
            page = await answer.text()
        assert "An error was encountered with the requested page." in page and error in page
        assert await _authorize(stand_in, cookies["cognito"]) == 302, "still signed in at the IdP"

    run(scenario)


def test_force_sign_in_prompt_asks_again_despite_the_managed_login_session():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        async with stand_in.client.get(stand_in.base + "/other", allow_redirects=False) as again:
            assert parse_qs(urlsplit(again.headers["Location"]).query)["prompt"] == ["login"]
        assert await _authorize(stand_in, cookies["cognito"]) == 200

    run(scenario, force_sign_in_prompt=True)


# --- both issuer formats ------------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["original", "updated"])
def test_tokens_carry_the_chosen_issuer_format_and_the_app_verifies_them(issuer):
    host = {"original": "cognito-idp", "updated": "issuer-cognito-idp"}[issuer]

    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "admin@example.com")
        headers = {"Cookie": _cookie_header(_session_only(cookies))}
        async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
            seen = await page.json()
        expected = f"https://{host}.us-east-1.amazonaws.com/{stand_in.config.user_pool_id}"
        assert (
            jwt.decode(seen["x-amzn-oidc-accesstoken"], options={"verify_signature": False})["iss"]
            == expected
        )
        assert jwt.get_unverified_header(seen["x-amzn-oidc-data"])["iss"] == expected
        env = stand_in.config.app_environment()
        assert env["ALB_AUTH_ISSUER"] == expected
        settings = {
            name.removeprefix("ALB_AUTH_").lower(): value
            for name, value in env.items()
            if name.startswith("ALB_AUTH_") and name != "ALB_AUTH_SHOW_DETAILS"
        }
        authenticator = Authenticator(resolve_settings(settings, environ={}, secrets={}))
        values = (seen["x-amzn-oidc-data"], seen["x-amzn-oidc-identity"], seen["x-amzn-oidc-accesstoken"])
        user = await asyncio.to_thread(authenticator.authenticate, *values)
        assert user.groups == ("admin",) and user.idp == "cognito"

    run(scenario, cognito_issuer=issuer)


# --- the flags ----------------------------------------------------------------------------------------


def test_the_fidelity_flags_parse_default_and_refuse():
    parser = build_parser()
    defaults = parser.parse_args(["dev"])
    assert (defaults.scope, defaults.access_token_seconds, defaults.managed_login_seconds) == (
        None,
        900,
        3600,
    )
    assert (defaults.cognito_issuer, defaults.force_sign_in_prompt) == ("original", False)
    flags = ["--scope", BROKEN_SCOPE, "--access-token-seconds", "5", "--managed-login-seconds", "0"]
    args = parser.parse_args(["dev", *flags, "--cognito-issuer", "updated", "--force-sign-in-prompt"])
    assert (args.scope, args.access_token_seconds, args.managed_login_seconds) == (BROKEN_SCOPE, 5, 0)
    assert (args.cognito_issuer, args.force_sign_in_prompt) == ("updated", True)
    for bad in (
        ["--access-token-seconds", "0"],
        ["--access-token-seconds", "1e3"],
        ["--cognito-issuer", "x"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(["dev", *bad])
    for settings in ({"scope": "openid  email"}, {"scope": 'a"b'}, {"cognito_issuer": "new"}):
        with pytest.raises(ValueError):
            DevConfig(port=1, streamlit_port=2, **settings)


def test_the_data_token_lives_120_seconds_as_observed_on_real_albs():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        headers = {"Cookie": _cookie_header(_session_only(cookies))}
        before = time.time()
        async with stand_in.client.get(stand_in.base + "/page", headers=headers) as page:
            data = (await page.json())["x-amzn-oidc-data"]
        expires = jwt.get_unverified_header(data)["exp"]
        assert before + 119 <= expires <= time.time() + 121, "signed per request, for about 120 s"

    run(scenario)
