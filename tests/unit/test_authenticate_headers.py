"""authenticate_headers(headers, **settings): the same verification in a FastAPI/Starlette or Flask app."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from streamlit_alb_auth import AlbAuthError, ConfigurationError, MalformedTokenError, authenticate_headers
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, reset_state


@pytest.fixture
def idp(monkeypatch) -> Iterator[tuple[LocalAlbSigner, LocalCognitoPool, dict]]:
    for name in ("ALB_AUTH_ALB_ARN", "ALB_AUTH_KEY_URL", "ALB_AUTH_USER_POOL_ID", "ALB_AUTH_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    reset_state()
    signer, pool = LocalAlbSigner(), LocalCognitoPool()
    with LocalKeyServer(signer, pools=[pool]) as keys:
        settings = {
            "alb_arn": signer.alb_arn,
            "key_url": keys.alb_key_url,
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "jwks_url": keys.jwks_url,
        }
        yield signer, pool, settings
    reset_state()


def _app(settings: dict) -> Starlette:
    async def me(request: Request) -> JSONResponse:
        try:
            user = authenticate_headers(request.headers, **settings)
        except AlbAuthError as error:
            return JSONResponse({"refused": type(error).__name__}, status_code=401)
        return JSONResponse({"email": user.email, "groups": list(user.groups)})

    return Starlette(routes=[Route("/me", me)])


@pytest.fixture
def served(idp) -> Iterator[tuple[str, LocalAlbSigner, LocalCognitoPool]]:
    signer, pool, settings = idp
    server = uvicorn.Server(uvicorn.Config(_app(settings), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.05):  # the condition, not a fixed time
        if server.started:
            started.set()
        assert thread.is_alive()
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/me", signer, pool
    server.should_exit = True
    thread.join(timeout=30)


def test_a_starlette_app_gets_the_verified_user_with_groups(served):
    url, signer, pool = served
    token = pool.access_token("user-1", groups=["admin"])
    headers = signer.headers({"sub": "user-1", "email": "ada@example.com"}, access_token=token)
    answer = requests.get(url, headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"email": "ada@example.com", "groups": ["admin"]}


def test_a_starlette_app_refuses_what_the_alb_did_not_sign(served):
    url, signer, _pool = served
    assert requests.get(url, timeout=10).json() == {"refused": "MissingHeaderError"}
    forged = LocalAlbSigner(kid=signer.kid).headers({"sub": "user-1"})
    answer = requests.get(url, headers=forged, timeout=10)
    assert (answer.status_code, answer.json()) == (401, {"refused": "InvalidSignatureError"})


def test_werkzeug_style_text_pairs_are_read_and_a_repeat_is_refused(idp):
    signer, _pool, settings = idp
    headers = signer.headers({"sub": "user-1", "email": "ada@example.com"})
    pairs = [("X-Amzn-Oidc-Data", headers["x-amzn-oidc-data"]), ("X-Amzn-Oidc-Identity", "user-1")]
    assert authenticate_headers(pairs, **settings).email == "ada@example.com"
    with pytest.raises(MalformedTokenError, match="more than once"):
        authenticate_headers([*pairs, ("x-amzn-oidc-identity", "user-2")], **settings)


def test_settings_come_from_the_environment_too_and_unknown_ones_are_refused(idp, monkeypatch):
    signer, _pool, settings = idp
    headers = signer.headers({"sub": "user-1", "email": "ada@example.com"})
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", signer.alb_arn)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", settings["key_url"])
    assert authenticate_headers(headers).email == "ada@example.com"
    with pytest.raises(ConfigurationError, match="unknown setting"):
        authenticate_headers(headers, alb_ar=signer.alb_arn)
