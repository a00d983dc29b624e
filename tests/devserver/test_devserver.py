"""The local ALB stand-in without a browser: real aiohttp servers on loopback, a fake Streamlit behind."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from helpers.standin import COOKIE, Running, _cookie_header, _set_cookies, _sign_in, run

from streamlit_alb_auth.access_token import IdpVerifier
from streamlit_alb_auth.devserver.alb import StateSigner, safe_return_path
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.lambda_target import http_response, rewrite_location
from streamlit_alb_auth.devserver.session import (
    MAX_COOKIE_BYTES,
    AlbSession,
    SessionSealer,
    reassemble_cookie,
    shard_cookie,
)
from streamlit_alb_auth.devserver.users import DevUser, parse_user
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SHARDS
from streamlit_alb_auth.testing import LocalAlbSigner
from streamlit_alb_auth.verify import AlbJwtVerifier

# --- cookie sharding and the sealed session ---------------------------------------------------------


@pytest.mark.parametrize("size", [0, 10, 4000, 4096, 9000, 16000])
def test_shards_fit_4kb_and_reassemble(size):
    value = "".join(chr(ord("a") + i % 26) for i in range(size))
    shards = shard_cookie(COOKIE, value)
    assert [name for name, _ in shards] == [f"{COOKIE}-{i}" for i in range(len(shards))]
    assert all(len(f"{name}={part}") <= MAX_COOKIE_BYTES for name, part in shards)
    assert reassemble_cookie(dict(shards), COOKIE) == value


def test_shards_are_at_most_four():
    with pytest.raises(ValueError, match="more than 4"):
        shard_cookie(COOKIE, "x" * 17000)


def test_reassembly_stops_at_the_first_missing_shard():
    cookies = {f"{COOKIE}-0": "aa", f"{COOKIE}-1": "bb", f"{COOKIE}-3": "dd"}
    assert reassemble_cookie(cookies, COOKIE) == "aabb"
    assert reassemble_cookie({f"{COOKIE}-1": "bb"}, COOKIE) is None


def _session(**changes: Any) -> AlbSession:
    fields = {
        "sub": "s",
        "email": "a@example.com",
        "username": "a",
        "groups": ("admin",),
        "access_token": "t",
        "expires_at": time.time() + 60,
        "refresh_token": "r" * 1800,
    }
    return AlbSession(**{**fields, **changes})


def test_sealed_session_round_trips_and_rejects_tampering_and_expiry():
    sealer = SessionSealer()
    sealed = sealer.seal(_session())
    assert sealer.open(sealed) == _session(expires_at=sealer.open(sealed).expires_at)
    assert sealer.open(sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]) is None
    assert SessionSealer().open(sealed) is None  # another process's key
    assert sealer.open(sealer.seal(_session(expires_at=time.time() - 1))) is None
    assert sealer.open("not base64 !!") is None
    assert sealer.open(None) is None


# --- return paths and state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "/a\\b",
        "https://evil.example/",
        "evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "/a b",
        "",
    ],
)
def test_unsafe_return_paths_are_refused(target):
    assert safe_return_path(target) is None


def test_safe_return_paths_pass():
    assert safe_return_path("/") == "/"
    assert safe_return_path("/page?x=1&y=%2F%2Fz") == "/page?x=1&y=%2F%2Fz"


def test_state_is_signed_expiring_and_rechecked():
    states = StateSigner()
    assert states.read(states.make("/page?x=1")) == "/page?x=1"
    assert states.read(StateSigner().make("/page")) is None  # signed by someone else
    assert states.read(states.make("//evil.example/")) is None  # checked again on the way back
    assert states.read(states.make("/page", now=time.time() - 3600)) is None
    body, _, mac = states.make("/page").partition(".")
    assert states.read(body[:-1] + "x." + mac) is None
    assert states.read("garbage") is None


def test_users_parse_from_the_flag():
    assert parse_user("ops@example.com:admin, ops") == DevUser("ops@example.com", ("admin", "ops"))
    assert parse_user("a@example.com").groups == ()
    with pytest.raises(ValueError):
        parse_user("not-an-email")


def dev_users(*argv: str) -> list[tuple[str, tuple[str, ...]]]:
    from streamlit_alb_auth.cli import build_parser
    from streamlit_alb_auth.devserver import dev_config

    users = dev_config(build_parser().parse_args(["dev", *argv])).users
    return [(user.email, user.groups) for user in users]


def test_user_flag_adds_to_the_default_users_as_the_help_and_docs_say():
    defaults = [("admin@example.com", ("admin",)), ("user@example.com", ())]
    assert dev_users() == defaults
    assert dev_users("--user", "ops@example.com:admin") == [*defaults, ("ops@example.com", ("admin",))]
    # A default user's email changes that user, in its place.
    assert dev_users("--user", "Admin@example.com:admin,ops")[0] == ("Admin@example.com", ("admin", "ops"))
    assert dev_users("--no-default-users", "--user", "ops@example.com") == [("ops@example.com", ())]
    with pytest.raises(ValueError, match="needs at least one --user"):
        dev_users("--no-default-users")
    from streamlit_alb_auth.cli import build_parser

    dev_help = build_parser()._subparsers._group_actions[0].choices["dev"].format_help()
    docs = (Path(__file__).resolve().parents[2] / "docs" / "local-development.md").read_text(encoding="utf-8")
    assert "add a user" in " ".join(dev_help.split()) and "--no-default-users" in dev_help
    assert "add users with\n  `--user" in docs and "`--no-default-users`" in docs


# --- the logout Lambda's answer, translated -----------------------------------------------------------


def test_lambda_location_is_rewritten_only_for_the_fake_cognito_domain():
    local = "http://localhost:8080"
    domain = "auth.alb-dev.invalid"
    assert rewrite_location(f"https://{domain}/logout?a=1", domain, local) == f"{local}/logout?a=1"
    for untouched in (
        f"https://{domain}.evil.example/logout",
        f"http://{domain}/logout",
        "https://evil.example/logout",
        "/relative",
    ):
        assert rewrite_location(untouched, domain, local) == untouched


def test_lambda_answer_keeps_every_set_cookie():
    config = DevConfig(port=8080, streamlit_port=8501)
    answer = http_response(
        {
            "statusCode": 302,
            "statusDescription": "302 Found",
            "multiValueHeaders": {"Location": ["/x"], "Set-Cookie": ["a=; Max-Age=0", "b=; Max-Age=0"]},
            "body": "",
            "isBase64Encoded": False,
        },
        config,
    )
    assert answer.status == 302
    assert answer.headers.getall("Set-Cookie") == ["a=; Max-Age=0", "b=; Max-Age=0"]


# --- the stand-in, running, in front of a fake Streamlit ----------------------------------------------


def test_unauthenticated_navigation_redirects_to_the_hosted_ui():
    async def scenario(stand_in: Running) -> None:
        async with stand_in.client.get(stand_in.base + "/page?x=1", allow_redirects=False) as answer:
            assert answer.status == 302
            location = urlsplit(answer.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == (
            stand_in.base + "/oauth2/authorize"
        )
        query = parse_qs(location.query)
        assert query["client_id"] == [stand_in.config.client_id]
        assert query["redirect_uri"] == [stand_in.config.callback_url]
        async with stand_in.client.post(stand_in.base + "/page", allow_redirects=False) as posted:
            assert posted.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await stand_in.client.ws_connect(stand_in.base + "/_stcore/stream")
        assert refused.value.status == 401
        assert stand_in.upstream.requests == []

    run(scenario)


def test_health_passes_without_a_session_and_without_client_identity_headers():
    async def scenario(stand_in: Running) -> None:
        forged = {"X-Amzn-Oidc-Data": "forged", "x-amzn-oidc-identity": "admin"}
        async with stand_in.client.get(stand_in.base + "/_stcore/health", headers=forged) as answer:
            assert answer.status == 200
            seen = await answer.json()
        assert not [name for name in seen if name.startswith("x-amzn-oidc-")]
        async with stand_in.client.get(
            stand_in.base + "/_stcore/health/../stream", allow_redirects=False
        ) as a:
            assert a.status == 302  # only the exact health path is exempt

    run(scenario)


def test_sign_in_sets_sharded_session_and_forwards_verifiable_headers():
    async def scenario(stand_in: Running) -> None:
        cookies, landed = await _sign_in(stand_in, "admin@example.com")
        assert landed == "/page?x=1"
        shards = [name for name in cookies if name.startswith(COOKIE)]
        assert shards == [f"{COOKIE}-0", f"{COOKIE}-1"]  # about as large as the ALB's own
        assert all(len(f"{name}={cookies[name]}") <= MAX_COOKIE_BYTES for name in shards)

        forged = LocalAlbSigner(alb_arn=stand_in.config.alb_arn).sign({"sub": "attacker"})
        async with stand_in.client.get(
            stand_in.base + "/page",
            headers={
                "Cookie": _cookie_header(cookies),
                "x-amzn-oidc-data": forged,
                "X-Amzn-Oidc-Identity": "attacker",
                "X-Forwarded-For": "203.0.113.9",
            },
        ) as answer:
            assert answer.status == 200
            seen = await answer.json()
        assert seen["x-amzn-oidc-data"] != forged
        assert seen["x-amzn-oidc-identity"] != "attacker"
        assert seen["host"] == f"localhost:{stand_in.config.port}"
        assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"

        env = stand_in.config.app_environment()
        data_verifier = AlbJwtVerifier(
            alb_arn=env["ALB_AUTH_ALB_ARN"],
            client_id=env["ALB_AUTH_CLIENT_ID"],
            issuer=env["ALB_AUTH_ISSUER"],
            key_url=env["ALB_AUTH_KEY_URL"],
        )
        claims = await asyncio.to_thread(data_verifier.verify, seen["x-amzn-oidc-data"])
        assert claims["email"] == "admin@example.com"
        assert seen["x-amzn-oidc-identity"] == claims["sub"]
        access_verifier = IdpVerifier.cognito_pool(
            env["ALB_AUTH_USER_POOL_ID"],
            client_id=env["ALB_AUTH_CLIENT_ID"],
            jwks_url=env["ALB_AUTH_JWKS_URL"],
        )
        facts = await asyncio.to_thread(
            access_verifier.check, seen["x-amzn-oidc-accesstoken"], expected_sub=claims["sub"]
        )
        assert facts.access_token_claims["cognito:groups"] == ["admin"]

        headers = {"Authorization": "Bearer " + seen["x-amzn-oidc-accesstoken"]}
        async with stand_in.client.get(env["COGNITO_USERINFO_URL"], headers=headers) as info:
            assert info.status == 200
            assert (await info.json())["email"] == "admin@example.com"
        async with stand_in.client.get(
            env["COGNITO_USERINFO_URL"], headers={"Authorization": "Bearer " + forged}
        ) as refused:
            assert refused.status == 401

    run(scenario)


def test_websocket_is_proxied_with_identity_and_without_client_headers():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        async with stand_in.client.ws_connect(
            stand_in.base + "/_stcore/stream",
            protocols=["streamlit", "xsrf-token"],
            headers={"Cookie": _cookie_header(cookies), "x-amzn-oidc-data": "forged"},
            origin=stand_in.base,
        ) as socket:
            assert socket.protocol == "streamlit"
            seen = json.loads((await socket.receive()).data)
            await socket.send_str("hi")
            assert (await socket.receive()).data == "echo:hi"
        assert seen["x-amzn-oidc-data"] != "forged"
        assert seen["x-amzn-oidc-identity"] == DevUser("user@example.com").sub
        assert seen["origin"] == stand_in.base
        assert seen["host"] == f"localhost:{stand_in.config.port}"
        offered = [p.strip() for p in seen["sec-websocket-protocol"].split(",")]
        assert offered == ["streamlit", "xsrf-token"]

    run(scenario)


def test_internal_identity_headers_from_the_client_never_reach_the_app():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        forged = {"X-Alb-Auth-Email": "admin@example.com", "x-alb-auth-groups": "admin"}
        for path in ("/_stcore/agent/interact", "/media/x.png", "/_stcore/health"):
            headers = {"Cookie": _cookie_header(cookies), **forged}
            async with stand_in.client.post(stand_in.base + path, headers=headers) as answer:
                seen = await answer.json()
            assert not [name for name in seen if name.startswith("x-alb-auth-")], path
        async with stand_in.client.ws_connect(
            stand_in.base + "/_stcore/stream", headers={"Cookie": _cookie_header(cookies), **forged}
        ) as socket:
            seen = json.loads((await socket.receive()).data)
        assert not [name for name in seen if name.startswith("x-alb-auth-")]

    run(scenario)


def test_off_site_first_paths_return_home_and_bodies_are_forwarded():
    async def scenario(stand_in: Running) -> None:
        cookies, landed = await _sign_in(stand_in, "user@example.com", path="//evil.example/x")
        assert landed == "/"
        session = {"Cookie": _cookie_header(cookies)}
        upload = stand_in.base + "/_stcore/upload?id=1"
        async with stand_in.client.post(upload, data=b"x" * 100_000, headers=session) as answer:
            assert (await answer.json())["body"] == "x" * 100_000
        assert stand_in.upstream.requests[-1]["path"] == "/_stcore/upload?id=1"

    run(scenario)


def test_callback_refuses_forged_state_and_replayed_codes():
    async def scenario(stand_in: Running) -> None:
        get = stand_in.client.get
        async with get(stand_in.base + "/", allow_redirects=False) as first:
            authorize = first.headers["Location"]
        state = parse_qs(urlsplit(authorize).query)["state"][0]
        foreign_state = StateSigner().make("//evil.example/")
        async with get(authorize, allow_redirects=False) as page:
            html = await page.text()
        form = dict(re.findall(r'name="(client_id|redirect_uri|state|scope)" value="([^"]*)"', html))
        form = {name: value.replace("&amp;", "&") for name, value in form.items()}
        async with stand_in.client.post(
            stand_in.base + "/login", data={**form, "email": "user@example.com"}, allow_redirects=False
        ) as login:
            code = parse_qs(urlsplit(login.headers["Location"]).query)["code"][0]
        callback = stand_in.config.callback_url
        async with get(callback, params={"code": code, "state": foreign_state}, allow_redirects=False) as bad:
            assert bad.status == 401
            assert "Location" not in bad.headers
        async with get(callback, params={"code": code, "state": state}, allow_redirects=False) as good:
            assert good.status == 302
            assert good.headers["Location"] == "/"
        async with get(callback, params={"code": code, "state": state}, allow_redirects=False) as replay:
            assert replay.status == 401  # a code works once

    run(scenario)


def test_hosted_ui_refuses_unregistered_callbacks_and_unknown_clients():
    async def scenario(stand_in: Running) -> None:
        base = {"response_type": "code", "client_id": stand_in.config.client_id, "state": "s"}
        for params in (
            {**base, "redirect_uri": "https://evil.example/oauth2/idpresponse"},
            {**base, "redirect_uri": stand_in.config.callback_url, "client_id": "other"},
        ):
            async with stand_in.client.get(stand_in.base + "/oauth2/authorize", params=params) as answer:
                assert answer.status == 400
        evil = {
            "client_id": stand_in.config.client_id,
            "redirect_uri": "https://evil.example/cb",
            "state": "s",
        }
        async with stand_in.client.post(
            stand_in.base + "/login", data={**evil, "email": "user@example.com"}, allow_redirects=False
        ) as login:
            assert login.status == 400

    run(scenario)


def test_logout_runs_the_lambda_then_cognito_ends_the_sign_in():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        async with stand_in.client.get(
            stand_in.base + LOGOUT_PATH,
            headers={"Cookie": _cookie_header(cookies)},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 302
            assert answer.headers["Cache-Control"] == "no-store"
            location = answer.headers["Location"]
            expired = {name: morsel for c in _set_cookies(answer) for name, morsel in c.items()}
        assert sorted(expired) == [f"{COOKIE}-{i}" for i in range(SHARDS)]
        assert all(morsel["max-age"] == "0" and morsel.value == "" for morsel in expired.values())
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == stand_in.base + "/logout"
        assert parse_qs(parts.query) == {
            "client_id": [stand_in.config.client_id],
            "logout_uri": [stand_in.config.sign_out_url],
        }

        sign_in = {"Cookie": f"cognito={cookies['cognito']}"}
        async with stand_in.client.get(location, headers=sign_in, allow_redirects=False) as cognito:
            assert cognito.status == 302
            assert cognito.headers["Location"] == stand_in.config.sign_out_url
        async with stand_in.client.get(stand_in.base + "/", allow_redirects=False) as again:
            authorize = again.headers["Location"]
        async with stand_in.client.get(authorize, headers=sign_in, allow_redirects=False) as page:
            assert page.status == 200  # the sign-in page again, not a silent redirect back
            assert "Sign in as user@example.com" in await page.text()

        bad = location.replace("logout_uri=http", "logout_uri=https")
        async with stand_in.client.get(bad, allow_redirects=False) as refused:
            assert refused.status == 400

    run(scenario)


def test_signed_in_hosted_ui_redirects_straight_back():
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _sign_in(stand_in, "user@example.com")
        async with stand_in.client.get(stand_in.base + "/other", allow_redirects=False) as again:
            authorize = again.headers["Location"]
        async with stand_in.client.get(
            authorize, headers={"Cookie": f"cognito={cookies['cognito']}"}, allow_redirects=False
        ) as answer:
            assert answer.status == 302
            assert answer.headers["Location"].startswith(stand_in.config.callback_url + "?code=")

    run(scenario)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_sign_in_and_logout_stay_on_the_origin_the_browser_opened(host):
    """Cookies are per host: a sign-in page or sign-out URL on the other name would lose the session."""

    async def scenario(stand_in: Running) -> None:
        origin = f"http://{host}:{stand_in.config.port}"
        opened = Running(stand_in.config, origin, stand_in.upstream, stand_in.client)
        async with stand_in.client.get(origin + "/", allow_redirects=False) as first:
            assert first.headers["Location"].startswith(origin + "/oauth2/authorize?")
            redirect_uri = parse_qs(urlsplit(first.headers["Location"]).query)["redirect_uri"]
        assert redirect_uri == [origin + "/oauth2/idpresponse"]
        cookies, back = await _sign_in(opened, "user@example.com")
        assert back == "/page?x=1"
        async with stand_in.client.get(
            origin + LOGOUT_PATH, headers={"Cookie": _cookie_header(cookies)}, allow_redirects=False
        ) as answer:
            location = answer.headers["Location"]
        assert location.startswith(origin + "/logout?")
        sign_out_path = urlsplit(stand_in.config.sign_out_url).path
        assert parse_qs(urlsplit(location).query)["logout_uri"] == [origin + sign_out_path]
        sign_in = {"Cookie": f"cognito={cookies['cognito']}"}
        async with stand_in.client.get(location, headers=sign_in, allow_redirects=False) as cognito:
            assert cognito.status == 302
            assert cognito.headers["Location"] == origin + sign_out_path

    run(scenario)


def test_a_foreign_host_header_gets_the_default_origin():
    async def scenario(stand_in: Running) -> None:
        async with stand_in.client.get(
            stand_in.config.loopback_url + "/", headers={"Host": "evil.example"}, allow_redirects=False
        ) as first:
            assert first.headers["Location"].startswith(stand_in.config.public_url + "/oauth2/authorize?")

    run(scenario)


def test_public_keys_are_served_without_a_session():
    async def scenario(stand_in: Running) -> None:
        env = stand_in.config.app_environment()
        async with stand_in.client.get(env["ALB_AUTH_JWKS_URL"]) as jwks:
            assert jwks.status == 200
            assert (await jwks.json())["keys"][0]["alg"] == "RS256"
        async with stand_in.client.get(
            env["ALB_AUTH_KEY_URL"] + "/00000000-0000-0000-0000-000000000000"
        ) as k:
            assert k.status == 404

    run(scenario)


def test_dev_without_aiohttp_says_what_to_install(monkeypatch, capsys):
    import argparse

    from streamlit_alb_auth.devserver import run_dev

    monkeypatch.setitem(sys.modules, "aiohttp", None)
    assert run_dev(argparse.Namespace(app=None, port=8080)) == 2
    assert 'pip install "streamlit-alb-auth[dev]"' in capsys.readouterr().err


def test_the_stand_in_shows_details_to_the_developer():
    assert DevConfig(port=8080, streamlit_port=8501).app_environment().get("ALB_AUTH_SHOW_DETAILS") == "1"
