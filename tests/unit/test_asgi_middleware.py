"""AlbAuthMiddleware in a Starlette app, through Starlette's test client: what passes, what is refused."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

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

from streamlit_alb_auth.access_token import IdpVerifier
from streamlit_alb_auth.asgi import SCOPE_KEY, AlbAuthMiddleware, alb_auth
from streamlit_alb_auth.asgi.user_headers import OPTION, USER_HEADERS
from streamlit_alb_auth.authenticate import authenticator_for
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, stop_process_group

CLAIMS = {"sub": "user-1", "email": "user@example.com", "name": "Zoë User", "username": "user-1"}


def _seen(scope: dict[str, Any]) -> dict[str, Any]:
    user = scope.get(SCOPE_KEY)
    internal = {
        name.decode(): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.startswith(b"x-alb-auth-")
    }
    return {"email": user.email if user else None, "groups": list(user.groups) if user else [], **internal}


async def _http(request: Request) -> JSONResponse:
    return JSONResponse(_seen(request.scope))


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(_seen(websocket.scope))
    await websocket.close()


@pytest.fixture
def trusted_headers_option() -> Iterator[None]:
    """The middleware sets a process-wide Streamlit option; every test starts and ends without it."""
    config.set_option(OPTION, {}, where_defined="<default>")
    yield
    config.set_option(OPTION, {}, where_defined="<default>")


@pytest.fixture
def settings(signer: LocalAlbSigner, pool: LocalCognitoPool, key_server: LocalKeyServer) -> dict[str, str]:
    return {
        "alb_arn": signer.alb_arn,
        "client_id": signer.client_id,
        "issuer": signer.issuer,
        "key_url": key_server.alb_key_url,
        "user_pool_id": pool.user_pool_id,
        "jwks_url": key_server.jwks_url,
    }


@pytest.fixture
def client(settings: dict[str, str], trusted_headers_option: None) -> Iterator[TestClient]:
    app = Starlette(
        routes=[Route("/{path:path}", _http), WebSocketRoute("/_stcore/stream", _socket)],
        middleware=[Middleware(AlbAuthMiddleware, **settings)],
    )
    with TestClient(app) as test_client:
        yield test_client


def test_verified_request_passes_with_verified_user_and_internal_headers(client, signer, pool):
    token = pool.access_token("user-1", groups=["admins", "staff"])
    forged = {"X-Alb-Auth-Email": "boss@example.com", "x-alb-auth-groups": "root"}
    answer = client.get("/", headers={**signer.headers(CLAIMS, access_token=token), **forged})
    assert answer.status_code == 200
    assert answer.json() == {
        "email": "user@example.com",
        "groups": ["admins", "staff"],
        "x-alb-auth-sub": "user-1",
        "x-alb-auth-email": "user@example.com",
        "x-alb-auth-name": "Zoë User",
        "x-alb-auth-groups": "admins,staff",
        "x-alb-auth-is-logged-in": True,
    }


def test_groups_need_a_verified_access_token(client, signer, pool):
    other_users = pool.access_token("user-2", groups=["admins"])
    answer = client.get("/", headers=signer.headers(CLAIMS, access_token=other_users))
    assert answer.status_code == 200
    assert answer.json()["groups"] == []
    assert "x-alb-auth-groups" not in answer.json()


def _refused(client: TestClient, headers: dict[str, str], path: str = "/") -> None:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"
    assert answer.text == "<!doctype html><title>401 Unauthorized</title><h1>401 Unauthorized</h1>\n"


def test_missing_headers_are_refused(client, signer):
    _refused(client, {})
    _refused(client, {"x-alb-auth-email": "user@example.com", "x-alb-auth-is-logged-in": "true"})
    _refused(client, {"x-amzn-oidc-identity": "user-1"}, path="/media/abc.png")


def test_forged_token_from_another_key_is_refused(client, signer):
    impostor = LocalAlbSigner(alb_arn=signer.alb_arn, client_id=signer.client_id, kid=signer.kid)
    _refused(client, impostor.headers(CLAIMS))


def test_expired_token_is_refused(client, signer):
    _refused(client, signer.headers(CLAIMS, expires_in=-300))


def test_token_from_another_alb_is_refused(client, signer, key_server):
    other_alb = signer.alb_arn.replace("local-alb", "other-alb")
    wrong_signer = LocalAlbSigner(alb_arn=other_alb, client_id=signer.client_id)
    key_server.add_signer(wrong_signer)
    _refused(client, wrong_signer.headers(CLAIMS))
    assert key_server.fetches(wrong_signer.kid) == 0


def test_identity_mismatch_and_repeated_headers_are_refused(client, signer):
    _refused(client, signer.headers(CLAIMS, identity="admin"))
    headers = signer.headers(CLAIMS)
    twice = [*headers.items(), ("x-amzn-oidc-data", signer.sign({**CLAIMS, "sub": "admin"}))]
    answer = client.get("/", headers=twice)
    assert answer.status_code == 401


def test_health_is_exempt_and_still_stripped(client):
    answer = client.get("/_stcore/health", headers={"x-alb-auth-email": "boss@example.com"})
    assert answer.status_code == 200
    assert answer.json() == {"email": None, "groups": []}
    _refused(client, {}, path="/_stcore/health/../metrics")
    _refused(client, {}, path="/_stcore/metrics")


def test_websocket_handshake_is_verified(client, signer):
    with client.websocket_connect("/_stcore/stream", headers=signer.headers(CLAIMS)) as socket:
        assert socket.receive_json()["x-alb-auth-email"] == "user@example.com"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/_stcore/stream", headers={"x-alb-auth-email": "boss@example.com"}),
    ):
        pass
    assert refused.value.code == 1008


def test_verified_repeat_costs_no_cryptography(client, settings, signer, pool):
    headers = signer.headers(CLAIMS, access_token=pool.access_token("user-1", groups=["staff"]))
    data_verifier = authenticator_for(resolve_settings(settings)).data_verifier  # the door's own
    before = data_verifier.full_checks
    with mock.patch.object(
        IdpVerifier, "check", autospec=True, side_effect=IdpVerifier.check
    ) as access_checks:
        for _ in range(5):
            assert client.get("/", headers=headers).json()["groups"] == ["staff"]
    assert data_verifier.full_checks == before + 1
    assert access_checks.call_count == 1


def test_startup_installs_exactly_the_internal_mapping(client):
    assert config.get_option(OPTION) == dict(USER_HEADERS)


def test_a_mapping_configured_elsewhere_stops_startup(settings, trusted_headers_option):
    config.set_option(OPTION, dict(USER_HEADERS), where_defined="/app/.streamlit/config.toml")
    app = Starlette(routes=[Route("/", _http)], middleware=[Middleware(AlbAuthMiddleware, **settings)])
    with (
        pytest.raises(ConfigurationError, match=r"server\.trustedUserHeaders is set .*config\.toml"),
        TestClient(app),
    ):
        pass
    with pytest.raises(ConfigurationError, match="Remove it"):
        alb_auth(**settings)


def test_unconfigured_middleware_stops_startup_and_serves_nothing(trusted_headers_option, monkeypatch):
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    app = Starlette(routes=[Route("/", _http)], middleware=[Middleware(AlbAuthMiddleware)])
    with pytest.raises(ConfigurationError, match="No ALB ARN"), TestClient(app):
        pass
    assert TestClient(app).get("/").status_code == 503
    with pytest.raises(ConfigurationError, match="No ALB ARN"):
        alb_auth()
    with pytest.raises(ConfigurationError, match="unknown setting"):
        alb_auth(alb_arm="arn")


def test_alb_auth_returns_the_middleware_for_st_app(settings):
    arguments = alb_auth(exempt_paths=["/healthz"], **settings)
    assert set(arguments) == {"middleware", "routes"}
    [middleware] = arguments["middleware"]
    assert middleware.cls is AlbAuthMiddleware
    assert middleware.kwargs == {"exempt_paths": ("/healthz", LOGOUT_PATH), **settings}
    assert [route.path for route in arguments["routes"]] == [LOGOUT_PATH]


def test_alb_auth_in_a_page_script_refuses(signer):
    """What happens when `streamlit run` does not see the st.App call and runs the file as a page."""
    script = f"from streamlit_alb_auth.asgi import alb_auth\nalb_auth(alb_arn={signer.alb_arn!r})\n"
    page = AppTest.from_string(script).run()
    assert "ran inside a page script" in page.exception[0].message


# ``streamlit run app.py`` with ``st.App("main.py", **alb_auth())`` and no settings: a real server process.
#
# It must stop at once with a non-zero status and one paragraph (the missing setting, the command that sets
# everything locally), no traceback, and leave nothing listening at the URL Streamlit printed first.


REPO = Path(__file__).resolve().parents[2]


APP = """import streamlit as st

from streamlit_alb_auth.asgi import alb_auth

app = st.App("main.py", **alb_auth())
"""


@pytest.fixture
def unconfigured(tmp_path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "main.py").write_text("import streamlit as st\n\nst.write('hello')\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("ALB_AUTH_")}
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    # HOME here too: no ~/.streamlit/secrets.toml of this machine's user may configure it.
    return tmp_path, {**env, "PYTHONPATH": path, "HOME": str(tmp_path)}


def run(folder: Path, env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
    command += [f"--server.port={port}", "--browser.gatherUsageStats=false"]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # A ceiling, not a wait: the process ends by itself in a few seconds.
        out, err = process.communicate(timeout=120)
    finally:
        stop_process_group(process)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_an_unconfigured_st_app_stops_at_once_with_one_paragraph(unconfigured):
    folder, env = unconfigured
    port = free_port()
    result = run(folder, env, port)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    (paragraph,) = [block for block in result.stderr.split("\n\n") if "streamlit-alb-auth stopped" in block]
    text = " ".join(paragraph.split())
    assert text.startswith("streamlit-alb-auth stopped app.py at start-up. No ALB ARN is configured")
    assert "ALB_AUTH_ALB_ARN" in text
    assert "`streamlit-alb-auth dev app.py`" in text
    assert re.search(rf"URL: http://\S+:{port}", result.stdout), "Streamlit prints the URL first"
    assert "loaded app.py; nothing answers there" in text
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_a_caller_that_catches_the_error_still_gets_it(monkeypatch):
    from streamlit_alb_auth.asgi import alb_auth
    from streamlit_alb_auth.errors import ConfigurationError

    for name in [name for name in os.environ if name.startswith("ALB_AUTH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    with pytest.raises(ConfigurationError, match="No ALB ARN"):
        alb_auth()
    assert sys.excepthook is not sys.__excepthook__  # only what nobody catches is shown briefly


def test_an_exempt_path_is_exempt_for_http_only_never_for_a_websocket(
    settings, trusted_headers_option, signer
):
    app = Starlette(
        routes=[WebSocketRoute("/_stcore/stream", _socket)],
        middleware=[Middleware(AlbAuthMiddleware, exempt_paths=["/_stcore/stream"], **settings)],
    )
    with TestClient(app) as exempt_client:
        with exempt_client.websocket_connect("/_stcore/stream", headers=signer.headers(CLAIMS)) as socket:
            assert socket.receive_json()["x-alb-auth-email"] == "user@example.com"
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            exempt_client.websocket_connect("/_stcore/stream"),
        ):
            pass
    assert refused.value.code == 1008


def test_the_exempt_paths_are_passed_by_keyword_only(settings):
    with pytest.raises(TypeError):
        AlbAuthMiddleware(_http, ["/_stcore/health"], **settings)  # type: ignore[misc]


def test_the_default_exempt_paths_follow_the_base_url_path(settings, monkeypatch):
    monkeypatch.setattr(
        config, "get_option", lambda name: "/reports/" if name == "server.baseUrlPath" else None
    )
    (middleware,) = alb_auth(logout_path=None, **settings)["middleware"]
    assert middleware.kwargs["exempt_paths"] == (
        "/reports/_stcore/health",
        "/reports/_stcore/script-health-check",
    )
