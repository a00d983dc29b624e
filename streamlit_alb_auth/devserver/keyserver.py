"""The public halves of the local keys: the ALB's PEM per ``kid`` and the user pool's JWKS.

Served without authentication, as AWS serves them, so the app fetches and verifies exactly as in
production; only the URLs differ (``ALB_AUTH_KEY_URL`` and ``ALB_AUTH_JWKS_URL``).
"""

from __future__ import annotations

from aiohttp import web

from streamlit_alb_auth.devserver.config import JWKS_PATH, KEYS_PATH
from streamlit_alb_auth.localidp import LocalOidcProvider
from streamlit_alb_auth.testing.signing import LocalAlbSigner


def key_routes(signer: LocalAlbSigner, pool: LocalOidcProvider) -> list[web.RouteDef]:
    async def alb_key(request: web.Request) -> web.Response:
        if request.match_info["kid"] != signer.kid:
            return web.Response(status=404, text="no such key")
        return web.Response(body=signer.public_key_pem, content_type="application/x-pem-file")

    async def no_key(_request: web.Request) -> web.Response:
        # The service's own answer to a request without a kid, instead of the sign-in redirect a
        # path behind authenticate would get: doctor asks the base URL whether the service answers.
        return web.Response(status=404, text="no such key")

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(pool.jwks)

    return [
        web.get(KEYS_PATH + "/{kid}", alb_key),
        web.get(KEYS_PATH, no_key),
        web.get(KEYS_PATH + "/", no_key),
        web.get(JWKS_PATH, jwks),
    ]
