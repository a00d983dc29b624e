"""The stand-in as one aiohttp application: listener rules in the order the ALB would apply them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources

import aiohttp
from aiohttp import web

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
    app = web.Application()
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
