"""``dev --machine-clients``: the stand-in's jwt-validation rule and its client-credentials token endpoint,
over real HTTP (a real stand-in on a loopback port in front of an echoing app)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from helpers.standin import Upstream, fake_streamlit_runner
from helpers.templates import AGENT_PATHS, deployed, machine_rule

from streamlit_alb_auth.cli import build_parser
from streamlit_alb_auth.devserver import dev_config
from streamlit_alb_auth.devserver.app import AUTHENTICATE, MAX_LINE_BYTES, build_app, server_options
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.machines import (
    AGENT_PATH_PREFIX,
    MACHINE_CLIENT_ID,
    MACHINE_SCOPE,
    MACHINE_TOKEN_SECONDS,
    TOKEN_PATH,
)
from streamlit_alb_auth.devserver.runner import banner, free_port
from streamlit_alb_auth.localidp import LocalOidcProvider

AGENT = "/_stcore/agent/openapi.json"


@dataclass
class Stand:
    config: DevConfig
    pool: LocalOidcProvider
    upstream: Upstream
    client: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return self.config.public_url

    async def token(self, **form: str) -> str:
        form = {"grant_type": "client_credentials", **form}
        auth = basic(MACHINE_CLIENT_ID, self.config.machine_secret)
        async with self.client.post(self.base + TOKEN_PATH, data=form, headers=auth) as answer:
            assert answer.status == 200, await answer.text()
            return (await answer.json())["access_token"]

    async def call(
        self, path: str = AGENT, token: str | None = None, **headers: str
    ) -> aiohttp.ClientResponse:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.client.get(self.base + path, headers=headers, allow_redirects=False) as answer:
            await answer.read()
            return answer


@asynccontextmanager
async def stand_in(**settings) -> AsyncIterator[Stand]:
    seen = Upstream()
    config = DevConfig(port=free_port(), streamlit_port=free_port(), **{"machine_clients": True, **settings})
    app = build_app(config)
    runners = [fake_streamlit_runner(seen), web.AppRunner(app, **server_options())]
    for runner, port in zip(runners, (config.streamlit_port, config.port), strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
            yield Stand(config, app[AUTHENTICATE].pool, seen, client)
    finally:
        for runner in runners:
            await runner.cleanup()


def run(scenario: Callable[[Stand], Awaitable[None]], **settings) -> None:
    async def main() -> None:
        async with stand_in(**settings) as stand:
            await scenario(stand)

    asyncio.run(main())


def claims_of(stand: Stand, **changes) -> dict:
    now = int(time.time())
    claims = {
        "sub": MACHINE_CLIENT_ID,
        "iss": stand.pool.issuer,
        "client_id": MACHINE_CLIENT_ID,
        "token_use": "access",
        "scope": MACHINE_SCOPE,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed(stand: Stand, key=None, algorithm: str = "RS256", **changes) -> str:
    key = key or stand.pool.private_key
    return jwt.encode(claims_of(stand, **changes), key, algorithm=algorithm, headers={"kid": stand.pool.kid})


def padded_to(stand: Stand, length: int) -> str:
    """A signed, otherwise valid token of about ``length`` characters (a claim pads it)."""
    short = len(signed(stand, padding=""))
    token = signed(stand, padding="x" * ((length - short) * 3 // 4))
    assert length - 4 <= len(token) <= length, (length, len(token))
    return token


def basic(client_id: str, secret: str) -> dict[str, str]:
    """client_secret_basic (RFC 6749 2.3.1)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(stand: Stand, alg: str, secret: bytes | None) -> str:
    """A token PyJWT would refuse to write: ``alg: none``, or HS256 keyed with the RSA public key."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": stand.pool.kid}).encode())
    body = _b64(json.dumps(claims_of(stand)).encode())
    signature = (
        b"" if secret is None else hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    )
    return f"{header}.{body}.{_b64(signature)}"


# --- the rule ------------------------------------------------------------------------------------------


def test_a_token_from_the_token_endpoint_reaches_the_app_as_is_without_alb_headers():
    async def scenario(stand: Stand) -> None:
        token = await stand.token()
        answer = await stand.call(token=token, **{"x-amzn-oidc-data": "forged", "x-amzn-oidc-identity": "x"})
        assert answer.status == 200
        seen = stand.upstream.requests[-1]
        assert seen["path"] == AGENT
        assert seen["authorization"] == f"Bearer {token}"
        assert not [name for name in seen if name.startswith("x-amzn-oidc-")]

    run(scenario)


def test_the_token_is_cognitos_client_credentials_shape_signed_with_a_kid_of_the_jwks():
    async def scenario(stand: Stand) -> None:
        token = await stand.token(scope=MACHINE_SCOPE)
        async with stand.client.get(stand.base + "/_alb_dev/jwks.json") as answer:
            jwks = await answer.json()
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256"
        (key,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
        claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], issuer=stand.pool.issuer)
        assert claims["client_id"] == claims["sub"] == MACHINE_CLIENT_ID
        assert claims["scope"] == MACHINE_SCOPE and claims["token_use"] == "access"
        assert claims["exp"] - claims["iat"] == MACHINE_TOKEN_SECONDS
        assert "aud" not in claims and "username" not in claims

    run(scenario)


REFUSED = {
    "another issuer": lambda s: signed(s, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
    "no issuer": lambda s: signed(s, iss=None),
    "expired": lambda s: signed(s, exp=int(time.time()) - 60, iat=int(time.time()) - 400),
    "no exp": lambda s: signed(s, exp=None),
    "not yet valid": lambda s: signed(s, nbf=int(time.time()) + 600),
    "issued in the future": lambda s: signed(s, iat=int(time.time()) + 600, exp=int(time.time()) + 900),
    "another client": lambda s: signed(s, client_id="someoneelse"),
    "without the scope": lambda s: signed(s, scope="openid email"),
    "scope as a prefix": lambda s: signed(s, scope=MACHINE_SCOPE + "x"),
    "another key, same kid": lambda s: signed(
        s, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
    "alg none": lambda s: hand_made(s, "none", None),
    "HS256 keyed with the public key": lambda s: hand_made(
        s,
        "HS256",
        s.pool.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    ),
    "ES256": lambda s: signed(s, key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"),
    "not a JWT": lambda s: "not-a-jwt",
}


@pytest.mark.parametrize("story", list(REFUSED))
def test_the_rule_refuses_with_401_and_a_bearer_challenge(story):
    async def scenario(stand: Stand) -> None:
        answer = await stand.call(token=REFUSED[story](stand))
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert stand.upstream.requests == []

    run(scenario)


def test_a_token_the_alb_takes_passes_whole_though_over_aiohttps_own_8190_byte_line():
    """The ALB takes a single header of up to 16 K; the stand-in's server used to stop at 8190."""

    async def scenario(stand: Stand) -> None:
        token = padded_to(stand, 12 * 1024)
        answer = await stand.call(token=token)
        assert answer.status == 200
        assert stand.upstream.requests[-1]["authorization"] == f"Bearer {token}"

    run(scenario)


def test_a_header_over_the_albs_16_k_gets_400_and_no_token_bytes_in_the_log(caplog):
    async def scenario(stand: Stand) -> None:
        token = padded_to(stand, MAX_LINE_BYTES + 100)
        with caplog.at_level(logging.DEBUG, logger="streamlit_alb_auth.devserver.http"):
            answer = await stand.call(token=token)
        assert answer.status == 400
        assert stand.upstream.requests == []
        logged = "\n".join(record.getMessage() + str(record.exc_text) for record in caplog.records)
        assert "refused a request the ALB would refuse (HTTP 400)" in logged
        assert token[:40] not in logged and "xxxx" not in logged and "Traceback" not in caplog.text

    run(scenario)


def test_a_whole_header_over_the_albs_64_k_gets_400():
    async def scenario(stand: Stand) -> None:
        fillers = {f"X-Filler-{n}": "f" * (12 * 1024) for n in range(6)}  # 72 K
        answer = await stand.call(token=await stand.token(), **fillers)
        assert answer.status == 400
        assert stand.upstream.requests == []
        del fillers["X-Filler-0"], fillers["X-Filler-1"]  # 48 K: under the cap, so it goes through
        assert (await stand.call(token=await stand.token(), **fillers)).status == 200

    run(scenario)


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YTpi", "Bearer", "bearer  ", "Token abc"],
    ids=["missing", "basic", "empty", "blank", "other"],
)
def test_requests_without_a_bearer_token_get_401_not_a_sign_in_redirect(authorization):
    async def scenario(stand: Stand) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}
        answer = await stand.call(**headers)
        assert answer.status == 401 and "Location" not in answer.headers
        assert stand.upstream.requests == []

    run(scenario)


def test_two_authorization_headers_are_refused():
    async def scenario(stand: Stand) -> None:
        token = await stand.token()
        headers = [("Authorization", f"Bearer {token}"), ("Authorization", "Bearer other")]
        async with stand.client.get(stand.base + AGENT, headers=headers, allow_redirects=False) as answer:
            assert answer.status == 401

    run(scenario)


def test_browser_paths_still_sign_in_even_with_a_valid_token():
    async def scenario(stand: Stand) -> None:
        token = await stand.token()
        for path in ("/", "/page", "/_stcore/agent"):  # the pattern needs the slash after agent
            answer = await stand.call(path, token=token)
            assert answer.status == 302 and "/oauth2/authorize" in answer.headers["Location"], path
        assert (await stand.call("/_stcore/health")).status == 200
        assert [r["path"] for r in stand.upstream.requests] == ["/_stcore/health"]

    run(scenario)


def test_without_the_flag_agent_paths_sign_in_like_any_other_and_there_is_no_token_endpoint():
    async def scenario(stand: Stand) -> None:
        answer = await stand.call(token=signed(stand))
        assert answer.status == 302
        async with stand.client.post(
            stand.base + TOKEN_PATH, data={"grant_type": "client_credentials"}
        ) as got:
            assert got.status != 200

    run(scenario, machine_clients=False)


def test_the_stand_in_covers_the_templates_agent_paths_and_checks_the_same_claims():
    rule = machine_rule(deployed(MachineClients="cognito"))
    assert [p.rstrip("*") for p in AGENT_PATHS] == [AGENT_PATH_PREFIX]
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == AGENT_PATHS
    claims = rule["Actions"][0]["JwtValidationConfig"]["AdditionalClaims"]
    assert {c["Name"]: c["Format"] for c in claims} == {
        "client_id": "single-string",
        "scope": "space-separated-values",
    }
    assert [c["Values"] for c in claims if c["Name"] == "scope"] == [[MACHINE_SCOPE]]
    client = deployed(MachineClients="cognito")["Resources"]["MachineClient"]["Properties"]
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert client["AccessTokenValidity"] * 60 == MACHINE_TOKEN_SECONDS


# --- the token endpoint --------------------------------------------------------------------------------


async def _post(stand: Stand, form: dict, **kwargs) -> tuple[int, dict, aiohttp.ClientResponse]:
    async with stand.client.post(stand.base + TOKEN_PATH, data=form, **kwargs) as answer:
        return answer.status, await answer.json(content_type=None), answer


def test_client_secret_post_works_as_basic_does():
    async def scenario(stand: Stand) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": MACHINE_CLIENT_ID,
            "client_secret": stand.config.machine_secret,
        }
        status, body, _ = await _post(stand, form)
        assert (
            status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == MACHINE_TOKEN_SECONDS
        )
        assert (await stand.call(token=body["access_token"])).status == 200

    run(scenario)


@pytest.mark.parametrize("how", ["basic", "post"])
def test_a_wrong_secret_is_invalid_client(how):
    async def scenario(stand: Stand) -> None:
        form = {"grant_type": "client_credentials"}
        kwargs = {}
        if how == "basic":
            kwargs["headers"] = basic(MACHINE_CLIENT_ID, "wrong")
        else:
            form.update(client_id=MACHINE_CLIENT_ID, client_secret="wrong")
        status, body, answer = await _post(stand, form, **kwargs)
        assert status == 401 and body["error"] == "invalid_client"
        assert ("WWW-Authenticate" in answer.headers) == (how == "basic")
        assert "access_token" not in body

    run(scenario)


def test_unknown_client_and_no_credentials_are_invalid_client():
    async def scenario(stand: Stand) -> None:
        auth = basic("someoneelse", stand.config.machine_secret)
        status, body, _ = await _post(stand, {"grant_type": "client_credentials"}, headers=auth)
        assert (status, body["error"]) == (401, "invalid_client")
        status, body, _ = await _post(stand, {"grant_type": "client_credentials"})
        assert (status, body["error"]) == (401, "invalid_client")

    run(scenario)


@pytest.mark.parametrize(
    "scope", ["openid", f"{MACHINE_SCOPE} aws.cognito.signin.user.admin", "streamlit/admin"]
)
def test_a_scope_the_client_is_not_allowed_is_invalid_scope(scope):
    async def scenario(stand: Stand) -> None:
        auth = basic(MACHINE_CLIENT_ID, stand.config.machine_secret)
        form = {"grant_type": "client_credentials", "scope": scope}
        status, body, _ = await _post(stand, form, headers=auth)
        assert (status, body["error"]) == (400, "invalid_scope")

    run(scenario)


@pytest.mark.parametrize("grant", ["authorization_code", "password", "refresh_token", ""])
def test_other_grant_types_are_unsupported(grant):
    async def scenario(stand: Stand) -> None:
        auth = basic(MACHINE_CLIENT_ID, stand.config.machine_secret)
        status, body, _ = await _post(stand, {"grant_type": grant}, headers=auth)
        assert (status, body["error"]) == (400, "unsupported_grant_type")

    run(scenario)


def test_a_json_body_is_an_invalid_request():
    async def scenario(stand: Stand) -> None:
        auth = basic(MACHINE_CLIENT_ID, stand.config.machine_secret)
        async with stand.client.post(
            stand.base + TOKEN_PATH, json={"grant_type": "client_credentials"}, headers=auth
        ) as answer:
            assert answer.status == 400 and (await answer.json())["error"] == "invalid_request"

    run(scenario)


def test_the_flag_turns_it_on_and_the_banner_prints_the_client():
    args = build_parser().parse_args(["dev", "--machine-clients"])
    config = dev_config(args)
    assert config.machine_clients is True
    text = banner(config)
    assert MACHINE_CLIENT_ID in text and config.machine_secret in text and TOKEN_PATH in text
    assert dev_config(build_parser().parse_args(["dev"])).machine_clients is False
    assert config.machine_secret not in repr(config)


def test_the_app_gets_only_the_encodings_the_client_offered():
    """curl offers no gzip: the docs' example must get plain JSON back, as from the ALB."""

    async def scenario(stand: Stand) -> None:
        bearer = {"Authorization": f"Bearer {await stand.token()}"}
        async with stand.client.get(
            stand.base + AGENT, headers=bearer, skip_auto_headers=("Accept-Encoding", "User-Agent")
        ) as answer:
            assert answer.status == 200
        assert "accept-encoding" not in stand.upstream.requests[-1]
        assert "user-agent" not in stand.upstream.requests[-1]
        async with stand.client.get(
            stand.base + AGENT, headers={**bearer, "Accept-Encoding": "br"}
        ) as answer:
            assert answer.status == 200
        assert stand.upstream.requests[-1]["accept-encoding"] == "br"

    run(scenario)
