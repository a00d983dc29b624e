"""The door (``asgi/middleware.py``, ``asgi/user_headers.py``) driven as a plain ASGI app: what reaches the
app, what is refused and how, for every kind of scope; and the ``st.user`` mapping's own rules."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit import config

from streamlit_alb_auth.asgi import SCOPE_KEY, AlbAuthMiddleware, alb_auth
from streamlit_alb_auth.asgi.user_headers import (
    OPTION,
    SET_BY,
    USER_HEADERS,
    install_user_mapping,
    mapping_installed,
    refuse_outside_mapping,
    st_user_groups,
)
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.testing import reset_state

CLAIMS = {"sub": "user-1", "email": "user@example.com", "name": "Ada"}
REFUSED_401 = b"<!doctype html><title>401 Unauthorized</title><h1>401 Unauthorized</h1>\n"
REFUSED_503 = b"<!doctype html><title>503 Service Unavailable</title><h1>503 Service Unavailable</h1>\n"


@pytest.fixture(autouse=True)
def no_mapping() -> Iterator[None]:
    """No mapping, no base path, and a fresh process-wide key store (10 key fetches a minute)."""
    for _ in ("setup", "teardown"):
        reset_state()
        config.set_option(OPTION, {}, where_defined="<default>")
        config.set_option("server.baseUrlPath", "")
        if _ == "setup":
            yield


class Door:
    """Calls the middleware with one scope; records what the app got and what went back."""

    def __init__(self, **options: Any) -> None:
        self.reached: list[dict[str, Any]] = []
        self.middleware = AlbAuthMiddleware(self._app, **options)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.reached.append({**scope, "first": await receive() if scope["type"] == "lifespan" else None})

    def call(self, kind: str, path: str = "/", headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        first = {"http": "http.request", "websocket": "websocket.connect", "lifespan": "lifespan.startup"}

        async def receive() -> dict[str, Any]:
            return {"type": first.get(kind, "other")}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
        asyncio.run(self.middleware({"type": kind, "path": path, "headers": raw}, receive, send))
        return sent


def test_a_verified_http_request_reaches_the_app_with_the_user_and_only_verified_internal_headers(
    pool_settings, signer
):
    door = Door(**pool_settings)
    forged = {"X-Alb-Auth-Groups": "root", "x-alb-auth-sub": "admin"}
    assert door.call("http", "/media/x.png", {**signer.headers(CLAIMS), **forged}) == []
    [scope] = door.reached
    assert scope[SCOPE_KEY].sub == "user-1"
    internal = [(n, v) for n, v in scope["headers"] if n.startswith(b"x-alb-auth-")]
    assert [(n.decode(), v.decode()) for n, v in internal] == [
        ("x-alb-auth-sub", "user-1"),
        ("x-alb-auth-email", "user@example.com"),
        ("x-alb-auth-name", "Ada"),
        ("x-alb-auth-is-logged-in", True),
    ]
    assert (b"x-amzn-oidc-identity", b"user-1") in scope["headers"]  # the rest is left alone


def test_a_refused_http_request_gets_a_bare_401_and_never_reaches_the_app(pool_settings):
    door = Door(**pool_settings)
    sent = door.call("http", "/", {"x-alb-auth-email": "boss@example.com"})
    assert door.reached == []
    assert sent == [
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(REFUSED_401)).encode()),
                (b"cache-control", b"no-store"),
            ],
        },
        {"type": "http.response.body", "body": REFUSED_401},
    ]


def test_an_exempt_path_is_exempt_for_http_only_and_still_stripped(pool_settings):
    door = Door(**pool_settings)
    assert door.call("http", "/_stcore/health", {"x-alb-auth-email": "boss@example.com"}) == []
    assert door.reached[0]["headers"] == [] and SCOPE_KEY not in door.reached[0]
    install_user_mapping()
    sent = door.call("websocket", "/_stcore/health")
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert len(door.reached) == 1


def test_the_exempt_paths_follow_the_base_url_path(pool_settings):
    config.set_option("server.baseUrlPath", "/team/")
    door = Door(**pool_settings)
    assert door.call("http", "/team/_stcore/health") == [] and len(door.reached) == 1
    assert door.call("http", "/_stcore/health")[0]["status"] == 401
    assert Door(exempt_paths=["/ping"], **pool_settings).call("http", "/ping") == []


def test_other_scope_types_pass_through_untouched(pool_settings):
    door = Door(**pool_settings)
    assert door.call("other-kind", "/x", {"x-alb-auth-email": "boss@example.com"}) == []
    assert door.reached[0]["headers"] == [(b"x-alb-auth-email", b"boss@example.com")]


def test_startup_installs_the_mapping_and_replays_the_startup_message(pool_settings):
    door = Door(**pool_settings)
    assert not mapping_installed()
    assert door.call("lifespan") == []
    assert door.reached[0]["first"] == {"type": "lifespan.startup"}
    assert mapping_installed() and config.get_option(OPTION) == dict(USER_HEADERS)


def test_a_misconfigured_door_fails_startup_and_answers_503(monkeypatch):
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    door = Door(alb_arn=None)
    assert isinstance(door.middleware.problem, ConfigurationError)
    sent: list[dict[str, Any]] = []
    with pytest.raises(ConfigurationError):
        door.middleware.app = door._app
        asyncio.run(_lifespan(door.middleware, sent))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert sent[0]["message"].startswith("streamlit-alb-auth: No ALB ARN")
    assert door.call("http")[0]["status"] == 503
    assert door.call("http")[1]["body"] == REFUSED_503
    assert door.call("websocket") == [{"type": "websocket.close", "code": 1008}]
    assert door.reached == []


async def _lifespan(middleware: AlbAuthMiddleware, sent: list[dict[str, Any]]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await middleware({"type": "lifespan"}, receive, send)


def test_the_agent_api_and_websockets_need_the_mapping_plain_pages_do_not(pool_settings, signer):
    door = Door(**pool_settings)
    config.set_option(OPTION, {"x-forwarded-email": "email"}, where_defined="config.toml")
    headers = signer.headers(CLAIMS)
    assert door.call("http", "/_stcore/agent/tools", headers)[0]["status"] == 503
    assert door.call("http", "/team/_stcore/agent/x", headers)[0]["status"] == 503
    assert door.call("websocket", "/_stcore/stream", headers) == [{"type": "websocket.close", "code": 1008}]
    assert door.call("http", "/media/x.png", headers) == []
    assert [scope["path"] for scope in door.reached] == ["/media/x.png"]


def test_refuse_outside_mapping_names_where_it_was_set():
    refuse_outside_mapping()  # nothing set: fine
    config.set_option(OPTION, dict(USER_HEADERS), where_defined=SET_BY)
    refuse_outside_mapping()  # set by the middleware: fine
    config.set_option(OPTION, {"x-a": "email"}, where_defined="/srv/.streamlit/config.toml")
    with pytest.raises(ConfigurationError, match=r"is set \(in /srv/\.streamlit/config\.toml\)\. Remove it"):
        install_user_mapping()
    assert config.get_option(OPTION) == {"x-a": "email"}


def test_st_user_groups_reads_only_a_non_empty_string():
    assert st_user_groups("a%2Cb,c%25") == ("a,b", "c%")
    assert st_user_groups("") == ()
    assert st_user_groups(["admin"]) == ()
    assert st_user_groups(True) == ()


def test_alb_auth_checks_the_groups_provider_and_the_logout_route(pool_settings):
    with pytest.raises(ConfigurationError, match="groups_provider must be a callable") as bad:
        alb_auth(groups_provider="admins", **pool_settings)
    assert bad.value.setting == "groups_provider"
    with pytest.raises(
        ConfigurationError, match=r"unknown setting\(s\) \['alb_arm'\]; known: .*groups_provider"
    ):
        alb_auth(alb_arm="x", **pool_settings)
    assert alb_auth(logout_path=None, **pool_settings)["routes"] == []
    [middleware] = alb_auth(logout_path=None, **pool_settings)["middleware"]
    assert middleware.kwargs["exempt_paths"] == ("/_stcore/health", "/_stcore/script-health-check")


def test_an_uncaught_configuration_error_is_one_paragraph_and_other_errors_are_untouched(monkeypatch):
    seen: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, trace: seen.append(kind))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    with pytest.raises(ConfigurationError):
        alb_auth(alb_arn=None)
    hook = sys.excepthook
    with pytest.raises(ConfigurationError):
        alb_auth(alb_arn=None)
    assert sys.excepthook is hook  # installed once
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    hook(ConfigurationError, ConfigurationError("No ALB ARN. Run `streamlit-alb-auth dev`."), None)
    text = stderr.getvalue()
    assert text.startswith("\nstreamlit-alb-auth stopped app.py at start-up. No ALB ARN.")
    assert "`streamlit-alb-auth dev app.py`" in text and "nothing answers there" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    hook(ValueError, ValueError("other"), None)
    assert seen == [ValueError]


@pytest.mark.parametrize(
    ("argv", "named"),
    [([""], "app.py"), (["", "--flag"], "app.py"), (["./demo/run_me.py"], "demo/run_me.py")],
)
def test_the_paragraph_names_the_script_that_was_run(monkeypatch, argv, named):
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, trace: None)
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    with pytest.raises(ConfigurationError):
        alb_auth(alb_arn=None)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    sys.excepthook(ConfigurationError, ConfigurationError("No ALB ARN."), None)
    assert f"stopped {named} at start-up" in stderr.getvalue()
    assert f"`streamlit-alb-auth dev {named}`" in stderr.getvalue()


def test_a_lifespan_that_does_not_start_with_startup_is_passed_on_unchecked(monkeypatch):
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    door = Door(alb_arn=None)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(door.middleware({"type": "lifespan"}, receive, send))
    assert sent == [] and door.reached[0]["first"] == {"type": "lifespan.shutdown"}


def test_the_mapping_counts_as_ours_by_its_recorded_origin_not_by_identity():
    config.set_option(OPTION, dict(USER_HEADERS), where_defined="".join(list(SET_BY)))  # equal, another str
    assert mapping_installed()
    refuse_outside_mapping()
    for elsewhere in ("zz/.streamlit/config.toml", "a.toml"):  # sorts after and before the middleware's
        config.set_option(OPTION, dict(USER_HEADERS), where_defined=elsewhere)
        assert not mapping_installed()
        with pytest.raises(ConfigurationError, match="Remove it"):
            refuse_outside_mapping()


def test_raw_values_escape_control_characters_and_keep_printable_ascii():
    from streamlit_alb_auth.asgi.user_headers import UserValue

    assert bytes(UserValue("a\x1fb\x7fc~ %")) == b"a%1Fb%7Fc~ %25"
    assert UserValue("a\x1fb").decode("latin-1") == "a\x1fb"


def test_the_middleware_takes_its_options_by_name(pool_settings):
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    with pytest.raises(TypeError):
        AlbAuthMiddleware(app, ["/ping"])  # type: ignore[misc]


@pytest.mark.parametrize("bearer_configured", [False, True])
def test_a_bearer_token_on_the_agent_api_meets_the_machine_door_only_when_bearer_issuer_is_set(
    pool_settings, bearer_configured
):
    machine = {
        "bearer_issuer": "https://issuer.example.com",
        "bearer_audience": "agents",
        "bearer_jwks_url": "https://issuer.example.com/jwks",  # never fetched: the token is refused first
    }
    door = Door(**pool_settings, **(machine if bearer_configured else {}))
    door.call("lifespan")  # installs the st.user mapping the agent API needs
    sent = door.call("http", "/_stcore/agent/interact", {"authorization": "Bearer not-a-jwt"})
    assert [scope["type"] for scope in door.reached] == ["lifespan"]
    assert sent[0]["status"] == 401
    challenge = dict(sent[0]["headers"]).get(b"www-authenticate", b"")
    assert challenge.startswith(b"Bearer") is bearer_configured
