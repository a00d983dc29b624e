"""``st.App`` at the door: every HTTP request and websocket handshake verified, ``st.user`` verified too.

``get_alb_user()`` protects what a page script shows; everything else a Streamlit server answers (media,
uploads, component assets, ``/_stcore/metrics``, the agent API) answers anyone who reaches the container
around the ALB. ``AlbAuthMiddleware`` stands in front of all of it::

    # app.py, run with `streamlit run app.py`
    import streamlit as st
    from streamlit_alb_auth.asgi import alb_auth
    app = st.App("main.py", **alb_auth())

Keep that literal ``st.App(...)`` call in the file you run: ``streamlit run`` finds an ASGI app by reading
the file for it, and runs any other file as a page script, with no middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from streamlit_alb_auth.asgi.brief import brief_if_uncaught
from streamlit_alb_auth.asgi.logout_route import DEFAULT_LOGOUT_PATH, logout_route
from streamlit_alb_auth.asgi.machines import CHALLENGE, MachineDoor, default_bearer_paths
from streamlit_alb_auth.asgi.user_headers import (
    INTERNAL_HEADER_PREFIX,
    USER_HEADERS,
    identity_headers,
    install_user_mapping,
    mapping_installed,
    refuse_outside_mapping,
    st_user_groups,
)
from streamlit_alb_auth.asgi.verifier import RequestVerifier
from streamlit_alb_auth.bearer import bearer_verifier_for
from streamlit_alb_auth.config import SETTING_NAMES, resolve_settings
from streamlit_alb_auth.errors import AlbAuthError, ConfigurationError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

SCOPE_KEY = "alb_auth.user"
DEFAULT_EXEMPT_PATHS = ("/_stcore/health", "/_stcore/script-health-check")
_AGENT_PATH = "/_stcore/agent/"  # under server.baseUrlPath too
_LOGGER = logging.getLogger("streamlit_alb_auth")
_UNAUTHORIZED = b"<!doctype html><title>401 Unauthorized</title><h1>401 Unauthorized</h1>\n"
_UNAVAILABLE = b"<!doctype html><title>503 Service Unavailable</title><h1>503 Service Unavailable</h1>\n"


class AlbAuthMiddleware:
    """Pure ASGI middleware: refuse every request the ALB did not sign, pass the verified user on.

    On every HTTP request and websocket handshake it verifies ``x-amzn-oidc-data`` (ES256, the ALB's
    key, ``signer`` pinned to your ALB ARN, ``exp``, ``client``/``iss`` when configured) and that
    ``x-amzn-oidc-identity`` is its ``sub``. A request that fails gets a bare ``401`` page; a websocket
    handshake is refused. Paths in ``exempt_paths`` (Streamlit's health checks by default) pass
    unverified. A verified request goes on with:

    * ``scope["alb_auth.user"]``: the verified ``AlbUser`` (``groups`` only from a verified access token);
    * the internal ``x-alb-auth-*`` headers (client-sent copies removed, verified values added), which
      ``server.trustedUserHeaders`` maps into ``st.user``; the middleware installs that mapping at start-up
      and refuses to start when the mapping was configured anywhere else.

    Per request this costs a header scan and two dictionary lookups: the verifier remembers verified
    tokens (and the access tokens' claims), so only a new token costs an ES256 check.

    Machine clients: with ``bearer_issuer`` set, a request on one of ``bearer_paths`` (the agent API by
    default) that carries no ALB header may instead prove itself with ``Authorization: Bearer <JWT>``,
    which the middleware verifies itself (``streamlit_alb_auth.bearer``; ``asgi.machines`` says which
    requests). The machine goes on as ``scope["alb_auth.user"]`` (``is_machine`` True) and in ``st.user``
    (``sub``, ``client_id``, ``groups`` from ``bearer_groups_claim``, ``is_machine``); a bad or missing token
    gets 401 with ``WWW-Authenticate: Bearer``.

    Parameters
    ----------
    app : ASGI application
        What to protect, for example the ``st.App`` (``st.App`` passes it for you).
    exempt_paths : iterable of str, optional
        Exact paths that pass unverified. Default: ``/_stcore/health`` and ``/_stcore/script-health-check``
        (under ``server.baseUrlPath`` when one is set).
    bearer_paths : iterable of str, optional
        Where machine clients may use a bearer token (``bearer_issuer`` set): a path ending in ``/``
        covers everything under it. Default: the agent API, ``/_stcore/agent/``.
    **settings
        As for ``get_alb_user`` (``alb_arn``, ``client_id``, ``user_pool_id``, ``groups_provider``, ...);
        unset ones come from the ``ALB_AUTH_*`` variables and ``st.secrets``.

    Examples
    --------
    >>> from starlette.applications import Starlette
    >>> from starlette.middleware import Middleware
    >>> api = Starlette(middleware=[Middleware(AlbAuthMiddleware, alb_arn="arn:aws:elasticloadbalancing:"
    ...     "eu-west-1:123456789012:loadbalancer/app/my-alb/0123456789abcdef")])
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        exempt_paths: Iterable[str] | None = None,
        bearer_paths: Iterable[str] | None = None,
        **settings: Any,
    ) -> None:
        self.app = app
        self.exempt_paths = frozenset(_default_exempt_paths() if exempt_paths is None else exempt_paths)
        self.problem: ConfigurationError | None = None
        self._verifier: RequestVerifier[list[tuple[bytes, bytes]]] | None = None
        self._machines: MachineDoor | None = None
        try:
            self._verifier = _request_verifier(settings)
            self._machines = _machine_door(self._verifier, bearer_paths)
        except ConfigurationError as error:
            self.problem = error  # reported at start-up (which it stops) and answered 503 meanwhile

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(name, value) for name, value in scope["headers"] if not _internal(name)]
        if kind == "http" and scope["path"] in self.exempt_paths:
            await self.app({**scope, "headers": headers}, receive, send)
            return
        machine = self._machines is not None and self._machines.admits(scope["path"], scope["headers"])
        builds_st_user = kind == "websocket" or machine or _AGENT_PATH in scope["path"]
        if self._verifier is None or self.problem or (builds_st_user and not self._user_mapping_ok()):
            await _refuse(kind, receive, send, 503, _UNAVAILABLE)
            return
        try:
            if machine:
                user, identity = self._machines.verify(scope["headers"])  # type: ignore[union-attr]
            else:
                user, identity = self._verifier.verify(scope["headers"])
        except AlbAuthError as error:
            _LOGGER.info("refused %s %.200r: %s", kind, scope["path"], type(error).__name__)
            challenge = [(b"www-authenticate", CHALLENGE)] if machine else []
            await _refuse(kind, receive, send, 401, _UNAUTHORIZED, challenge)
            return
        headers.extend(identity)
        await self.app({**scope, "headers": headers, SCOPE_KEY: user}, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the configuration and install the ``st.user`` mapping before the app starts, or stop it."""
        first = await receive()
        if first["type"] == "lifespan.startup":
            try:
                if self.problem is not None:
                    raise self.problem
                install_user_mapping()
            except ConfigurationError as error:
                await send({"type": "lifespan.startup.failed", "message": f"streamlit-alb-auth: {error}"})
                raise  # as Starlette's own lifespan does, so every ASGI server stops
        replayed = False

        async def receive_again() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, receive_again, send)

    def _user_mapping_ok(self) -> bool:
        """Mounted apps get no lifespan, and a config reload resets options: install on first need."""
        if mapping_installed():
            return True
        try:
            install_user_mapping()
        except ConfigurationError as error:
            _LOGGER.error("streamlit-alb-auth refuses to serve: %s", error)
            return False
        return True


def alb_auth(
    *,
    exempt_paths: Iterable[str] | None = None,
    logout_path: str | None = DEFAULT_LOGOUT_PATH,
    bearer_paths: Iterable[str] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``st.App``: the verifying middleware (which also maps ``st.user``) and the
    logout route, so logout needs no Lambda (see ``streamlit_alb_auth.asgi.logout_route``).

    Settings are checked now, so a misconfigured app stops at start-up, not on its first request.

    Parameters
    ----------
    exempt_paths : iterable of str, optional
        Paths that pass unverified; Streamlit's health checks by default.
    logout_path : str or None
        Where the logout route answers (``/cognito/logout``), the one more path that passes unverified;
        ``None`` for no route (logout by the Lambda, whose ALB rule takes the path before the app).
    bearer_paths : iterable of str, optional
        Where machine clients may send a bearer token instead of coming through the ALB's sign-in (with
        ``bearer_issuer`` set): Streamlit's agent API, ``/_stcore/agent/``, by default.
    **settings
        As for ``get_alb_user`` (``alb_arn``, ``client_id``, ``user_pool_id``, ``groups_provider``, ...);
        unset ones come from the ``ALB_AUTH_*`` variables and ``st.secrets``.

    Returns
    -------
    dict
        ``{"middleware": [...], "routes": [...]}``, to unpack into ``st.App``.

    Raises
    ------
    ConfigurationError
        No ALB ARN, an unknown setting, ``server.trustedUserHeaders`` set elsewhere, or this call runs
        inside a page script (the file was not served as an ASGI app, so nothing would guard it).

    Examples
    --------
    >>> # app.py, run with `streamlit run app.py`
    >>> import streamlit as st
    >>> from streamlit_alb_auth.asgi import alb_auth
    >>> app = st.App("main.py", **alb_auth())  # doctest: +SKIP
    """
    from starlette.middleware import Middleware
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is not None:
        raise ConfigurationError(
            "alb_auth() ran inside a page script, so this file is not being served as an ASGI app and "
            'nothing guards the server. Keep the literal `app = st.App("main.py", **alb_auth())` in '
            "the file you pass to `streamlit run` (a helper that builds the st.App is not detected)."
        )
    paths = {} if bearer_paths is None else {"bearer_paths": tuple(bearer_paths)}
    try:
        verifier = _request_verifier(settings)  # the middleware's checks, at import time
        _machine_door(verifier, paths.get("bearer_paths"))
        refuse_outside_mapping()
    except ConfigurationError:
        brief_if_uncaught()
        raise
    routes = [] if logout_path is None else [logout_route(logout_path, settings=verifier.settings)]
    exempt = [
        *(_default_exempt_paths() if exempt_paths is None else exempt_paths),
        *(route.path for route in routes),
    ]
    middleware = Middleware(AlbAuthMiddleware, exempt_paths=tuple(exempt), **paths, **settings)
    return {"middleware": [middleware], "routes": routes}


def _request_verifier(arguments: Mapping[str, Any]) -> RequestVerifier[list[tuple[bytes, bytes]]]:
    """The settings (all but ``groups_provider``, which is code) and the provider, checked."""
    settings = {name: value for name, value in arguments.items() if name != "groups_provider"}
    provider = arguments.get("groups_provider")
    unknown = sorted(set(settings) - set(SETTING_NAMES))
    if unknown:
        known = [*SETTING_NAMES, "groups_provider"]
        raise ConfigurationError(f"unknown setting(s) {unknown}; known: {known}")
    if provider is not None and not callable(provider):
        raise ConfigurationError(
            "groups_provider must be a callable (user) -> groups", setting="groups_provider"
        )
    return RequestVerifier(resolve_settings(settings), identity_headers, groups_provider=provider)


def _machine_door(
    verifier: RequestVerifier[list[tuple[bytes, bytes]]], paths: Iterable[str] | None
) -> MachineDoor | None:
    """The bearer check, when ``bearer_issuer`` is set; ``ConfigurationError`` for a half-made one."""
    bearer = bearer_verifier_for(verifier.settings)
    if bearer is None:
        return None
    return MachineDoor(bearer, default_bearer_paths() if paths is None else paths)


def _default_exempt_paths() -> tuple[str, ...]:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return tuple(f"/{base}{path}" if base else path for path in DEFAULT_EXEMPT_PATHS)


def _internal(name: bytes) -> bool:
    return name.lower().startswith(INTERNAL_HEADER_PREFIX.encode())


async def _refuse(
    kind: str,
    receive: Receive,
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    if kind == "websocket":
        await receive()  # websocket.connect; closing now refuses the handshake (HTTP 403)
        await send({"type": "websocket.close", "code": 1008})
        return
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(extra or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "DEFAULT_EXEMPT_PATHS",
    "SCOPE_KEY",
    "USER_HEADERS",
    "AlbAuthMiddleware",
    "alb_auth",
    "st_user_groups",
]
