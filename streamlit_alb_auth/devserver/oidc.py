"""``--idp oidc``: the stand-in's identity provider speaks generic OpenID Connect instead of Cognito.

Served under ``OIDC_PATH`` (the issuer): the discovery document, the JWKS, userinfo and an
end-session endpoint. Access tokens carry the groups in a ``groups`` claim and are issued to the
app's client (``aud``), as Okta, Auth0 or Keycloak issue them; the sign-in page is the same one.
"""

from __future__ import annotations

from aiohttp import web

from streamlit_alb_auth.devserver.config import OIDC_PATH, DevConfig
from streamlit_alb_auth.devserver.signin import HostedUi, invalid_token
from streamlit_alb_auth.localidp import LocalOidcProvider


def oidc_provider(config: DevConfig) -> LocalOidcProvider:
    return LocalOidcProvider(issuer=config.oidc_issuer, client_id=config.client_id)


class OidcEndpoints:
    """What an OIDC provider serves besides sign-in, for ``provider`` and the hosted UI's sign-ins."""

    def __init__(self, config: DevConfig, provider: LocalOidcProvider, hosted_ui: HostedUi) -> None:
        self.config = config
        self.provider = provider
        self.hosted_ui = hosted_ui

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(OIDC_PATH + "/.well-known/openid-configuration", self.discovery),
            web.get(OIDC_PATH + "/jwks.json", self.jwks),
            web.route("*", OIDC_PATH + "/userinfo", self.userinfo),
            web.get(OIDC_PATH + "/logout", self.end_session),
        ]

    async def discovery(self, _request: web.Request) -> web.Response:
        return web.json_response(self.provider.discovery())

    async def jwks(self, _request: web.Request) -> web.Response:
        return web.json_response(self.provider.jwks)

    async def userinfo(self, request: web.Request) -> web.StreamResponse:
        """A live access token of ours buys the user's claims, groups included."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        sub = self._live_subject(token) if scheme.lower() == "bearer" else None
        user = next((user for user in self.config.users if sub and user.sub == sub), None)
        if user is None:
            return invalid_token()
        return web.json_response(
            {
                "sub": user.sub,
                "email": user.email,
                "email_verified": True,
                "name": user.username,
                "preferred_username": user.username,
                "groups": list(user.groups),
            }
        )

    async def end_session(self, request: web.Request) -> web.StreamResponse:
        """RP-initiated logout: end the sign-in, then return to the registered sign-out URL only."""
        return self.hosted_ui.sign_out(request, "post_logout_redirect_uri")

    def _live_subject(self, token: str) -> str | None:
        claims = self.hosted_ui.live_claims(token, audience=self.provider.client_id, require=("aud",))
        return None if claims is None else claims["sub"]
