"""asgi/machines.py at the door: a machine client's bearer token on the agent API paths, through
Starlette's test client; what passes (and what ``st.user`` gets), what is refused, and that a person's
requests are judged as before. The bearer issuer is the local pool, its JWKS served on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from streamlit import config
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.asgi import SCOPE_KEY, AlbAuthMiddleware, alb_auth
from streamlit_alb_auth.asgi.user_headers import OPTION
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, reset_state

CLIENT = "agent-client-1"
SCOPE = "streamlit/agent reports/read"
PERSON = {"sub": "user-1", "email": "user@example.com"}
AGENT = "/_stcore/agent/interact"


def _seen(scope: dict[str, Any]) -> dict[str, Any]:
    user = scope.get(SCOPE_KEY)
    internal = {
        name.decode(): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.startswith(b"x-alb-auth-")
    }
    return {"machine": bool(user and user.is_machine), **internal}


async def _http(request: Request) -> JSONResponse:
    return JSONResponse(_seen(request.scope))


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(_seen(websocket.scope))
    await websocket.close()


def machine_token(pool: LocalCognitoPool, **changes: Any) -> str:
    """A Cognito client-credentials access token of ``pool`` (no ``aud``; the client is the subject)."""
    now = int(time.time())
    claims = {
        "sub": CLIENT,
        "iss": pool.issuer,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": SCOPE,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        **changes,
    }
    return jwt.encode(claims, pool.private_key, algorithm="RS256", headers={"kid": pool.kid})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(signer: LocalAlbSigner, pool: LocalCognitoPool, key_server: LocalKeyServer) -> dict[str, str]:
    reset_state()
    return {
        "alb_arn": signer.alb_arn,
        "key_url": key_server.alb_key_url,
        "bearer_issuer": pool.issuer,
        "bearer_audience": CLIENT,
        "bearer_jwks_url": key_server.jwks_url,
    }


def _client(settings: dict[str, Any], **options: Any) -> Iterator[TestClient]:
    config.set_option(OPTION, {}, where_defined="<default>")
    app = Starlette(
        routes=[
            Route("/{path:path}", _http, methods=["GET", "POST"]),
            WebSocketRoute("/_stcore/stream", _socket),
        ],
        middleware=[Middleware(AlbAuthMiddleware, **settings, **options)],
    )
    with TestClient(app) as test_client:
        yield test_client
    config.set_option(OPTION, {}, where_defined="<default>")


@pytest.fixture
def client(settings: dict[str, str]) -> Iterator[TestClient]:
    yield from _client(settings)


def _refused(client: TestClient, headers: dict[str, str], path: str = AGENT) -> None:
    answer = client.post(path, headers=headers, json={})
    assert answer.status_code == 401, answer.text
    assert "401 Unauthorized" in answer.text


def test_a_machine_with_a_valid_token_reaches_the_agent_api_as_itself(client, pool):
    answer = client.post(AGENT, headers=bearer(machine_token(pool)), json={})
    assert answer.status_code == 200
    assert answer.json() == {
        "machine": True,
        "x-alb-auth-sub": CLIENT,
        "x-alb-auth-groups": "streamlit/agent,reports/read",
        "x-alb-auth-is-logged-in": True,
        "x-alb-auth-client-id": CLIENT,
        "x-alb-auth-is-machine": True,
    }


def test_st_user_holds_only_stable_values_so_a_new_token_is_the_same_machine(client, pool):
    first = client.post(AGENT, headers=bearer(machine_token(pool)), json={}).json()
    later = client.post(AGENT, headers=bearer(machine_token(pool, iat=int(time.time()) - 5)), json={}).json()
    assert first == later


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"},
        {"client_id": "another-client"},
        {"client_id": None, "aud": "another-client"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["another-issuer", "another-client", "another-audience", "expired"],
)
def test_a_token_that_does_not_fit_gets_401_with_a_bearer_challenge(client, pool, changes):
    answer = client.post(AGENT, headers=bearer(machine_token(pool, **changes)), json={})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer ")


def test_alg_none_hs256_es256_oversized_and_missing_tokens_get_401(client, pool):
    claims = jwt.decode(machine_token(pool), options={"verify_signature": False})
    none = jwt.encode(claims, None, algorithm="none")
    hs256 = jwt.encode(
        claims, "a shared secret of thirty-two bytes!", algorithm="HS256", headers={"kid": pool.kid}
    )
    es256 = jwt.encode(claims, LocalAlbSigner().private_key, "ES256", headers={"kid": pool.kid})  # EC P-256
    for token in (none, hs256, es256, "a" * 20000, "not-a-jwt"):
        _refused(client, bearer(token))
    _refused(client, {})
    _refused(client, {"Authorization": "Basic dXNlcjpwdw=="})
    _refused(client, [("Authorization", f"Bearer {machine_token(pool)}")] * 2)


def test_a_bearer_token_on_a_browser_path_gets_401(client, pool):
    token = bearer(machine_token(pool))
    for path in ("/", "/media/abc.png", "/_stcore/metrics", "/_stcore/agent/../stream", "/_stcore/agentx"):
        answer = client.get(path, headers=token)
        assert answer.status_code == 401, path
        assert "www-authenticate" not in answer.headers  # the browser door's refusal
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/_stcore/stream", headers=token):
        pass


def test_a_bearer_token_never_upgrades_or_replaces_a_persons_identity(client, signer, pool):
    token = bearer(machine_token(pool))
    answer = client.post(AGENT, headers={**signer.headers(PERSON), **token}, json={})
    assert answer.status_code == 200
    assert answer.json()["machine"] is False and answer.json()["x-alb-auth-sub"] == "user-1"
    assert "x-alb-auth-is-machine" not in answer.json()
    # ALB headers that fail are a refusal, never a fallback to the bearer token:
    forged = LocalAlbSigner(alb_arn=signer.alb_arn).headers(PERSON)
    _refused(client, {**forged, **token})
    _refused(client, {"x-amzn-oidc-identity": CLIENT, **token})


def test_a_browser_session_is_unaffected(client, signer):
    with client.websocket_connect("/_stcore/stream", headers=signer.headers(PERSON)) as socket:
        seen = socket.receive_json()
    assert seen["x-alb-auth-sub"] == "user-1" and not seen["machine"]
    assert client.get("/", headers=signer.headers(PERSON)).status_code == 200


def test_the_paths_opened_to_machines_are_chosen_with_bearer_paths(settings, pool):
    token = bearer(machine_token(pool))
    for client in _client(settings, bearer_paths=("/api/", "/hook")):
        assert client.get("/api/v1/things", headers=token).json()["machine"] is True
        assert client.get("/hook", headers=token).json()["machine"] is True
        _refused(client, token, path="/hook/more")
        _refused(client, token)  # the agent API is no longer open to machines


def test_without_bearer_issuer_no_bearer_token_is_accepted(settings, pool):
    browser_only = {name: value for name, value in settings.items() if not name.startswith("bearer_")}
    for client in _client(browser_only):
        _refused(client, bearer(machine_token(pool)))


def test_alb_auth_refuses_half_a_bearer_configuration(settings):
    config.set_option(OPTION, {}, where_defined="<default>")
    with pytest.raises(ConfigurationError) as caught:
        alb_auth(**{**settings, "bearer_audience": None})
    assert caught.value.setting == "bearer_audience"
    with pytest.raises(ConfigurationError, match="bearer_paths"):
        alb_auth(**settings, bearer_paths=["_stcore/agent/"])
    assert alb_auth(**settings, bearer_paths=["/api/"])["middleware"][0].kwargs["bearer_paths"] == ("/api/",)


def _page() -> None:
    import streamlit as st

    from streamlit_alb_auth import get_alb_user, require_groups

    machine = require_groups("streamlit/agent", user=get_alb_user())
    st.write(f"machine {machine.client_id} {machine.is_machine}")
    require_groups("admin", user=machine)
    st.write("never shown")


def _st_user_of(answer: dict[str, Any]) -> dict[str, Any]:
    """What Streamlit maps into ``st.user`` from the door's internal headers."""
    return {
        "sub": answer["x-alb-auth-sub"],
        "groups": answer["x-alb-auth-groups"],
        "is_logged_in": True,
        "client_id": answer["x-alb-auth-client-id"],
        "is_machine": True,
        "email": None,
        "name": None,
    }


def test_the_page_sees_the_machine_the_door_verified_and_gates_it_by_scope(client, pool):
    answer = client.post(AGENT, headers=bearer(machine_token(pool)), json={}).json()
    page = AppTest.from_function(_page)
    page.user = _st_user_of(answer)
    page.run()
    assert [text.value for text in page.markdown] == [f"machine {CLIENT} True"]
    assert "admin" in page.error[0].value  # a group the scope does not hold: refused


def test_a_machine_in_st_user_that_the_door_never_verified_is_nobody(client, pool):
    """``st.user`` claiming a machine (another process's mapping, a forged header) is not enough."""
    answer = client.post(AGENT, headers=bearer(machine_token(pool)), json={}).json()
    for forged in ({"groups": "streamlit/agent,admin"}, {"sub": "other-client"}, {"client_id": "x"}):
        page = AppTest.from_function(_page)
        page.user = {**_st_user_of(answer), **forged}
        page.run()
        assert page.error and not page.markdown, forged
    reset_state()  # the door's memory gone (or its tokens expired): nobody
    page = AppTest.from_function(_page)
    page.user = _st_user_of(answer)
    page.run()
    assert page.error and not page.markdown
