"""The stand-in as one aiohttp application: listener rules in the order the ALB would apply them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from streamlit_alb_auth.devserver.alb import RENEWED, AlbAuthenticate
from streamlit_alb_auth.devserver.config import CALLBACK_PATH, SIGNED_OUT_PATH, DevConfig
from streamlit_alb_auth.devserver.keyserver import key_routes
from streamlit_alb_auth.devserver.lambda_target import LambdaHandler, LogoutTarget, app_route_location
from streamlit_alb_auth.devserver.machines import MachineClients
from streamlit_alb_auth.devserver.oidc import OidcEndpoints, oidc_provider
from streamlit_alb_auth.devserver.proxy import forward_http, forward_websocket, is_websocket
from streamlit_alb_auth.devserver.signin import HostedUi
from streamlit_alb_auth.testing.signing import LocalAlbSigner, LocalCognitoPool

UPSTREAM_CLIENT = web.AppKey("upstream_client", aiohttp.ClientSession)
# The page the templates' fixed-response rule serves, byte for byte.
SIGNED_OUT_PAGE = (
    resources.files("streamlit_alb_auth.templates").joinpath("signed_out.html").read_text("utf-8")
)
AUTHENTICATE = web.AppKey("authenticate", AlbAuthenticate)

# "Application Load Balancer quotas", HTTP header limits: a request line of 16 K, a single header of
# 16 K, the whole header 64 K. Past them the ALB answers 400 ("Troubleshoot your Application Load
# Balancers", HTTP 400: "The request header exceeded 16 K per request line, 16 K per single header,
# or 64 K per entire request header"). aiohttp's own defaults (8190) would refuse what the ALB takes.
MAX_LINE_BYTES = 16 * 1024
MAX_HEADER_BYTES = 64 * 1024


class _NoRequestBytes(logging.Filter):
    """aiohttp logs a request it cannot parse with the first 100 bytes of the offending line, which
    can be somebody's token: keep one line that says what happened, never what was sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "refused a request the ALB would refuse (HTTP %s)", (error.code,)
            record.exc_info = record.exc_text = None
        return True


_HTTP_LOG = logging.getLogger("streamlit_alb_auth.devserver.http")
_HTTP_LOG.addFilter(_NoRequestBytes())


def server_options() -> dict[str, Any]:
    """``web.AppRunner`` keyword arguments that make the stand-in's HTTP server take and refuse the
    request lines and headers the ALB takes and refuses (the whole header's cap is in ``build_app``)."""
    return {"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_LINE_BYTES, "logger": _HTTP_LOG}


@web.middleware
async def _whole_header_cap(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    size = sum(len(name) + len(value) + 4 for name, value in request.raw_headers)  # "name: value\r\n"
    if size > MAX_HEADER_BYTES:
        return web.Response(status=400, text="400 Bad Request: the request header is over 64 K")
    return await handler(request)


def build_app(config: DevConfig, *, logout_handler: LambdaHandler | None = None) -> web.Application:
    """Fresh keys each run: sessions and tokens of an earlier run are worthless to this one."""
    pool = (
        oidc_provider(config)
        if config.idp == "oidc"
        else LocalCognitoPool(
            user_pool_id=config.user_pool_id,
            client_id=config.client_id,
            updated_issuer=config.cognito_issuer == "updated",
        )
    )
    signer = LocalAlbSigner(alb_arn=config.alb_arn, client_id=config.client_id, issuer=pool.issuer)
    hosted_ui = HostedUi(config, pool)
    authenticate = AlbAuthenticate(config, hosted_ui, signer, pool)
    machines = MachineClients(pool, config.machine_secret) if config.machine_clients else None

    def identity_of(request: web.Request) -> dict[str, str] | None:
        session = authenticate.session_of(request)
        return None if session is None else authenticate.identity_headers(session)

    async def signed_out(request: web.Request) -> web.Response:
        """The fixed-response rule: no sign-in, no session needed."""
        return web.Response(text=SIGNED_OUT_PAGE, content_type="text/html")

    async def target(request: web.Request) -> web.StreamResponse:
        """The default rule: authenticate (except the health path), then forward to Streamlit."""
        identity: dict[str, str] = {}
        if machines is not None and machines.covers(request.path):
            # The machine rule comes before the default (browser) one: its token or its 401, never sign-in.
            refusal = machines.refusal(request)
            if refusal is not None:
                return refusal
        elif request.path not in config.exempt_paths:
            session = authenticate.session_of(request)
            if session is None:
                return authenticate.start_sign_in(request)
            identity = authenticate.identity_headers(session)
        renewed = request.get(RENEWED)

        def finish(response: web.StreamResponse) -> None:
            if renewed is not None:  # the session was refreshed on the way: the browser keeps the new one
                authenticate.set_session(response, renewed)

        client = request.app[UPSTREAM_CLIENT]
        if is_websocket(request):
            return await forward_websocket(request, client, config.upstream_url, identity, finish)
        return await forward_http(request, client, config.upstream_url, identity, finish)

    async def app_logout(request: web.Request) -> web.StreamResponse:
        """``--logout-by app``: the logout rule authenticates (allow), then forwards to the app's own
        route, whose ``Location`` gets the one translation the Lambda's gets."""
        opened = config.as_opened(request.host)
        return await forward_http(
            request,
            request.app[UPSTREAM_CLIENT],
            config.upstream_url,
            identity_of(request) or {},
            location=lambda value: app_route_location(value, config, opened),
        )

    async def upstream_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        ) as client:
            app[UPSTREAM_CLIENT] = client
            yield

    if config.logout_by == "app":
        logout = app_logout
    else:
        logout = LogoutTarget(config, identity_of, logout_handler).handle
    app = web.Application(middlewares=[_whole_header_cap])
    app[AUTHENTICATE] = authenticate
    app.cleanup_ctx.append(upstream_client)
    app.add_routes(key_routes(signer, pool))
    app.add_routes(hosted_ui.routes())
    if machines is not None:
        app.add_routes(machines.routes())
    if config.idp == "oidc":
        app.add_routes(OidcEndpoints(config, pool, hosted_ui).routes())
    app.add_routes(
        [
            web.get(CALLBACK_PATH, authenticate.callback),
            web.route("*", config.logout_path, logout),
            web.route("*", SIGNED_OUT_PATH, signed_out),
            web.route("*", "/{tail:.*}", target),
        ]
    )
    return app
