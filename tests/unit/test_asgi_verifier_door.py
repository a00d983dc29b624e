"""The door's cache (``asgi.verifier.RequestVerifier``) and the door's guards around ``st.user``.

A header set verified once is remembered, but its data token's ``exp`` is checked again on every hit, and
a cached user whose access token expired is verified again (losing the groups it gave). The clock is
injected (``Authenticator(clock=...)``), so no test waits for time to pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.oidc_provider import ADA, AUDIENCE, SIGNER, Realm
from helpers.pinning import FakeClock, Reply, ScriptedServer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from streamlit import config

from streamlit_alb_auth.asgi import SCOPE_KEY, AlbAuthMiddleware
from streamlit_alb_auth.asgi.user_headers import OPTION, USER_HEADERS
from streamlit_alb_auth.asgi.verifier import RequestVerifier
from streamlit_alb_auth.authenticate import DATA_HEADER, Authenticator, header_values
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import ConfigurationError, MalformedTokenError, TokenExpiredError
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, reset_state

CLAIMS = {"sub": "user-1", "email": "user@example.com"}
LEEWAY = 30.0  # the verifiers' default clock-skew allowance


def _door(pool_settings: dict[str, Any], clock: FakeClock) -> RequestVerifier[None]:
    resolved = resolve_settings(pool_settings, environ={}, secrets={})
    authenticator = Authenticator(resolved, key_store=AlbKeyStore(), clock=clock)
    return RequestVerifier(resolved, lambda user: None, authenticator=authenticator)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def test_a_cached_header_set_is_refused_once_its_data_token_expires(pool_settings, signer):
    clock = FakeClock(time.time())
    door = _door(pool_settings, clock)
    headers = _raw(signer.headers(CLAIMS, expires_in=120))
    assert door.verify(headers)[0].sub == "user-1"
    clock.now += 60
    assert door.verify(headers)[0].sub == "user-1"  # a cache hit, still in date
    assert door.verifications == 1
    clock.now += 60 + LEEWAY + 1
    with pytest.raises(TokenExpiredError):
        door.verify(headers)


def test_a_cached_user_loses_the_groups_of_an_expired_access_token(pool_settings, signer, pool):
    clock = FakeClock(time.time())
    door = _door(pool_settings, clock)
    token = pool.access_token("user-1", groups=["admins"], expires_in=60)
    headers = _raw(signer.headers(CLAIMS, access_token=token, expires_in=600))
    assert door.verify(headers)[0].groups == ("admins",)
    clock.now += 59
    assert door.verify(headers)[0].groups == ("admins",)
    assert door.verifications == 1
    clock.now += 1 + LEEWAY - 1  # past exp, within the leeway the verifier allows: no check a request
    for _ in range(3):
        assert door.verify(headers)[0].groups == ("admins",)
    assert door.verifications == 1
    clock.now += 2  # the access token is past its exp and the leeway; the data token is not
    user, _ = door.verify(headers)
    assert (user.sub, user.groups, dict(user.access_token_claims)) == ("user-1", (), {})
    assert door.verifications == 2


def test_an_authenticator_for_other_settings_is_refused(pool_settings, signer):
    resolved = resolve_settings(pool_settings, environ={}, secrets={})
    other = resolve_settings({**pool_settings, "client_id": "another-client"}, environ={}, secrets={})
    with pytest.raises(ConfigurationError, match="other settings"):
        RequestVerifier(resolved, lambda user: None, authenticator=Authenticator(other))


# --- at the door: the st.user mapping and repeated headers ------------------------------------------


async def _http(request: Request) -> JSONResponse:
    user = request.scope.get(SCOPE_KEY)
    return JSONResponse({"sub": user.sub if user else None})


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": websocket.scope[SCOPE_KEY].sub})
    await websocket.close()


@pytest.fixture
def client(pool_settings: dict[str, str]) -> Iterator[TestClient]:
    """The middleware uses the process-wide key store (10 key fetches a minute): fresh before and after."""
    reset_state()
    config.set_option(OPTION, {}, where_defined="<default>")
    app = Starlette(
        routes=[Route("/{path:path}", _http), WebSocketRoute("/_stcore/stream", _socket)],
        middleware=[Middleware(AlbAuthMiddleware, **pool_settings)],
    )
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        config.set_option(OPTION, {}, where_defined="<default>")
        reset_state()


def test_a_mapping_set_elsewhere_after_startup_refuses_websockets_and_the_agent_api(client, signer):
    headers = signer.headers(CLAIMS)
    with client.websocket_connect("/_stcore/stream", headers=headers) as socket:
        assert socket.receive_json() == {"sub": "user-1"}
    # Something else (a config reload, another library) maps a header any client can send into st.user.
    config.set_option(OPTION, {"x-forwarded-email": "email"}, where_defined="/app/.streamlit/config.toml")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/_stcore/stream", headers=headers),
    ):
        pass
    assert refused.value.code == 1008
    assert client.get("/_stcore/agent/tools", headers=headers).status_code == 503
    assert config.get_option(OPTION) == {"x-forwarded-email": "email"}  # not silently overwritten
    assert client.get("/", headers=headers).json() == {"sub": "user-1"}  # builds no st.user: served


def test_after_a_reset_option_the_door_installs_the_mapping_again(client, signer):
    config.set_option(OPTION, {}, where_defined="<default>")  # what a config reload does
    with client.websocket_connect("/_stcore/stream", headers=signer.headers(CLAIMS)) as socket:
        assert socket.receive_json() == {"sub": "user-1"}
    assert config.get_option(OPTION) == dict(USER_HEADERS)


def _repeated(signer: LocalAlbSigner, pool: LocalCognitoPool) -> list[list[tuple[str, str]]]:
    """Header lists where one ALB header comes twice and each copy on its own would verify."""
    headers = signer.headers(CLAIMS, access_token=pool.access_token("user-1", groups=["admins"]))
    same_twice = [*headers.items(), (DATA_HEADER, headers[DATA_HEADER])]
    second_valid = [*headers.items(), (DATA_HEADER, signer.sign(CLAIMS, expires_in=90))]
    identity_twice = [*headers.items(), ("X-Amzn-Oidc-Identity", "user-1")]
    access_twice = [*headers.items(), ("x-amzn-oidc-accesstoken", pool.access_token("user-1"))]
    return [same_twice, second_valid, identity_twice, access_twice]


def _websocket_handshake(
    pool_settings: dict[str, str], headers: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """What the door sends for a websocket handshake with exactly these raw headers (repeats kept)."""
    sent: list[dict[str, Any]] = []
    reached: list[bool] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/_stcore/stream",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }
    asyncio.run(AlbAuthMiddleware(inner, **pool_settings)(scope, receive, send))
    return sent if not reached else [{"type": "reached the app"}]


def test_a_repeated_alb_header_is_refused_even_when_both_copies_verify(client, pool_settings, signer, pool):
    single = signer.headers(CLAIMS)
    assert client.get("/", headers=single).status_code == 200
    assert _websocket_handshake(pool_settings, list(single.items())) == [{"type": "reached the app"}]
    for headers in _repeated(signer, pool):
        assert client.get("/", headers=headers).status_code == 401
        assert _websocket_handshake(pool_settings, headers) == [{"type": "websocket.close", "code": 1008}]
        raw = [(name.lower().encode(), value.encode()) for name, value in headers]
        with pytest.raises(MalformedTokenError, match="more than once"):
            header_values(raw)


# The door in userinfo mode: what userinfo gave is reused no longer than the access token claims to
# live (plus the leeway), nor longer than the answer's lifetime (userinfo_ttl, 300 s).


@pytest.fixture
def realm() -> Iterator[Realm]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as server:
        yield Realm(server)


def _userinfo_door(realm: Realm, clock: FakeClock) -> RequestVerifier[None]:
    options = {
        "alb_arn": SIGNER.alb_arn,
        "audience": AUDIENCE,
        "key_url": realm.server.url("/alb"),
        "oidc_issuer": realm.issuer,
        "groups_claim": "groups",
        "userinfo": True,
    }
    return _door(options, clock)


def test_in_userinfo_mode_the_door_drops_the_groups_once_the_token_expires(realm):
    clock = FakeClock(time.time())
    door = _userinfo_door(realm, clock)
    access_token = realm.token({"exp": int(clock.now) + 60})
    headers = _raw(SIGNER.headers(ADA, access_token=access_token))
    assert door.verify(headers)[0].groups == ("from-userinfo",)
    clock.now += 59
    assert door.verify(headers)[0].groups == ("from-userinfo",)
    assert (door.verifications, realm.count("/userinfo")) == (1, 1)
    clock.now += 1 + LEEWAY + 1  # past exp and the leeway: verified again, and refused before userinfo
    user, _ = door.verify(headers)
    assert (user.sub, user.groups, dict(user.userinfo)) == ("sub-ada", (), {})
    assert (door.verifications, realm.count("/userinfo")) == (2, 1)


def test_an_opaque_tokens_userinfo_answer_is_reused_at_the_door_for_userinfo_ttl_only(realm):
    clock = FakeClock(time.time())
    door = _userinfo_door(realm, clock)
    headers = _raw(SIGNER.headers(ADA, access_token="opaque-token", expires_in=3600))
    assert door.verify(headers)[0].groups == ("from-userinfo",)
    clock.now += 299
    door.verify(headers)
    assert (door.verifications, realm.count("/userinfo")) == (1, 1)
    clock.now += 1  # the userinfo answer's lifetime (userinfo_ttl, 300 s) is over: asked again
    assert door.verify(headers)[0].groups == ("from-userinfo",)
    assert (door.verifications, realm.count("/userinfo")) == (2, 2)
