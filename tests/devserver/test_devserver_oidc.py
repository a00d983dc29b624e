"""``streamlit-alb-auth dev --idp oidc``: the stand-in as an ALB with authenticate-oidc and a generic IdP."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from helpers.standin import COOKIE, Running, _cookie_header, _log_out, _sign_in, run

from streamlit_alb_auth.authenticate import Authenticator, header_values
from streamlit_alb_auth.cli import build_parser
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.devserver.config import OIDC_PATH, DevConfig
from streamlit_alb_auth.devserver.users import parse_user
from streamlit_alb_auth.localidp import LocalOidcProvider
from streamlit_alb_auth.templates.logout_lambda import SHARDS


def run_oidc(scenario) -> None:
    run(scenario, idp="oidc")


async def _forwarded(stand_in: Running, email: str) -> tuple[dict[str, str], dict[str, str]]:
    """Sign in; return the session cookies and the headers the app behind the stand-in receives."""
    cookies, _ = await _sign_in(stand_in, email)
    async with stand_in.client.get(
        stand_in.base + "/page", headers={"Cookie": _cookie_header(cookies)}
    ) as answer:
        assert answer.status == 200
        return cookies, await answer.json()


async def _get_json(stand_in: Running, url: str, **kwargs) -> dict:
    async with stand_in.client.get(url, **kwargs) as answer:
        assert answer.status == 200, url
        return await answer.json()


def test_the_app_is_configured_for_a_generic_provider_not_cognito():
    env = DevConfig(port=8080, streamlit_port=8501, idp="oidc").app_environment()
    assert env["ALB_AUTH_OIDC_ISSUER"] == "http://127.0.0.1:8080" + OIDC_PATH
    assert env["ALB_AUTH_ISSUER"] == env["ALB_AUTH_OIDC_ISSUER"]
    assert env["ALB_AUTH_AUDIENCE"] == env["ALB_AUTH_CLIENT_ID"]
    assert env["ALB_AUTH_GROUPS_CLAIM"] == "groups"
    assert not [name for name in env if "USER_POOL" in name or "COGNITO" in name]


def test_discovery_names_the_issuer_and_every_endpoint_under_it():
    async def scenario(stand_in: Running) -> None:
        issuer = stand_in.config.app_environment()["ALB_AUTH_OIDC_ISSUER"]
        document = await _get_json(stand_in, issuer + "/.well-known/openid-configuration")
        assert document["issuer"] == issuer
        for name in ("jwks_uri", "userinfo_endpoint", "end_session_endpoint", "authorization_endpoint"):
            assert document[name].startswith(issuer + "/"), name
        jwks = await _get_json(stand_in, document["jwks_uri"])
        assert [key["alg"] for key in jwks["keys"]] == ["RS256"]

    run_oidc(scenario)


def test_signed_in_requests_carry_a_generic_oidc_access_token_with_groups():
    async def scenario(stand_in: Running) -> None:
        _, seen = await _forwarded(stand_in, "admin@example.com")
        env = stand_in.config.app_environment()
        document = await _get_json(
            stand_in, env["ALB_AUTH_OIDC_ISSUER"] + "/.well-known/openid-configuration"
        )
        jwks = await _get_json(stand_in, document["jwks_uri"])
        key = jwt.PyJWK(jwks["keys"][0]).key
        access = jwt.decode(
            seen["x-amzn-oidc-accesstoken"],
            key,
            algorithms=["RS256"],
            issuer=document["issuer"],
            audience=env["ALB_AUTH_AUDIENCE"],
        )
        assert access["sub"] == seen["x-amzn-oidc-identity"]
        assert access[env["ALB_AUTH_GROUPS_CLAIM"]] == ["admin"]
        assert "cognito:groups" not in access and "token_use" not in access

        _, other = await _forwarded(stand_in, "user@example.com")
        plain = jwt.decode(other["x-amzn-oidc-accesstoken"], options={"verify_signature": False})
        assert "groups" not in plain

    run_oidc(scenario)


@pytest.mark.parametrize("userinfo", [False, True])
def test_the_package_verifies_what_the_stand_in_forwards_and_finds_the_groups(userinfo):
    """The app's side, as configured by the stand-in: access token (or userinfo) checked via discovery."""

    async def scenario(stand_in: Running) -> None:
        env = {**stand_in.config.app_environment(), **({"ALB_AUTH_USERINFO": "1"} if userinfo else {})}
        authenticator = Authenticator(resolve_settings({}, environ=env, secrets={}))
        for email, groups in (("admin@example.com", ("admin",)), ("user@example.com", ())):
            _, seen = await _forwarded(stand_in, email)
            user = await asyncio.to_thread(authenticator.authenticate, *header_values(seen))
            assert (user.email, user.groups) == (email, groups)
            assert bool(user.userinfo) is userinfo and bool(user.access_token_claims) is not userinfo

    run_oidc(scenario)


def test_userinfo_answers_a_live_token_of_ours_only():
    async def scenario(stand_in: Running) -> None:
        _, seen = await _forwarded(stand_in, "admin@example.com")
        issuer = stand_in.config.oidc_issuer
        token = seen["x-amzn-oidc-accesstoken"]
        answer = await _get_json(stand_in, issuer + "/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert answer["sub"] == seen["x-amzn-oidc-identity"]
        assert answer["email"] == "admin@example.com" and answer["groups"] == ["admin"]
        impostor = LocalOidcProvider(issuer=issuer, client_id=stand_in.config.client_id)
        for bad in (
            impostor.access_token(answer["sub"], groups=["admin"]),  # right shape, wrong key
            f"{token[:-4]}AAAA",
            "",
        ):
            async with stand_in.client.get(
                issuer + "/userinfo", headers={"Authorization": f"Bearer {bad}"}
            ) as refused:
                assert refused.status == 401

    run_oidc(scenario)


@pytest.mark.parametrize("mode", ["multi", "single"])
def test_logout_goes_through_the_end_session_endpoint_and_ends_the_sign_in(mode):
    async def scenario(stand_in: Running) -> None:
        cookies, _ = await _forwarded(stand_in, "user@example.com")
        answers = await _log_out(stand_in, cookies)
        assert sorted(name for _, expired in answers for name in expired) == [
            f"{COOKIE}-{i}" for i in range(SHARDS)
        ]
        location = answers[-1][0]
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == stand_in.base + OIDC_PATH + "/logout"
        assert parse_qs(parts.query) == {
            "post_logout_redirect_uri": [stand_in.config.sign_out_url],
            "client_id": [stand_in.config.client_id],
        }
        sign_in = {"Cookie": f"cognito={cookies['cognito']}"}
        for bad in (
            location.replace("post_logout_redirect_uri=http", "post_logout_redirect_uri=https"),
            location.replace(f"client_id={stand_in.config.client_id}", "client_id=other"),
        ):
            async with stand_in.client.get(bad, headers=sign_in, allow_redirects=False) as refused:
                assert refused.status == 400
        async with stand_in.client.get(location, headers=sign_in, allow_redirects=False) as ended:
            assert ended.status == 302
            assert ended.headers["Location"] == stand_in.config.sign_out_url
        async with stand_in.client.get(stand_in.base + "/", allow_redirects=False) as again:
            authorize = again.headers["Location"]
        async with stand_in.client.get(authorize, headers=sign_in, allow_redirects=False) as page:
            assert page.status == 200  # asked who you are again, not signed straight back in
            assert "Sign in as user@example.com" in await page.text()

    run(scenario, idp="oidc", lambda_headers=mode)


def test_users_from_the_flag_keep_their_groups():
    async def scenario(stand_in: Running) -> None:
        _, seen = await _forwarded(stand_in, "fin@example.com")
        claims = jwt.decode(seen["x-amzn-oidc-accesstoken"], options={"verify_signature": False})
        assert claims["groups"] == ["finance", "audit"]

    run(scenario, idp="oidc", users=(parse_user("fin@example.com:finance,audit"),))


def test_the_idp_flag():
    assert build_parser().parse_args(["dev", "--idp", "oidc"]).idp == "oidc"
    assert build_parser().parse_args(["dev"]).idp == "cognito"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["dev", "--idp", "saml"])
    with pytest.raises(ValueError, match="idp"):
        DevConfig(port=1, streamlit_port=2, idp="saml")


def test_groups_go_where_the_provider_puts_them():
    keycloak = LocalOidcProvider(groups_claim="realm_access.roles")
    claims = jwt.decode(keycloak.access_token("s", groups=["admin"]), options={"verify_signature": False})
    assert claims["realm_access"] == {"roles": ["admin"]}
    assert claims["aud"] == claims["azp"] == keycloak.client_id and claims["iss"] == keycloak.issuer
